// What npm run bench prints and writes (bench/results.json): per server and
// scenario the medians over its rounds, the ratios (median of the per-round
// ratio, min-max, rounds) and the targets of issue 15 (and those of issue 5
// still kept), each marked met or not.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync, constants as zlib } from "node:zlib";
import { ROOT, COMPATIBILITY_DATE } from "../tests/helpers.mjs";
import { ALG_ROUNDS, CONNECTIONS, ROUNDS, ROUND_S, WARMUP_S, failures, median, ratio, rows, spread } from "./rounds.mjs";
import { signInLines } from "./sign-in-cpu.mjs";
import { CLK_TCK, STORAGE_DIR } from "./workerd.mjs";

const version = (pkg) => JSON.parse(readFileSync(path.join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;

function machine() {
  const wasm = readFileSync(path.join(ROOT, "build/index_bg.wasm"));
  return {
    date: new Date().toISOString(),
    node: process.version,
    workerd: execFileSync(path.join(ROOT, "node_modules/workerd/bin/workerd"), ["--version"], { encoding: "utf8" }).trim()
      + ` (npm workerd ${version("workerd")})`,
    miniflare: version("miniflare"),
    autocannon: version("autocannon"),
    peer: `@cloudflare/workers-oauth-provider ${version("@cloudflare/workers-oauth-provider")}`,
    compatibility_date: COMPATIBILITY_DATE,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg_at_end: os.loadavg() },
    connections: CONNECTIONS, rounds: ROUNDS, round_s: ROUND_S, warmup_s: WARMUP_S, alg_rounds: ALG_ROUNDS, storage_dir: STORAGE_DIR,
    wasm: { path: "build/index_bg.wasm", bytes: wasm.length, gzip9_bytes: gzipSync(wasm, { level: zlib.Z_BEST_COMPRESSION }).length },
  };
}

/** Each contender of each group: medians over its rounds, ×bare per round where the group has the bare worker. */
function summarise(groups, bareCpu) {
  return groups.flatMap((g) => Object.entries(g.runs).map(([server, runs]) => {
    const m = (f) => median(runs.map(f));
    const cpu = m((r) => r.workerd_cpu_ms_per_req);
    return {
      group: g.group, scenario: runs[0].scenario, server,
      rps: spread(runs.map((r) => r.rps)),
      ratio_to_bare: g.runs.bare && server !== "bare" ? ratio(g, server, "bare") : null,
      p50_ms: m((r) => r.latency_ms.p50), p99_ms: m((r) => r.latency_ms.p99),
      workerd_cpu_ms_per_req: cpu, workerd_system_ms_per_req: m((r) => r.workerd_system_ms_per_req),
      cpu_ms_per_req_minus_bare: server === "bare" ? null : cpu - bareCpu,
      workerd_cores: m((r) => r.workerd_cores),
      unexpected: runs.reduce((n, r) => n + r.unexpected, 0), errors: runs.reduce((n, r) => n + r.errors + r.timeouts, 0),
    };
  }));
}

const target = (name, r, goal, ok) => ({ name, goal, ...(r ?? {}), met: r?.median == null || !ok ? null : ok(r.median) });

/** Issue 15's targets, from this run's ratios. */
function targets(find) {
  const atLeast = (x) => (v) => v >= x;
  return [
    target("code exchange ours/peer", find("authorization code exchange", "ours", "peer"), "≥ 2", atLeast(2)),
    target("refresh rotation ours/peer", find("refresh rotation", "ours", "peer"), "≥ 3", atLeast(3)),
    target("userinfo ours/peer", find("userinfo", "ours", "peer"), "≥ 2", atLeast(2)),
    target("discovery ours/peer", find("discovery & JWKS", "ours discovery", "peer discovery"), "≥ 1", atLeast(1)),
    target("JWKS ours/peer's discovery", find("discovery & JWKS", "ours jwks", "peer discovery"), "≥ 1", atLeast(1)),
    target("client_credentials ours/floor", find("client_credentials", "ours", "floor"), "≥ 0.9", atLeast(0.9)),
    target("code exchange ours/floor", find("authorization code exchange", "ours", "floor"), "≥ 0.9", atLeast(0.9)),
    target("refresh rotation ours/floor", find("refresh rotation", "ours", "floor"), "≥ 0.9", atLeast(0.9)),
    target("refresh rotation ours/(floor + id_token)", find("refresh rotation", "ours", "floor + id_token"), "reported"),
    target("userinfo ours/floor", find("userinfo", "ours", "floor"), "≥ 0.9", atLeast(0.9)),
    target("/authorize ours/floor", find("/authorize (live session, remembered consent)", "ours", "floor"), "reported"),
    target("/authorize ours/peer", find("/authorize (live session, remembered consent)", "ours", "peer"), "reported"),
  ];
}

/** Issue 5's targets, kept: ×bare, CPU per token request by algorithm, wasm size. */
function earlierTargets(summary, out, algs) {
  const bareOf = (group) => summary.find((s) => s.group === group && s.server === "ours")?.ratio_to_bare;
  const cpu = (group, alg) => ({ median: summary.find((s) => s.group === group && s.server === alg)?.cpu_ms_per_req_minus_bare, rounds: ALG_ROUNDS });
  const under1 = (v) => v < 1;
  return [
    target("client_credentials ×bare", bareOf("client_credentials"), "≥ 0.8", (v) => v >= 0.8),
    target("code exchange ×bare", bareOf("authorization code exchange"), "≥ 0.5", (v) => v >= 0.5),
    target("refresh rotation ×bare", bareOf("refresh rotation"), "≥ 0.5", (v) => v >= 0.5),
    ...algs.map((a) => target(`CPU ms/token request, client_credentials ${a}`, cpu("client_credentials by access token alg", a), "< 1", under1)),
    ...algs.map((a) => target(`CPU ms/token request, code exchange id_token ${a}`, cpu("code exchange by id_token alg", a), "< 1", under1)),
    target("wasm KB gzipped", { median: out.wasm.gzip9_bytes / 1024 }, "≤ 400", (v) => v <= 400),
  ];
}

const f = (x, d = 0) => (x == null || Number.isNaN(x) ? "–" : x.toFixed(d));
const range = (r, d = 2) => (r?.min == null ? "" : `${f(r.min, d)}–${f(r.max, d)}`);

/** Columns padded to their widest cell; the first `left` columns left-aligned. */
function table(head, body, left = 2) {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i] ?? "").length)));
  const line = (r) => r.map((c, i) => (i < left ? String(c ?? "").padEnd(w[i]) : String(c ?? "").padStart(w[i]))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n");
}

