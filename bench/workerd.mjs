// The workerd processes a benchmark starts, where they keep their files, and
// the CPU time they spend: shared by bench/run.mjs, bench/sign-in.mjs and
// bench/sign-in-cpu.mjs.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";

/**
 * Where the servers keep their local KV / Durable Object files
 * (BENCH_STORAGE_DIR): /dev/shm when there is one, so that disk flushes of
 * this shared machine do not enter the figures. miniflare puts an
 * instance's storage under os.tmpdir(), which reads TMPDIR: a benchmark
 * sets TMPDIR to this before it starts a server.
 */
export const STORAGE_DIR = process.env.BENCH_STORAGE_DIR ?? (existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir());

/** Clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** /proc/<pid>/stat → { comm, ppid, ticks: utime + stime } (fields 14, 15; all threads). */
export function procStat(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const close = s.lastIndexOf(")");
  const comm = s.slice(s.indexOf("(") + 1, close);
  const f = s.slice(close + 2).split(" "); // f[0] is field 3 (state)
  return { comm, ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), ticks: Number(f[11]) + Number(f[12]) };
}

/** The workerd processes this Node process has started (miniflare spawns one per instance). */
function workerdChildren() {
  const pids = new Set();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = procStat(d);
      if (st.comm === "workerd" && st.ppid === process.pid) pids.add(Number(d));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

/** Runs `start()` and returns its result plus the pid of the one workerd it spawned. */
export async function withWorkerdPid(start) {
  const before = workerdChildren();
  const server = await start();
  const fresh = [...workerdChildren()].filter((p) => !before.has(p));
  if (fresh.length !== 1) throw new Error(`expected one new workerd process, found ${fresh.length}`);
  return { ...server, pid: fresh[0] };
}

/**
 * workerd CPU ms per call of `step(input)` over `samples` calls, in the
 * workerd process `pid`. The inputs are made beforehand by `prepare(i)`,
 * whose own requests are not counted. /proc counts in clock ticks (10 ms
 * where CLK_TCK is 100): enough samples make that noise.
 */
export async function cpuPerCall(pid, samples, step, prepare = (i) => i) {
  const inputs = [];
  for (let i = 0; i < samples; i++) inputs.push(await prepare(i));
  const before = procStat(pid).ticks;
  for (const input of inputs) await step(input);
  return ((procStat(pid).ticks - before) * 1000 / CLK_TCK) / samples;
}
