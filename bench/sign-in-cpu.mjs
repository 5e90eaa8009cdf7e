// The CPU one sign-in costs, next to the Workers free plan's 10 ms per
// request: part of `npm run bench` (bench/run.mjs), or alone with
// `npm run bench:sign-in-cpu` (prints, writes nothing).
//
// A sign-in here is a returning person's: a new browser opens the login
// form (fetched beforehand, not counted), posts it, and, having consented to
// the client before, is sent back with a code. Measured as the workerd
// process's CPU over BENCH_SIGNIN_CPU_SAMPLES posts (default 100), after
// five unmeasured ones, each scenario on its own worker.
//
// Locally the runtime's own handling of a request and the sign-in's Durable
// Objects run in the same process; on Cloudflare neither is the worker's CPU
// (a Durable Object's is the object's). So each figure comes twice: all of
// workerd's CPU (an upper bound), and the worker's share, estimated by taking
// off what the bare worker's request costs (bench/bare) and what the
// scenario's object calls cost when made alone (bench/bare-do: a call to a
// live object, or to a new one), each measured here the same way. Local KV
// (miniflare's, in the same process too) stays in both.
//
// Password sign-in runs at 100000 iterations (the default and workerd's cap)
// and at 10000 (the floor of PASSWORD_ITERATIONS), with that setting and a
// user created under it. The two give a line, CPU = rest + per-iteration
// cost × iterations, and so the most iterations whose sign-in fits in 10 ms
// on this machine, which is then measured to confirm (and, if it does not
// fit after all, counts halfway down to the floor).
//
// A passkey sign-in posts the same login form with `step=passkey` and
// `credential`, an AuthenticationResponseJSON that bench/authenticator.mjs
// signs over the challenge the login page carries, after the person has
// enrolled that authenticator's passkey. Its worker's ISSUER is
// http://localhost (browsers refuse an IP address as an RP ID; requests
// still go to 127.0.0.1, which the issuer need not name).
import { pathToFileURL } from "node:url";
import { startWorker } from "../tests/helpers.mjs";
import { createUser, dataAttr, enrolPasskey, obtainCode, registerClient, submit } from "../tests/flow.mjs";
import { SoftAuthenticator } from "./authenticator.mjs";
import { startBare, startBareDo } from "./servers.mjs";
import { loginForm } from "./steps.mjs";
import { STORAGE_DIR, cpuPerCall, withWorkerdPid } from "./workerd.mjs";

/** The Workers free plan's CPU limit per request. */
export const FREE_PLAN_CPU_MS = 10;
/** PASSWORD_ITERATIONS' default and floor (src/protocol/user.rs). */
const ITERATIONS_DEFAULT = 100000;
const ITERATIONS_FLOOR = 10000;
const SAMPLES = Number(process.env.BENCH_SIGNIN_CPU_SAMPLES ?? 100);
const WARMUP = 5;

/**
 * What the platform's part of a request costs alone, in ms of workerd CPU:
 * `request`, the bare worker's whole request; `live` and `created`, one
 * Durable Object call on top of it, to an object in memory or to a new one
 * (made, given its storage, written). Four times the sign-ins' samples: a
 * call is a few ticks of /proc's clock.
 */
