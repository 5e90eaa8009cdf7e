// npm run bench:soak: mixed traffic against the release worker for minutes
// at a fixed concurrency, checking every answer, with the local runtime
// killed (SIGKILL of its workerd process) and started again on the same
// persisted storage in the middle, while the traffic goes on.
//
// Env: SOAK_DURATION (s of traffic, default 360), SOAK_CONNECTIONS (default 8),
// SOAK_WARMUP (s after each start of workerd before its memory counts, default 90),
// SOAK_RESTART (0: no restart; default 1), BENCH_STORAGE_DIR (as bench/run.mjs).
// Writes bench/soak-results.json. Exits non-zero if any check failed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT, startWorker } from "../tests/helpers.mjs";
import { createUser, registerClient } from "../tests/flow.mjs";
import { ACTIONS, MIX, heldGrants, pickAction, signIn } from "./soak-actions.mjs";
import { Http } from "./soak-client.mjs";
import { audit, probesAfter, probesBefore } from "./soak-restart.mjs";
import { STORAGE_DIR, withWorkerdPid } from "./workerd.mjs";

const DURATION = Number(process.env.SOAK_DURATION ?? 360);
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 8);
// workerd keeps a Durable Object's instance for 10 s after its last request and
// its entry for 70 s (server.c++: handleShutdown, cleanupLoop): with new grant
// objects every second, memory climbs until that population is steady.
const WARMUP = Number(process.env.SOAK_WARMUP ?? 90);
const RESTART = process.env.SOAK_RESTART !== "0";
const SAMPLE_EVERY_S = 5;
const DOWN_MS = 1000;          // how long the runtime stays dead before it is started again
const WINDOW_GRACE_MS = 1000;  // failures this long after the new runtime is ready still count as the restart's
// A fixed issuer: tokens name it, so they must not depend on the port.
const ISSUER = "http://soak.edge-oidc.test";
// Memory is flat when the end is within this of the warm start: 10 %, at least 5 MB.
const FLAT_SHARE = 0.10;
const FLAT_MIN_MB = 5;

const log = (...a) => console.log("soak:", ...a);
const t0 = Date.now();
const at = (t = Date.now()) => (t - t0) / 1000;

// ---------------------------------------------------------------- ledger

const checks = new Map();      // check → { passed, failed, samples }
const notes = new Map();       // what happened that is not a failure → count
let printed = 0;
const entry = (name) => checks.get(name) ?? checks.set(name, { passed: 0, failed: 0, samples: [] }).get(name);
const ledger = {
  ok: (name) => { entry(name).passed++; },
  fail(name, detail) {
    const e = entry(name);
    e.failed++;
    if (e.samples.length < 5) e.samples.push(`t=${at().toFixed(1)} ${detail}`);
    if (printed++ < 30) console.log(`!!!!! t=${at().toFixed(1)} s ${name}: ${detail}`);
  },
  expect(name, cond, detail) {
    if (cond) ledger.ok(name); else ledger.fail(name, detail);
    return Boolean(cond);
  },
  note: (name) => notes.set(name, (notes.get(name) ?? 0) + 1),
};

// ---------------------------------------------------------------- the runtime

const start = (dir, port) => withWorkerdPid(() =>
  startWorker({ persistDir: dir, vars: { ISSUER }, miniflare: port ? { port } : {} }));

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;

// What the memory goes with: grant objects ever made (their SQLite files on
// disk) and the files workerd holds open (the databases of the objects it
// keeps live, and their journals), per sample.
const grantObjects = (dir) => readdirSync(path.join(dir, "do"))
  .filter((d) => d.endsWith("GrantObject"))
  .reduce((n, d) => n + readdirSync(path.join(dir, "do", d)).filter((f) => f.endsWith(".sqlite")).length, 0);
const openFiles = (pid) => readdirSync(`/proc/${pid}/fd`).length;

/** Kills workerd, starts it again on the same storage (and port, if it is free again). */
async function restart(state, http) {
  const old = state.server;
  const port = Number(new URL(old.url).port);
  const killedAt = Date.now();
  process.kill(old.pid, "SIGKILL");
  await old.stop().catch((e) => log(`dispose after the kill: ${e.message}`));
  http.firstAnswer = null; // answers that were on their way when it died do not count

  await new Promise((r) => setTimeout(r, DOWN_MS));
  let next;
  try {
    next = await start(state.dir, port);
  } catch (e) {
    log(`port ${port} not taken again (${e.message}): a new port`);
    next = await start(state.dir);
    http.url = next.url;
  }
  state.server = next;
  state.processes.push({ pid: next.pid, started: Date.now() });
  return { killedAt, readyAt: Date.now(), oldPid: old.pid, newPid: next.pid, samePort: next.url === old.url };
}