const verdict = (t) => (t.met == null ? (t.goal === "reported" ? "–" : "?") : t.met ? "met" : "NOT MET");
const targetTable = (ts) => table(["target", "goal", "median", "min–max", "rounds", ""],
  ts.map((t) => [t.name, t.goal, f(t.median, 2), range(t), t.rounds ?? "", verdict(t)]), 2);

export function report({ groups, ratios, signInCpu, startedAt, algs, partial = false }) {
  const out = machine();
  const bareRuns = rows.filter((r) => r.server === "bare" && typeof r.round === "number");
  const bareCpu = median(bareRuns.map((r) => r.workerd_cpu_ms_per_req));
  const summary = summarise(groups, bareCpu);
  const find = (group, of, to) => ratios.find((r) => r.group === group && r.of === of && r.to === to);
  out.targets = targets(find);
  out.targets_issue_5 = earlierTargets(summary, out, algs);
  out.bare = { rps: spread(bareRuns.map((r) => r.rps)), cpu_ms_per_req_median: bareCpu };
  const maxBenchCores = Math.max(...rows.map((r) => r.bench_process_cores));
  out.bench_process = { max_cores: maxBenchCores, under_one_core: maxBenchCores < 1 };
  out.sign_in_cpu = signInCpu;
  out.duration_s = (Date.now() - startedAt) / 1000;
  out.summary = summary;
  out.ratios = ratios;
  out.runs = rows;
  out.failures = failures.map((r) => ({ group: r.group, server: r.server, round: r.round, unexpected: r.unexpected, errors: r.errors, timeouts: r.timeouts }));
  const results = partial ? "bench/results-partial.json" : "bench/results.json";
  writeFileSync(path.join(ROOT, results), JSON.stringify(out, null, 2) + "\n");

  console.log("\n" + table(
    ["scenario", "server", "req/s", "min–max", "p50 ms", "p99 ms", "×bare", "min–max", "CPU ms/req", "(sys)", "−bare", "wd cores", "bad/err"],
    summary.map((s) => [
      s.scenario, s.server, f(s.rps.median), range(s.rps, 0), f(s.p50_ms, 1), f(s.p99_ms, 1),
      f(s.ratio_to_bare?.median, 2), range(s.ratio_to_bare), f(s.workerd_cpu_ms_per_req, 3), f(s.workerd_system_ms_per_req, 3),
      f(s.cpu_ms_per_req_minus_bare, 3), f(s.workerd_cores, 2), `${s.unexpected}/${s.errors}`,
    ]),
  ));
  console.log(`\nRatios (median of the per-round ratio):\n${table(["scenario", "ratio", "median", "min–max", "rounds"],
    ratios.map((r) => [r.group, `${r.of} / ${r.to}`, f(r.median, 2), range(r), r.rounds]))}`);
  console.log(`
${CONNECTIONS} connections; per scenario one ${WARMUP_S}s warm-up per server, then ${ROUNDS} rounds (by algorithm: ${ALG_ROUNDS}) of ~${ROUND_S}s per server in turn
(code exchanges: sized in requests to about that). Medians over the rounds; node ${out.node}, ${out.workerd}.
×bare = req/s ÷ the bare worker's in the same round. CPU ms/req = the workerd process's utime+stime ÷ requests (all its threads, Durable
  Objects and storage included; ${1000 / CLK_TCK} ms ticks); (sys) its stime part; −bare = minus the bare worker's ${f(bareCpu, 3)} ms (median of
  its ${bareRuns.length} rounds: the runtime's own per-request cost); wd cores = workerd's CPU ÷ wall time (≈1: workerd is the bottleneck).
wasm: ${out.wasm.bytes} bytes raw, ${out.wasm.gzip9_bytes} gzipped (level 9).
The load generator (this Node process) used at most ${f(maxBenchCores, 2)} of a core during a run: ${maxBenchCores < 1 ? "under one core, leaving the other to workerd" : "ONE CORE OR MORE: the figures are limited by the load generator"}.
Results: ${results}

Targets (issue 15):
${targetTable(out.targets)}

Kept from issue 5:
${targetTable(out.targets_issue_5)}

${signInCpu ? signInLines(signInCpu).join("\n") : "(sign-in CPU: not measured in a partial run)"}

The whole run took ${f(out.duration_s / 60, 1)} minutes.`);
  if (failures.length) {
    console.error(`\n!!!!! BENCHMARK FAILED: wrong answers (non-2xx; at /authorize, not 302) or failed requests in ${failures.length} run(s): ${failures.map((r) => `${r.group} · ${r.server} (${r.round})`).join(", ")}\n`);
    process.exitCode = 1;
  }
}
