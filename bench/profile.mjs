// npm run bench:profile -- SCENARIO [SECONDS]: where the time of one scenario
// goes inside workerd. Serves the worker in miniflare with the V8 inspector
// on, drives SCENARIO with autocannon while V8's sampling profiler runs, then
// prints the functions with the most self time (JavaScript and wasm; native
// work such as SQLite, HTTP and WebCrypto shows as "(program)") and writes the
// whole profile to bench/profiles/SCENARIO.cpuprofile, which Chrome DevTools
// opens. Wasm functions have names when the build keeps them: build with
// BUILD_PROFILING=1 (scripts/setup.sh), which keeps the name section.
//
// Scenarios: discovery, jwks, client_credentials, code, refresh, userinfo,
// and entry (GET /token, a 405 from the router: into the wasm and out).
import autocannon from "autocannon";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT, freePort, startWorker } from "../tests/helpers.mjs";
import { Jar, basicAuth, createUser, exchange, obtainCode, registerClient } from "../tests/flow.mjs";
import { codeMinter, codeTokenRequest, keepContext, refreshChainStep } from "./steps.mjs";

const [scenarioName = "code", secondsArg = "5"] = process.argv.slice(2);
const SECONDS = Number(secondsArg);
const CONNECTIONS = 8;
const FORM = "application/x-www-form-urlencoded";
const TOP = 40;

/** A minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
async function inspector(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/core:user:`);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  let next = 1;
  const pending = new Map();
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    msg.error ? p.reject(new Error(msg.error.message)) : p.resolve(msg.result);
  };
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
  return { send, close: () => ws.close() };
}

/** Self and total time per function (name + location), in ms, from a V8 CPU profile. */
function summarise(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map(); // node id → µs
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n) => {
    const f = n.callFrame;
    const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : "";
    return `${f.functionName || "(anonymous)"} ${where}`.trim();
  };
  const selfBy = new Map();
  const totalBy = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    selfBy.set(key(n), (selfBy.get(key(n)) ?? 0) + us);
    // Total time: once per distinct function on the sample's stack (recursion counts once).
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur));
      if (seen.has(k)) continue;
      seen.add(k);
      totalBy.set(k, (totalBy.get(k) ?? 0) + us);
    }
  }
  const all = [...self.values()].reduce((a, b) => a + b, 0);
  // Self time by kind: our wasm, JavaScript (the glue and the WebCrypto calls
  // it makes synchronously), runtime built-ins, and V8's own buckets.
  const kinds = new Map();
  for (const [id, us] of self) {
    const f = byId.get(id).callFrame;
    const kind = f.url.startsWith("wasm:") ? "wasm" : f.url ? "JavaScript" : f.functionName.startsWith("(") ? f.functionName : "built-ins";
    kinds.set(kind, (kinds.get(kind) ?? 0) + us);
  }
  return { all, selfBy, totalBy, kinds };
}

const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);