// ---------------------------------------------------------------- memory

/** Per workerd process: its warm start (WARMUP after it started), end, max, slope; flat or not. */
function memoryOf(samples, proc) {
  const s = samples.filter((x) => x.pid === proc.pid && x.t >= at(proc.started) + WARMUP);
  if (s.length < 3) return { pid: proc.pid, flat: null, note: "lived too short after its warm-up to judge" };
  const [first, last] = [s[0], s.at(-1)];
  const n = s.length, mt = s.reduce((a, x) => a + x.t, 0) / n, mr = s.reduce((a, x) => a + x.rss_mb, 0) / n;
  const slope = s.reduce((a, x) => a + (x.t - mt) * (x.rss_mb - mr), 0) / s.reduce((a, x) => a + (x.t - mt) ** 2, 0);
  const allowed = Math.max(FLAT_SHARE * first.rss_mb, FLAT_MIN_MB);
  return {
    pid: proc.pid, start_t: first.t, start_mb: first.rss_mb, end_t: last.t, end_mb: last.rss_mb,
    start_grant_objects: first.grant_objects, end_grant_objects: last.grant_objects,
    start_open_files: first.open_files, end_open_files: last.open_files,
    max_mb: Math.max(...s.map((x) => x.rss_mb)), slope_mb_per_min: slope * 60, allowed_growth_mb: allowed,
    flat: last.rss_mb - first.rss_mb <= allowed,
  };
}

// ---------------------------------------------------------------- traffic

async function drive(ctx, conn, until) {
  while (Date.now() < until) {
    const name = pickAction();
    ctx.actions[name] = (ctx.actions[name] ?? 0) + 1;
    try {
      await ACTIONS[name](ctx, conn);
    } catch (e) {
      ledger.fail("every request is answered (retried for up to 60 s)", `${name}: ${e.stack}`);
    }
  }
}

async function person(server, ctx) {
  const conn = { user: await createUser(server), jar: null, grants: [] };
  if (!await signIn(ctx, conn)) throw new Error("the first sign-in failed");
  return conn;
}

async function main(state) {
  const { dir } = state;
  state.server = await start(dir);
  state.processes.push({ pid: state.server.pid, started: Date.now() });
  const { server } = state;
  log(`worker ${server.url} (workerd ${server.pid}), storage ${dir}, ${CONNECTIONS} connections, ${DURATION} s, restart ${RESTART ? `at ${DURATION / 2} s` : "off"}`);

  const http = new Http(server.url, ledger);
  const ctx = {
    ...ledger, http, issuer: ISSUER, redeemed: new Set(), retired: [], retiredSeen: 0, revocations: 0, actions: {},
    client: await registerClient(server, { token_endpoint_auth_method: "client_secret_basic" }),
    cc: await registerClient(server, { grant_types: ["client_credentials"], token_endpoint_auth_method: "client_secret_basic", scope: "api", redirect_uris: [] }),
  };
  const conns = [];
  for (let i = 0; i < CONNECTIONS; i++) conns.push(await person(server, ctx));
  const probeConn = await person(server, ctx);

  const samples = [];
  const sample = (label) => {
    try {
      const pid = state.server.pid;
      samples.push({ t: at(), pid, rss_mb: rssMb(pid), grant_objects: grantObjects(dir), open_files: openFiles(pid), label });
    } catch { /* between processes */ }
  };
  const cpu0 = process.cpuUsage();
  const trafficStart = Date.now();
  const end = trafficStart + DURATION * 1000;
  let lastLine = 0;
  const timer = setInterval(() => {
    sample("periodic");
    if (at() - lastLine < 30) return;
    lastLine = at();
    const done = [...http.kinds.values()].reduce((a, k) => a + k.requests, 0);
    log(`t=${at().toFixed(0)} s: ${done} requests, workerd ${samples.at(-1)?.pid} ${samples.at(-1)?.rss_mb.toFixed(1)} MB`);
  }, SAMPLE_EVERY_S * 1000);
  const loops = conns.map((c) => drive(ctx, c, end));

  let restarted = null;
  if (RESTART) {
    await new Promise((r) => setTimeout(r, DURATION * 500));
    log(`t=${at().toFixed(1)} s: tokens issued for the restart checks, then SIGKILL workerd ${state.server.pid}`);
    const probes = await probesBefore(ctx, probeConn);
    sample("before kill");
    restarted = await restart(state, http);
    log(`t=${at(restarted.readyAt).toFixed(1)} s: workerd ${restarted.newPid} ready${restarted.samePort ? " on the same port" : ` on ${http.url}`} (killed at t=${at(restarted.killedAt).toFixed(1)} s)`);
    await probesAfter(ctx, probeConn, probes);
  }
  await Promise.all(loops);
  clearInterval(timer);
  sample("end");
  const trafficEnd = Date.now();
  const cpu = process.cpuUsage(cpu0);

  log(`t=${at().toFixed(1)} s: traffic over; auditing every held grant`);
  const audited = await audit(ctx, heldGrants(ctx, [...conns, probeConn]), { connections: CONNECTIONS, killedAt: restarted?.killedAt });

  const report = summarise({ http, ctx, samples, state, restarted, trafficStart, trafficEnd, cpu, audited });
  await state.server.stop();
  state.server = null;
  // Measured once workerd is gone: while it runs, SQLite files come and go under du.
  report.storage_bytes_at_end = Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
  writeFileSync(path.join(ROOT, "bench/soak-results.json"), JSON.stringify(report, null, 2) + "\n");
  print(report);
  return report.passed;
}

