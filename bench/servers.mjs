// The baseline workers of the benchmarks (bench/bare, bench/bare-do, and the
// floors: bench/bare-token, bench/bare-grant, bench/bare-authorize), each in
// its own workerd process with its pid: shared by bench/run.mjs and
// bench/sign-in-cpu.mjs.
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { generateKeyPairSync } from "node:crypto";
import path from "node:path";
import { ROOT, COMPATIBILITY_DATE, freePort } from "../tests/helpers.mjs";
import { withWorkerdPid } from "./workerd.mjs";

const BENCH_DIR = path.join(ROOT, "bench");
/** What the floors import (bench/floors/jose.js). */
const SHARED = [path.join(BENCH_DIR, "floors/jose.js")];

/**
 * A worker from plain modules, started the way tests/helpers.mjs starts
 * ours: `file` its entry module, `shared` the modules it imports (module
 * names are relative to bench/, so `../floors/jose.js` resolves).
 */
export async function startModules({ file, shared = [], kv = [], durableObjects = {}, bindings = {}, flags = [], port }) {
  const mf = new Miniflare(convertV4MiniflareOptions({
    modules: [file, ...shared].map((p) => ({ type: "ESModule", path: p })),
    modulesRoot: shared.length ? BENCH_DIR : path.dirname(file),
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: flags,
    kvNamespaces: kv,
    durableObjects,
    bindings,
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

let floorKeys;
/** The floors' signing keys (private JWKs, ES256 and RS256), made once per bench process. */
function keys() {
  const jwk = (type, options) => generateKeyPairSync(type, options).privateKey.export({ format: "jwk" });
  floorKeys ??= { ES256: jwk("ec", { namedCurve: "P-256" }), RS256: jwk("rsa", { modulusLength: 2048 }) };
  return floorKeys;
}

const startFloor = (dir, options = {}) => withWorkerdPid(() => startModules({
  file: path.join(BENCH_DIR, dir, "worker.js"), shared: SHARED, bindings: { KEYS: keys() }, ...options,
}));

/** The least a client_credentials token costs in plain JavaScript (one ES256 signature). */
export const startBareToken = () => startFloor("bare-token");

/** The least a code exchange, a refresh rotation and /userinfo cost with a grant object each. */
export const startBareGrant = () => startFloor("bare-grant", {
  durableObjects: { GRANTS: { className: "Grant", useSQLite: true } },
});

/** The least /authorize costs on a live session with remembered consent (three KV reads). */
export const startBareAuthorize = () => startFloor("bare-authorize", { kv: ["KV"] });
