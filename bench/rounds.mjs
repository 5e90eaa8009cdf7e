// Alternating rounds (bench/run.mjs): the servers compared on one scenario
// are each warmed up once, then measured in turn, round after round
// (A B C, A B C, ...), and every ratio is the median over the rounds of
// that round's ratio. One stretch per server cannot carry a ratio on a
// shared machine: the bare worker alone ranged 2,074-4,107 req/s within
// one run. Neighbours that slow the machine for a few seconds slow one
// round of every server, and the median drops the round they spoiled.
import autocannon from "autocannon";
import { CLK_TCK, procStat } from "./workerd.mjs";

const num = (name, fallback) => Number(process.env[name] ?? fallback);
export const CONNECTIONS = num("BENCH_CONNECTIONS", 8);
export const ROUNDS = num("BENCH_ROUNDS", 5);
export const ROUND_S = num("BENCH_ROUND_SECONDS", 2.5);
export const WARMUP_S = num("BENCH_WARMUP", 2);
export const ALG_ROUNDS = num("BENCH_ALG_ROUNDS", 3);

export const log = (...a) => console.log("bench:", ...a);

export const rows = [];       // every measured run (and every warm-up that failed)
export const failures = [];   // the runs with a non-2xx answer or a failed request

/** A response header from autocannon's raw header map (names as the server wrote them). */
export const header = (headers, name) => Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];

/** What a run must be answered with: 2xx, unless a contender says otherwise (/authorize: 302). */
const success = (status) => status >= 200 && status <= 299;

/**
 * One autocannon run against `server`: `requests` is autocannon's request
 * list; `amount` a fixed request count instead of `duration` seconds;
 * `expect(status, headers)` says which answers are right. Returns rps, latency, the
 * answers that were not right (`unexpected`), failed requests, the workerd
 * process's CPU per request and this process's own CPU share.
 */
export async function load(server, { requests, duration, amount, setupClient, expect = success }) {
  const bad = [];
  let unexpected = 0;
  let responses = 0;
  let last = 0n;
  // Every run collects bodies (onResponse), so the generator's own work is the same for all.
  const watch = (step) => ({
    ...step,
    onResponse(status, body, context, headers) {
      responses++;
      last = process.hrtime.bigint();
      if (!expect(status, headers) && unexpected++ < 3) bad.push(`${status} ${header(headers, "location") ?? ""} ${String(body).slice(0, 200)}`);
      step.onResponse?.(status, body, context, headers);
    },
  });
  const cpu0 = procStat(server.pid);
  const node0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    pipelining: 1,
    timeout: 10,
    ...(amount ? { amount } : { duration }),
    requests: requests.map(watch),
    ...(setupClient ? { setupClient } : {}),
  });
  const nodeCpu = process.cpuUsage(node0);
  const cpu1 = procStat(server.pid);
  const ticks = cpu1.ticks - cpu0.ticks;
  // Our own clock, first request to last response: autocannon notices the end of
  // an `amount` run only at its next 1 s sample, so its own duration is rounded up.
  const wall = Number(last - t0) / 1e9;
  const perReq = (t) => (responses ? (t * 1000 / CLK_TCK) / responses : null);
  return {
    requests: responses,
    duration_s: wall,
    rps: responses / wall,
    latency_ms: { mean: r.latency.mean, p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
    unexpected,
    errors: r.errors,
    timeouts: r.timeouts,
    status_codes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count])),
    bad_samples: bad,
    // workerd: utime + stime of the whole process (all threads, every worker in it).
    workerd_cpu_ms_per_req: perReq(ticks),
    // the split: user (JavaScript, wasm, runtime) and system (network, storage files)
    workerd_user_ms_per_req: perReq(cpu1.utime - cpu0.utime),
    workerd_system_ms_per_req: perReq(cpu1.stime - cpu0.stime),
    workerd_cores: (ticks / CLK_TCK) / wall,
    bench_process_cores: (nodeCpu.user + nodeCpu.system) / 1e6 / wall,
  };
}

const failed = (m) => m.unexpected || m.errors || m.timeouts;