// ---------------------------------------------------------------- report

function restartWindow(http, restarted) {
  if (!restarted) return { inside: [], outside: http.failedAttempts };
  const until = restarted.readyAt + WINDOW_GRACE_MS;
  const inside = http.failedAttempts.filter((f) => f.t >= restarted.killedAt && f.t <= until);
  const outside = http.failedAttempts.filter((f) => f.t < restarted.killedAt || f.t > until);
  return { inside, outside };
}

/** One entry per (call, error): a request retried ten times through one error counts once for it. */
const distinct = (list) => [...new Map(list.map((f) => [`${f.id} ${f.what}`, f])).values()];

const tally = (list, key) => list.reduce((o, x) => ({ ...o, [key(x)]: (o[key(x)] ?? 0) + 1 }), {});

function summarise({ http, ctx, samples, state, restarted, trafficStart, trafficEnd, cpu, audited }) {
  const { inside, outside } = restartWindow(http, restarted);
  ledger.expect("no request fails outside the restart window", outside.length === 0,
    `${outside.length} failed attempts: ${JSON.stringify(tally(outside, (f) => `${f.kind}: ${f.what}`))}`);
  for (const m of state.processes.map((p) => memoryOf(samples, p))) {
    if (m.flat !== null) ledger.expect("workerd memory flat (end within 10 %, at least 5 MB, of the warm start)", m.flat, JSON.stringify(m));
  }
  const kinds = Object.fromEntries([...http.kinds].sort());
  const requests = Object.values(kinds).reduce((a, k) => a + k.requests, 0);
  const seconds = (trafficEnd - trafficStart) / 1000;
  const report = {
    date: new Date().toISOString(),
    commit: execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim(),
    node: process.version,
    duration_s: seconds, connections: CONNECTIONS, warmup_s: WARMUP, mix: MIX, storage_dir: STORAGE_DIR,
    requests, requests_per_s: requests / seconds, by_kind: kinds, actions: ctx.actions,
    client_cores: (cpu.user + cpu.system) / 1e6 / seconds,
    restart: restarted && {
      killed_at_s: at(restarted.killedAt), ready_at_s: at(restarted.readyAt), down_s: (restarted.readyAt - restarted.killedAt) / 1000,
      first_answer_at_s: http.firstAnswer && at(http.firstAnswer), same_port: restarted.samePort,
      old_pid: restarted.oldPid, new_pid: restarted.newPid,
      failed_attempts: inside.length, failed_requests: new Set(inside.map((f) => f.id)).size,
      failed_requests_by_error: tally(distinct(inside), (f) => f.what),
      failed_requests_by_kind: tally(distinct(inside), (f) => `${f.kind}: ${f.what}`),
      answered_after_retries: http.recovered.length,
      longest_wait_s: Math.max(0, ...http.recovered.map((x) => x.waited_ms)) / 1000,
    },
    lost_answers: Object.fromEntries(notes),
    audit: audited,
    memory: { processes: state.processes.map((p) => memoryOf(samples, p)), samples },
    checks: Object.fromEntries([...checks].map(([k, v]) => [k, v])),
  };
  report.failed_checks = [...checks].filter(([, v]) => v.failed).map(([k]) => k);
  report.passed = report.failed_checks.length === 0;
  return report;
}