async function platformCpu(log) {
  const bare = await startBare();
  const bareDo = await startBareDo();
  try {
    const cpu = async (server, p) => {
      const get = async () => {
        const res = await server.fetch(p);
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${p}: ${res.status}`);
      };
      for (let i = 0; i < WARMUP; i++) await get();
      return cpuPerCall(server.pid, SAMPLES * 4, get);
    };
    const request = await cpu(bare, "/");
    const live = await cpu(bareDo, "/") - request;
    const created = await cpu(bareDo, "/new") - request;
    log(`  the bare worker's request ${request.toFixed(2)} ms; one Durable Object call on top (bench/bare-do):`
      + ` ${live.toFixed(2)} ms to a live object, ${created.toFixed(2)} ms to a new one`);
    return { request, live, created };
  } finally {
    await Promise.all([bare.stop(), bareDo.stop()]);
  }
}

/**
 * A worker started with `vars` and a person who has signed in to a client
 * and consented once (so each later sign-in ends with a code); `run` gets
 * { worker, client, user } and its result is returned.
 */
async function withReturningPerson(vars, run, enrol) {
  const worker = await withWorkerdPid(() => startWorker({ vars }));
  try {
    const client = await registerClient(worker);
    const user = await createUser(worker);
    await obtainCode(worker, client, user);
    const person = { worker, client, user };
    if (enrol) await enrol(person);
    return await run(person);
  } finally {
    await worker.stop();
  }
}

/**
 * workerd CPU ms of one sign-in: a login form of a new browser posted with
 * `fields(html, person)` (which override the form's own `step`), answered
 * with a redirect that carries a code.
 */
async function signInCpu(person, fields) {
  const { worker, client } = person;
  const signIn = async ({ jar, html }) => {
    const res = await submit(worker, jar, html, await fields(html, person));
    const location = res.headers.get("location");
    const body = await res.text();
    if (!location || !new URL(location).searchParams.get("code")) {
      throw new Error(`the sign-in did not redirect with a code: ${res.status} ${body.slice(0, 200)}`);
    }
  };
  const form = () => loginForm(worker, client);
  for (let i = 0; i < WARMUP; i++) await signIn(await form());
  return cpuPerCall(worker.pid, SAMPLES, signIn, form);
}

/** The password sign-in's fields. */
const password = (_html, { user }) => ({ username: user.username, password: user.password });

/** A password sign-in on a worker with PASSWORD_ITERATIONS = `iterations`. */
const passwordAt = (iterations) => ({
  name: `password, ${iterations} iterations`,
  iterations,
  vars: { PASSWORD_ITERATIONS: String(iterations) },
  fields: password,
  // The Durable Objects one post meets: the form's single-use record and
  // the grant are new; the address's and the account's throttles, live by
  // now, are each called twice (admit the attempt, then its success).
  objects: { created: 2, live: 4 },
});

/** A passkey sign-in: the person's authenticator signs the login page's challenge. */
const passkey = {
  name: "passkey (ES256)",
  vars: { ISSUER: "http://localhost" },
  enrol: async (person) => {
    person.authenticator = new SoftAuthenticator({ rpId: "localhost", origin: "http://localhost" });
    const res = await enrolPasskey(person.worker, person.user.username, person.authenticator);
    if (res.status !== 303) throw new Error(`passkey enrolment: ${res.status} ${(await res.text()).slice(0, 200)}`);
  },
  fields: (html, { authenticator }) => ({
    step: "passkey",
    credential: JSON.stringify(authenticator.get({ challenge: dataAttr(html, "challenge") })),
  }),
  // The form's single-use record and the grant are new; the account's
  // passkey object, live by now, is called twice (find the credential,
  // then move its counter).
  objects: { created: 2, live: 2 },
};

/**
 * Measures `scenario` on its own worker: { name, iterations?, cpu_ms,
 * platform_ms, worker_cpu_ms }, given what the platform's part costs alone
 * (`platform`, from `platformCpu`).
 */
async function measure({ vars, fields, objects, enrol, ...row }, platform, log) {
  const cpu_ms = await withReturningPerson(vars, (person) => signInCpu(person, fields), enrol);
  const platform_ms = platform.request + objects.created * platform.created + objects.live * platform.live;
  const worker_cpu_ms = cpu_ms - platform_ms;
  log(`  ${row.name}: ${cpu_ms.toFixed(2)} ms of workerd CPU per sign-in, the worker's share ${worker_cpu_ms.toFixed(2)} ms`);
  return { ...row, cpu_ms, platform_ms, worker_cpu_ms };
}

/**
 * The most whole thousands of iterations, within PASSWORD_ITERATIONS' range,
 * whose sign-in costs at most the free plan's limit on the line
 * `rest + perIteration × iterations`; null if not even the floor does.
 */
function mostThatFit(rest, perIteration) {
  const n = Math.min(ITERATIONS_DEFAULT, Math.floor((FREE_PLAN_CPU_MS - rest) / perIteration / 1000) * 1000);
  return n >= ITERATIONS_FLOOR ? n : null;
}

/** Whole thousands of iterations, rounded down. */
const thousands = (n) => Math.floor(n / 1000) * 1000;

/**
 * The most iterations whose worker's share was measured within the limit,
 * given the rows at the default (`top`) and the floor (`floor`) and the
 * line's estimate: the estimate is measured, and while it does not fit, the
 * count halfway down to the largest that did. Returns { affordable (null
 * if not even the floor fits), rows: the rows measured on the way }.
 */
async function confirmFit(top, floor, estimate, measureAt) {
  const fits = (row) => row.worker_cpu_ms <= FREE_PLAN_CPU_MS;
  if (fits(top)) return { affordable: top.iterations, rows: [] };
  if (!fits(floor) || estimate === null) return { affordable: fits(floor) ? floor.iterations : null, rows: [] };
  const rows = [];
  for (let n = estimate; n > floor.iterations; n = thousands((floor.iterations + n) / 2)) {
    const row = await measureAt(n);
    rows.push(row);
    if (fits(row)) return { affordable: n, rows };
  }
  return { affordable: floor.iterations, rows };
}

/**
 * Every sign-in scenario, measured. The password rows at the default and
 * the floor give a line; its 10 ms point is measured to confirm (and lower
 * counts, if it does not fit after all). Returns what bench/results.json
 * keeps under `sign_in_cpu`.
 */
export async function measureSignIns(log) {
  log(`sign-in CPU: ${SAMPLES} sign-ins per scenario, each on a new worker`);
  const platform = await platformCpu(log);
  const measureAt = (iterations) => measure(passwordAt(iterations), platform, log);
  const top = await measureAt(ITERATIONS_DEFAULT);
  const floor = await measureAt(ITERATIONS_FLOOR);
  const perIteration = (top.cpu_ms - floor.cpu_ms) / (top.iterations - floor.iterations);
  const rest = floor.cpu_ms - perIteration * floor.iterations;
  const restOfWorker = rest - floor.platform_ms;
  const line = { all: mostThatFit(rest, perIteration), worker: mostThatFit(restOfWorker, perIteration) };
  const confirmed = await confirmFit(top, floor, line.worker, measureAt);
  const withPasskey = await measure(passkey, platform, log);
  return {
    note: `workerd CPU per sign-in over ${SAMPLES} sign-ins: cpu_ms all of it; worker_cpu_ms without the bare request and`
      + ` the Durable Object calls as bench/bare and bench/bare-do cost them alone (platform_ms). The Workers free plan allows ${FREE_PLAN_CPU_MS} ms`,
    samples: SAMPLES,
    free_plan_cpu_ms: FREE_PLAN_CPU_MS,
    platform_cpu_ms: platform,
    scenarios: [top, floor, ...confirmed.rows, withPasskey],
    pbkdf2_ms_per_1000_iterations: perIteration * 1000,
    rest_of_password_sign_in_ms: { all: rest, worker: restOfWorker },
    line_fits_iterations: line,
    affordable_iterations: confirmed.affordable,
  };
}

/** The lines a run prints for `result` (from `measureSignIns`). */
export function signInLines(result) {
  const limit = result.free_plan_cpu_ms;
  const verdict = (ms) => (ms <= limit ? "fits" : `${(ms / limit).toFixed(2)}×`);
  const width = Math.max(...result.scenarios.map((r) => r.name.length));
  const cell = (ms) => `${ms.toFixed(2).padStart(6)} ms ${verdict(ms).padEnd(5)}`;
  const fit = (n) => (n === null ? `not even ${ITERATIONS_FLOOR}` : `at most ${n}`);
  const { all, worker } = result.rest_of_password_sign_in_ms;
  const { request, live, created } = result.platform_cpu_ms;
  return [
    `Sign-in CPU, ${result.samples} sign-ins each (the Workers free plan allows ${limit} ms a request):`,
    `  ${"".padEnd(width)}  all of workerd   the worker's share`,
    ...result.scenarios.map((r) => `  ${r.name.padEnd(width)}  ${cell(r.cpu_ms)}    ${cell(r.worker_cpu_ms)}`),
    `  PBKDF2: ${result.pbkdf2_ms_per_1000_iterations.toFixed(3)} ms per 1000 iterations. The rest of a password sign-in: ${all.toFixed(2)} ms,`
      + ` the worker's share ${worker.toFixed(2)} ms (taken off: the bare request ${request.toFixed(2)} ms, and per Durable Object`
      + ` call ${live.toFixed(2)} ms to a live one, ${created.toFixed(2)} ms to a new one).`,
    `  Within ${limit} ms, by the line: ${fit(result.line_fits_iterations.worker)} iterations for the worker's share`
      + ` (what Cloudflare counts), ${fit(result.line_fits_iterations.all)} counting all of workerd.`,
    `  Measured on this machine: ${result.affordable_iterations === null ? `not even ${ITERATIONS_FLOOR}` : result.affordable_iterations}`
      + ` iterations fit the worker's share of a password sign-in within ${limit} ms.`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.TMPDIR = STORAGE_DIR;
  const result = await measureSignIns((...a) => console.log("bench:", ...a));
  console.log(`\n${signInLines(result).join("\n")}`);
}