/** Keeps a run (loudly, if anything in it failed). */
function record(row) {
  rows.push(row);
  const { group, server, round, rps, latency_ms: l } = row;
  if (failed(row)) {
    failures.push(row);
    console.error(`\n!!!!! ${group} · ${server} (${round}): ${row.unexpected} unexpected answers, ${row.errors} errors, ${row.timeouts} timeouts`
      + ` (status codes ${JSON.stringify(row.status_codes)})\n!!!!! ${row.bad_samples.join("\n!!!!! ")}\n`);
  }
  log(`  ${server} (${round}): ${rps.toFixed(0)} req/s, p50 ${l.p50} ms, p99 ${l.p99} ms, `
    + `workerd ${row.workerd_cpu_ms_per_req?.toFixed(3)} ms CPU/req`);
  return row;
}

/**
 * A contender measured for a fixed time each run: `requests()` is the
 * request list, `before()` runs (unmeasured) before each run, e.g. to seed
 * refresh chains.
 */
export const timed = (name, server, { requests, before, setupClient, expect, scenario }) => ({
  name, server, scenario,
  async run(phase) {
    await before?.();
    return load(server, { requests: requests(), setupClient, expect, duration: phase === "warmup" ? WARMUP_S : ROUND_S });
  },
});

/** `n` results of `mint()`, `parallel` at a time. */
async function mintMany(n, mint, parallel = 8) {
  const out = [];
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) { next++; out.push(await mint()); }
  }));
  return out;
}

/**
 * A contender whose every request spends a single-use code from `mint()`
 * (its fields turned into the request by `tokenRequest(code)`). Runs are
 * sized in requests: the warm-up spends a fixed number and gives the rate;
 * each round then spends about ROUND_S seconds' worth at that rate, and
 * every round's codes are minted before the first round starts, never
 * during a measured run.
 */
export function pooled(name, server, { mint, tokenRequest, scenario }) {
  let amount = 0;
  const pools = [];
  const spend = (pool) => load(server, {
    amount: pool.length,
    requests: [{
      method: "POST", path: "/token",
      setupRequest(req) {
        const c = pool.pop();
        if (!c) throw new Error("code pool exhausted");
        return { ...req, ...tokenRequest(c) };
      },
    }],
  });
  return {
    name, server, scenario,
    async run(phase) {
      if (phase !== "warmup") return spend(pools[phase]);
      const warm = await spend(await mintMany(CONNECTIONS * 40, mint));
      amount = Math.max(CONNECTIONS * 20, Math.ceil((warm.rps * ROUND_S * 1.1) / CONNECTIONS) * CONNECTIONS);
      return warm;
    },
    async prepare(rounds) {
      log(`  ${name}: minting ${rounds} × ${amount} codes (~${ROUND_S}s a round at the warm-up's rate)`);
      for (let i = 0; i < rounds; i++) pools.push(await mintMany(amount, mint));
    },
  };
}

/**
 * Measures `contenders` on one scenario (`group`): one warm-up each, then
 * `rounds` rounds with each in turn (a warm-up is kept only if it failed). Returns the group: its name and each
 * contender's measured runs by name.
 */
export async function compare(group, contenders, rounds = ROUNDS) {
  log(`${group}: ${contenders.map((c) => c.name).join(", ")}; warm-up ${WARMUP_S}s each, then ${rounds} rounds of ~${ROUND_S}s`);
  const keep = (c, round, m) => record({ group, scenario: c.scenario ?? group, server: c.name, round, ...m });
  for (const c of contenders) {
    const w = await c.run("warmup");
    if (failed(w)) keep(c, "warm-up", w);
  }
  for (const c of contenders) await c.prepare?.(rounds);
  const runs = Object.fromEntries(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) runs[c.name].push(keep(c, r + 1, await c.run(r)));
  }
  return { group, runs };
}

export function median(xs) {
  const v = xs.filter((x) => x != null && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Median, min and max of `xs`, and how many. */
export const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), rounds: xs.length });

/** `a`'s req/s ÷ `b`'s in each round of `g`, and their median, min and max. */
export function ratio(g, a, b) {
  const per = g.runs[a].map((run, i) => run.rps / g.runs[b][i].rps);
  return { group: g.group, of: a, to: b, ...spread(per), per_round: per };
}