const f = (x, d = 1) => (x == null ? "–" : Number(x).toFixed(d));

function print(r) {
  const rows = Object.entries(r.by_kind).map(([k, v]) =>
    [k, v.requests, v.attempts, Object.entries(v.outcomes).map(([o, n]) => `${o}: ${n}`).join(", ")]);
  const w = [0, 1, 2].map((i) => Math.max(...[["request", "requests", "attempts"][i], ...rows.map((x) => String(x[i]))].map((s) => String(s).length)));
  const line = (x) => `  ${String(x[0]).padEnd(w[0])}  ${String(x[1]).padStart(w[1])}  ${String(x[2]).padStart(w[2])}  ${x[3]}`;
  console.log(`\nsoak: ${f(r.duration_s)} s of traffic, ${r.connections} connections, ${r.requests} requests (${f(r.requests_per_s, 0)}/s), commit ${r.commit}, ${r.node}`);
  console.log(line(["request", "requests", "attempts", "outcomes (status or error: attempts)"]));
  for (const x of rows) console.log(line(x));
  console.log(`actions: ${Object.entries(r.actions).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  console.log(`client (this Node process): ${f(r.client_cores, 2)} of a core`);
  if (r.restart) {
    const x = r.restart;
    console.log(`restart: workerd ${x.old_pid} killed (SIGKILL) at t=${f(x.killed_at_s)} s, workerd ${x.new_pid} ready at t=${f(x.ready_at_s)} s (${f(x.down_s)} s down, ${x.same_port ? "same port" : "NEW port"}), first answer at t=${f(x.first_answer_at_s)} s`);
    console.log(`  requests that failed in the window: ${x.failed_requests} (${x.failed_attempts} attempts); requests by error: ${Object.entries(x.failed_requests_by_error).map(([k, v]) => `${k}: ${v}`).join(", ") || "none"}`);
    for (const [k, v] of Object.entries(x.failed_requests_by_kind)) console.log(`    ${k}: ${v}`);
    console.log(`  answered after retries: ${x.answered_after_retries} requests, the longest after ${f(x.longest_wait_s)} s`);
  }
  console.log(`requests whose first answer was lost (retried as a real client would): ${Object.entries(r.lost_answers).map(([k, v]) => `${k}: ${v}`).join("; ") || "none"}`);
  console.log(`audit at the end: ${r.audit.grants} held grants (${r.audit.issued_before_restart} issued before the restart, ${r.audit.issued_in_the_last_5s_before_restart} in its last 5 s)`);
  for (const m of r.memory.processes) {
    console.log(m.flat === null ? `memory: workerd ${m.pid}: ${m.note}`
      : `memory (workerd ${m.pid} VmRSS): warm start ${f(m.start_mb)} MB at t=${f(m.start_t, 0)} s, end ${f(m.end_mb)} MB at t=${f(m.end_t, 0)} s, max ${f(m.max_mb)} MB, slope ${f(m.slope_mb_per_min, 2)} MB/min: ${m.flat ? "flat" : "NOT FLAT"} (allowed +${f(m.allowed_growth_mb)} MB); grant objects on disk ${m.start_grant_objects} → ${m.end_grant_objects}, files open ${m.start_open_files} → ${m.end_open_files}`);
  }
  console.log(`storage at the end: ${f(r.storage_bytes_at_end / 1048576)} MB`);
  console.log("\n  passed  failed  check");
  for (const [k, v] of Object.entries(r.checks)) {
    console.log(`  ${String(v.passed).padStart(6)}  ${String(v.failed).padStart(6)}  ${k}`);
    for (const s of v.samples) console.log(`                  ${s}`);
  }
  console.log(`\n${r.passed ? "PASS" : `FAIL: ${r.failed_checks.length} checks failed`}. Results: bench/soak-results.json`);
}

process.env.TMPDIR = STORAGE_DIR;
const state = { dir: mkdtempSync(path.join(STORAGE_DIR, "edge-oidc-soak-")), server: null, processes: [] };
main(state)
  .then((passed) => { process.exitCode = passed ? 0 : 1; }, (e) => { console.error(e); process.exitCode = 1; })
  .finally(async () => {
    await state.server?.stop().catch(() => {});
    rmSync(state.dir, { recursive: true, force: true });
    process.exit();
  });