async function main() {
  const port = await freePort();
  const ours = await startWorker({ vars: { CODE_TTL: "900" }, miniflare: { inspectorPort: port } });
  try {
    const scenario = await setUp(scenarioName, ours);
    // Warm-up without the profiler: JIT, caches, key ring.
    await run(ours, scenario, await prepare(scenario, Math.min(2, SECONDS)));
    const measured = await prepare(scenario, SECONDS); // codes are minted before profiling starts
    const cdp = await inspector(port);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
    await cdp.send("Profiler.start");
    const r = await run(ours, scenario, measured);
    const { profile } = await cdp.send("Profiler.stop");
    cdp.close();
    const dir = path.join(ROOT, "bench/profiles");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${scenarioName}.cpuprofile`), JSON.stringify(profile));
    report(scenarioName, r, summarise(profile));
  } finally {
    await ours.stop();
  }
}

function report(name, r, { all, selfBy, totalBy, kinds }) {
  const per = (us) => (us / 1000 / r.requests).toFixed(4);
  console.log(`\n${name}: ${r.requests} requests (${r.unexpected} unexpected), ${(all / 1000).toFixed(0)} ms sampled`
    + ` = ${per(all)} ms per request on the worker's thread (profiling slows it: compare shares, not times)`);
  console.log(`by kind, ms/req: ${sorted(kinds).map(([k, us]) => `${k} ${per(us)}`).join(", ")}\n`);
  console.log("self ms/req   total ms/req  function");
  for (const [k, us] of sorted(selfBy).slice(0, TOP)) {
    console.log(`${per(us).padStart(11)}  ${per(totalBy.get(k)).padStart(12)}  ${k}`);
  }
  if (r.unexpected || r.errors) process.exitCode = 1;
}

/** A run of `seconds` (or, for single-use codes, that many seconds' worth of requests), ready to start. */
async function prepare(scenario, seconds) {
  const amount = scenario.amount?.(seconds);
  return { seconds, amount, requests: await scenario.requests(amount) };
}

/** autocannon with a prepared run. */
async function run(server, scenario, { seconds, amount, requests }) {
  const r = await autocannon({
    url: server.url, connections: CONNECTIONS, timeout: 10,
    ...(amount ? { amount } : { duration: seconds }),
    requests,
    ...(scenario.setupClient ? { setupClient: scenario.setupClient } : {}),
  });
  // Answers other than the scenario's own (2xx unless it says): a profile of errors is worthless.
  const expected = scenario.status ? r.statusCodeStats[scenario.status]?.count ?? 0 : r.requests.total - r.non2xx;
  return { requests: r.requests.total, unexpected: r.requests.total - expected, errors: r.errors };
}

/** The scenario's request list, built against a fresh provider. */
async function setUp(name, ours) {
  const fixed = (method, p, headers = {}, body) => ({ requests: () => [{ method, path: p, headers, ...(body ? { body } : {}) }] });
  const user = await createUser(ours);
  const jar = new Jar();
  const client = await registerClient(ours, { token_endpoint_auth_method: "client_secret_basic" });
  await obtainCode(ours, client, user, { jar });
  const mint = codeMinter(ours, jar, client);
  const headers = { "content-type": FORM, authorization: basicAuth(client) };
  switch (name) {
    case "discovery": return fixed("GET", "/.well-known/openid-configuration");
    case "jwks": return fixed("GET", "/jwks.json");
    case "entry": return { ...fixed("GET", "/token"), status: 405 };
    case "userinfo": {
      const { access_token } = await exchange(ours, client, await mint());
      return fixed("GET", "/userinfo", { authorization: `Bearer ${access_token}` });
    }
    case "client_credentials": {
      const cc = await registerClient(ours, { grant_types: ["client_credentials"], token_endpoint_auth_method: "client_secret_basic", scope: "api" });
      return fixed("POST", "/token", { "content-type": FORM, authorization: basicAuth(cc) }, "grant_type=client_credentials&scope=api");
    }
    case "code": {
      // Codes are single-use: a pool sized from a quick measurement of the rate.
      return {
        amount: (seconds) => Math.ceil(seconds * 400 / CONNECTIONS) * CONNECTIONS,
        requests: async (amount) => {
          const pool = [];
          for (let i = 0; i < amount; i += 8) pool.push(...await Promise.all(Array.from({ length: 8 }, mint)));
          const tokenRequest = codeTokenRequest(client);
          return [{ method: "POST", path: "/token", setupRequest: (req) => ({ ...req, ...tokenRequest(pool.pop()) }) }];
        },
      };
    }
    case "refresh": {
      return {
        setupClient: keepContext,
        requests: async () => {
          const pool = await Promise.all(Array.from({ length: CONNECTIONS }, async () => (await exchange(ours, client, await mint())).refresh_token));
          return [refreshChainStep(() => pool.pop(), headers)];
        },
      };
    }
    default: throw new Error(`unknown scenario ${name}`);
  }
}

await main();
