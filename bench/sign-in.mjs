// npm run bench:sign-in: how fast one account can be guessed at, and what a
// refused guess costs. A guesser with BENCH_SIGNIN_CONNECTIONS parallel
// connections (default 4) posts wrong passwords to one account for
// BENCH_SIGNIN_SECONDS (default 10), each with a freshly fetched login form
// and from one of 256 client addresses in turn (so that only the account's
// throttle is measured); it counts the attempts the server checked (401)
// and those it refused unchecked (429). Then it measures workerd's CPU per
// attempt for BENCH_SIGNIN_SAMPLES (default 40) attempts each of: a form
// fetch alone, a checked wrong password (a new account and address each
// time, so new throttle objects too) and a refused one (the throttled
// account, from the addresses already seen).
// Runs against whatever build/ holds, so the same script measures a build
// before and after a change. Prints the figures and writes nothing.
import { startWorker } from "../tests/helpers.mjs";
import { field, form, registerClient } from "../tests/flow.mjs";
import { loginForm } from "./steps.mjs";
import { cpuPerCall, withWorkerdPid } from "./workerd.mjs";

const SECONDS = Number(process.env.BENCH_SIGNIN_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_SIGNIN_CONNECTIONS ?? 4);
const SAMPLES = Number(process.env.BENCH_SIGNIN_SAMPLES ?? 40);

const worker = await withWorkerdPid(() => startWorker());
const client = await registerClient(worker);
const POOL = 256;
let sent = 0;
const address = (n) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
const pooled = () => address(sent++ % POOL);
let fresh = POOL;
const freshAddress = () => address(fresh++);


/** Posts a wrong password for `username` with a prepared form from `from`; returns the status. */
async function guess(username, { jar, html }, from) {
  const body = { step: "login", handle: field(html, "handle"), csrf: field(html, "csrf"), username, password: "wrong guess 123" };
  const res = await worker.fetch("/authorize", form(body, { cookie: jar.header(), "cf-connecting-ip": from }));
  await res.arrayBuffer();
  if (res.status !== 401 && res.status !== 429) throw new Error(`unexpected ${res.status}`);
  return res.status;
}

// ---- one account under a sustained guess
const counts = { 401: 0, 429: 0 };
const until = Date.now() + SECONDS * 1000;
await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
  while (Date.now() < until) counts[await guess("alice", await loginForm(worker, client), pooled())]++;
}));
const perSecond = (n) => (n / SECONDS).toFixed(2);
console.log(`one account, ${CONNECTIONS} connections, ${SECONDS} s: ${counts[401]} attempts checked (${perSecond(counts[401])}/s), ` +
  `${counts[429]} refused unchecked (${perSecond(counts[429])}/s)`);

// ---- workerd CPU per attempt
/** workerd CPU ms per call of `step` over SAMPLES calls (its forms prepared beforehand by `prepare`). */
const cpuPer = (step, prepare) => cpuPerCall(worker.pid, SAMPLES, step, prepare);
const formCpu = await cpuPer(() => loginForm(worker, client));
const checked = await cpuPer((f) => guess(`fresh${f.i}`, f, freshAddress()), async (i) => ({ ...await loginForm(worker, client), i }));
const refused = counts[429] > 0 ? await cpuPer((f) => guess("alice", f, pooled()), () => loginForm(worker, client)) : null;
console.log(`workerd CPU: a login form ${formCpu.toFixed(2)} ms; a checked wrong password ${checked.toFixed(2)} ms; ` +
  (refused === null ? "no attempt was refused (no throttle in this build)" : `a refused attempt ${refused.toFixed(2)} ms`));
await worker.stop();
