// The baseline workers of the benchmarks (bench/bare, bench/bare-do,
// bench/bare-token), each in its own workerd process with its pid: shared by
// bench/run.mjs and bench/sign-in-cpu.mjs.
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import path from "node:path";
import { ROOT, COMPATIBILITY_DATE, freePort } from "../tests/helpers.mjs";
import { withWorkerdPid } from "./workerd.mjs";

const BENCH_DIR = path.join(ROOT, "bench");

/** A worker from plain modules, started the way tests/helpers.mjs starts ours. */
export async function startModules({ file, kv = [], durableObjects = {}, flags = [], port }) {
  const mf = new Miniflare(convertV4MiniflareOptions({
    modules: [{ type: "ESModule", path: file }],
    modulesRoot: path.dirname(file),
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: flags,
    kvNamespaces: kv,
    durableObjects,
    host: "127.0.0.1",
    port: port ?? await freePort(),
  }));
  const url = (await mf.ready).origin;
  return {
    mf, url,
    fetch: (p, init = {}) => mf.dispatchFetch(new URL(p, url), { redirect: "manual", ...init }),
    stop: () => mf.dispose(),
  };
}

export const startBare = () => withWorkerdPid(() => startModules({ file: path.join(BENCH_DIR, "bare/worker.js") }));

/** The bare worker plus one Durable Object call and one storage write per request. */
export const startBareDo = () => withWorkerdPid(() => startModules({
  file: path.join(BENCH_DIR, "bare-do/worker.js"),
  durableObjects: { SLOTS: { className: "Slot", useSQLite: true } },
}));

/** The least a client_credentials token costs in plain JavaScript (one ES256 signature). */
export const startBareToken = () => withWorkerdPid(() => startModules({ file: path.join(BENCH_DIR, "bare-token/worker.js") }));
