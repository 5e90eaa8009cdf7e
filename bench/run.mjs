// npm run bench: edge-oidc side by side with the nearest peer
// (@cloudflare/workers-oauth-provider), the floor of each scenario (a plain
// JavaScript worker doing the least such an endpoint must) and the bare
// runtime (a worker that only answers "ok"), all in miniflare/workerd on
// this machine, driven by autocannon from this one Node process. Every
// figure that matters is a ratio taken in this run, per round of
// alternating runs (bench/rounds.mjs), as a median with its min-max.
//
// Env (bench/README.md): BENCH_ROUNDS (5), BENCH_ROUND_SECONDS (2.5),
// BENCH_WARMUP (s, 2), BENCH_ALG_ROUNDS (3), BENCH_CONNECTIONS (8),
// BENCH_STORAGE_DIR (default /dev/shm when it exists), then the sign-in
// CPU (bench/sign-in-cpu.mjs; BENCH_SIGNIN_CPU_SAMPLES, default 100).
// Writes bench/results.json. Exits non-zero if any response was not 2xx or
// any request failed: a benchmark of errors is worthless.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { ROOT, freePort, startWorker } from "../tests/helpers.mjs";
import { REDIRECT_URI, Jar, authParams, basicAuth, createUser, exchange, obtainCode, registerClient } from "../tests/flow.mjs";
import { report } from "./report.mjs";
import { ALG_ROUNDS, CONNECTIONS, compare, header, log, pooled, ratio, timed } from "./rounds.mjs";
import { startBare, startBareAuthorize, startBareDo, startBareGrant, startBareToken, startModules } from "./servers.mjs";
import { measureSignIns } from "./sign-in-cpu.mjs";
import {
  authorizeStep, codeMinter, codeTokenRequest, floorCodeMinter, keepContext, peerCodeMinter, refreshChainStep, sessionKey,
} from "./steps.mjs";
import { STORAGE_DIR, withWorkerdPid } from "./workerd.mjs";

const ALGS = ["RS256", "ES256", "EdDSA"];
const BENCH_DIR = path.join(ROOT, "bench");
const FORM = "application/x-www-form-urlencoded";
/** The floors' one client (bench/floors/jose.js). */
const FLOOR_CLIENT = { client_id: "bench", client_secret: "bench" };

// ---------------------------------------------------------------- servers

const startOurs = (vars = {}) => withWorkerdPid(() => startWorker({ vars: { CODE_TTL: "900", ...vars } }));

/**
 * The peer: bench/peer/worker.js bundled with esbuild now. Its protected API
 * route checks a token's audience against the request's origin, so the
 * resource is this instance's own loopback origin, fixed at bundle time.
 */
async function startPeer() {
  const port = await freePort();
  const outfile = path.join(BENCH_DIR, "peer/dist/worker.js");
  execFileSync(path.join(ROOT, "node_modules/.bin/esbuild"), [
    path.join(BENCH_DIR, "peer/worker.js"),
    "--bundle", "--format=esm", "--platform=neutral", "--main-fields=module,main",
    "--conditions=workerd,worker,browser", "--external:cloudflare:*", "--log-level=warning",
    `--define:PEER_ORIGIN=${JSON.stringify(`http://127.0.0.1:${port}`)}`,
    `--outfile=${outfile}`,
  ], { stdio: "inherit" });
  // global_fetch_strictly_public only silences the library's start-up notice about
  // Client ID Metadata Documents (CIMD stays off: the option is not set).
  return withWorkerdPid(() => startModules({ file: outfile, kv: ["OAUTH_KV"], flags: ["global_fetch_strictly_public"], port }));
}

/** Every server of the run, started once and kept for the whole run (alternation is then cheap). */
async function startAll(servers) {
  const start = async (name, starting) => { const s = await starting; servers.push(s); log(`${name}: ${s.url} (workerd ${s.pid})`); return s; };
  const s = {
    bare: await start("bare", startBare()),
    bareDo: await start("bare-do", startBareDo()),
    bareToken: await start("bare-token", startBareToken()),
    bareGrant: await start("bare-grant", startBareGrant()),
    bareAuthorize: await start("bare-authorize", startBareAuthorize()),
    ours: await start("ours", startOurs()),
    peer: await start("peer", startPeer()),
    oursByAlg: {},
  };
  for (const alg of ALGS) s.oursByAlg[alg] = await start(`ours, access tokens ${alg}`, startOurs({ ACCESS_TOKEN_SIGNING_ALG: alg }));
  return s;
}

// ---------------------------------------------------------------- set-up

/** Ours: a user signed in and consented once in `jar`, so later /authorize → 302 at once. */
async function setUpOurs(ours) {
  const user = await createUser(ours);
  const jar = new Jar();
  const client = await registerClient(ours, { token_endpoint_auth_method: "client_secret_basic" });
  await obtainCode(ours, client, user, { jar });
  const mint = codeMinter(ours, jar, client);
  return { user, jar, client, mint, tokens: async () => exchange(ours, client, await mint()) };
}

/** The peer: its own registration endpoint (RFC 7591), its /authorize approving at once. */
async function setUpPeer(peer) {
  const res = await peer.fetch("/register", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({
      redirect_uris: [REDIRECT_URI], client_name: "bench", token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
    }),
  });
  if (res.status !== 201) throw new Error(`peer /register: ${res.status} ${await res.text()}`);
  const client = await res.json();
  const mint = peerCodeMinter(peer, client);
  return { client, mint, tokens: async () => tokensFrom(peer, client, await mint()) };
}

/** bench/bare-grant: codes from its own grant ids. */
function setUpFloor(floor) {
  const mint = floorCodeMinter(floor);
  return { client: FLOOR_CLIENT, mint, tokens: async () => tokensFrom(floor, FLOOR_CLIENT, await mint()) };
}

async function tokensFrom(server, client, code) {
  const res = await server.fetch("/token", { method: "POST", ...codeTokenRequest(client)(code) });
  if (res.status !== 200) throw new Error(`${server.url} token: ${res.status} ${await res.text()}`);
  return res.json();
}

/** bench/bare-authorize's KV: its client, a live session and the consent, as ours has them. */
async function setUpFloorAuthorize(floor, scope) {
  const kv = await floor.mf.getKVNamespace("KV");
  const cookie = randomBytes(32).toString("base64url");
  await kv.put("client:bench", JSON.stringify({ redirect_uris: [REDIRECT_URI] }));
  await kv.put(sessionKey(cookie), JSON.stringify({ sub: "bench-user", expires_at: Date.now() + 86400e3 }));
  await kv.put("consent:bench-user:bench", JSON.stringify({ scopes: scope.split(" ") }));
  return { cookie: `sid=${cookie}` };
}

// ---------------------------------------------------------------- contenders

/** A fixed request (GET, or POST with a body). */
const fixed = (method, p, headers = {}, body) => () => [{ method, path: p, headers, ...(body ? { body } : {}) }];
const bareOf = (bare) => timed("bare", bare, { requests: fixed("GET", "/"), scenario: "bare GET /" });
const basicForm = (client) => ({ "content-type": FORM, authorization: basicAuth(client) });
const ccRequest = (client) => fixed("POST", "/token", basicForm(client), "grant_type=client_credentials&scope=api");

/**
 * Refresh rotation: each connection follows its own chain, seeded before
 * each run with its own refresh token (`seed()`, a code exchange), and
 * sends the token the previous answer returned. Every run gets fresh
 * chains: a run ends with requests in flight whose answers are never
 * read, and sending the superseded token again would (rightly) revoke the grant.
 */
function chains(name, server, { seed, client, path }) {
  let pool = [];
  const step = refreshChainStep(() => pool.pop(), basicForm(client), path);
  return timed(name, server, {
    requests: () => [step],
    setupClient: keepContext,
    before: async () => { pool = await Promise.all(Array.from({ length: CONNECTIONS }, async () => (await seed()).refresh_token)); },
  });
}

// ---------------------------------------------------------------- the run

// BENCH_ONLY=client_credentials,userinfo: only the groups whose names
// contain one of these, no per-algorithm groups and no sign-in CPU; for
// a quick look while working on one path. Its results go to
// bench/results-partial.json, never over a whole run's.
const ONLY = (process.env.BENCH_ONLY ?? "").split(",").filter(Boolean);
const wanted = (name) => !ONLY.length || ONLY.some((o) => name.includes(o));

/**
 * Every comparison in turn; returns the groups and the ratios to report.
 * Besides ours/peer and ours/floor, floor/peer: the most any implementation
 * with our storage could reach against the peer, so a target above it is
 * out of reach of faster code alone.
 */
async function measureAll(s) {
  const ours = await setUpOurs(s.ours);
  const peer = await setUpPeer(s.peer);
  const floor = setUpFloor(s.bareGrant);
  const groups = [];
  const ratios = [];
  const group = async (name, contenders, pairs, rounds) => {
    if (!wanted(name)) return null;
    const g = await compare(name, contenders, rounds);
    groups.push(g);
    for (const [a, b] of pairs) ratios.push(ratio(g, a, b));
    return g;
  };
  const bare = bareOf(s.bare);

  await group("discovery & JWKS", [
    timed("ours discovery", s.ours, { requests: fixed("GET", "/.well-known/openid-configuration"), scenario: "discovery" }),
    timed("peer discovery", s.peer, { requests: fixed("GET", "/.well-known/oauth-authorization-server"), scenario: "discovery" }),
    timed("ours jwks", s.ours, { requests: fixed("GET", "/jwks.json"), scenario: "jwks" }),
    bare,
  ], [["ours discovery", "peer discovery"], ["ours jwks", "peer discovery"]]);

  // The peer has no client_credentials grant.
  const cc = await registerClient(s.ours, { grant_types: ["client_credentials"], token_endpoint_auth_method: "client_secret_basic", scope: "api" });
  await group("client_credentials", [
    timed("ours", s.ours, { requests: ccRequest(cc) }),
    timed("floor", s.bareToken, { requests: fixed("POST", "/", basicForm(FLOOR_CLIENT), "grant_type=client_credentials&scope=api") }),
    // Into our wasm and out again, doing nothing (405 from the router): what
    // every request of ours pays that a JavaScript worker does not. Its
    // CPU less the bare worker's is the part of each ours/floor gap that
    // no work inside the wasm can close.
    timed("ours entry", s.ours, { requests: fixed("GET", "/token"), scenario: "GET /token (405)", expect: (status) => status === 405 }),
    bare,
  ], [["ours", "floor"], ["ours entry", "bare"]]);

  await group("authorization code exchange", [
    pooled("ours", s.ours, { mint: ours.mint, tokenRequest: codeTokenRequest(ours.client) }),
    pooled("peer", s.peer, { mint: peer.mint, tokenRequest: codeTokenRequest(peer.client) }),
    pooled("floor", s.bareGrant, { mint: floor.mint, tokenRequest: codeTokenRequest(FLOOR_CLIENT) }),
    bare,
  ], [["ours", "peer"], ["ours", "floor"], ["floor", "peer"]]);

  await group("refresh rotation", [
    chains("ours", s.ours, { seed: ours.tokens, client: ours.client }),
    chains("peer", s.peer, { seed: peer.tokens, client: peer.client }),
    chains("floor", s.bareGrant, { seed: floor.tokens, client: FLOOR_CLIENT }),
    // Ours also signs an ID token (RS256 for this client) on every refresh: this says what that costs.
    chains("floor + id_token", s.bareGrant, { seed: floor.tokens, client: FLOOR_CLIENT, path: "/token/id_token" }),
    bare,
  ], [["ours", "peer"], ["ours", "floor"], ["ours", "floor + id_token"], ["floor", "peer"], ["floor + id_token", "peer"]]);

  const bearer = async (tokens) => ({ authorization: `Bearer ${(await tokens()).access_token}` });
  await group("userinfo", [
    timed("ours", s.ours, { requests: fixed("GET", "/userinfo", await bearer(ours.tokens)) }),
    // The peer's protected API route returning the grant's props: the closest it has.
    timed("peer", s.peer, { requests: fixed("GET", "/api/userinfo", await bearer(peer.tokens)) }),
    timed("floor", s.bareGrant, { requests: fixed("GET", "/userinfo", await bearer(floor.tokens)) }),
    bare,
  ], [["ours", "peer"], ["ours", "floor"], ["floor", "peer"]]);

  const oursAuthorize = authParams(ours.client).params;
  const floorAuthorize = authParams(FLOOR_CLIENT).params;
  const floorSession = await setUpFloorAuthorize(s.bareAuthorize, floorAuthorize.scope);
  // A 302 with a code: an error goes back to the client as a 302 too.
  const redirected = (status, headers) => status === 302 && /[?&]code=/.test(header(headers, "location") ?? "");
  await group("/authorize (live session, remembered consent)", [
    timed("ours", s.ours, { requests: () => [authorizeStep(oursAuthorize, { cookie: ours.jar.header() })], expect: redirected }),
    timed("peer", s.peer, { requests: () => [authorizeStep(authParams(peer.client).params)], expect: redirected }),
    timed("floor", s.bareAuthorize, { requests: () => [authorizeStep(floorAuthorize, floorSession)], expect: redirected }),
    bare,
  ], [["ours", "peer"], ["ours", "floor"], ["floor", "peer"]]);

  // For scale: one Durable Object call with one storage write and nothing else.
  await group("one Durable Object call", [
    timed("bare-do", s.bareDo, { requests: fixed("GET", "/"), scenario: "bare + 1 DO write" }),
    timed("bare-do new", s.bareDo, { requests: fixed("GET", "/new"), scenario: "bare + 1 new DO write" }),
    bare,
  ], []);

  // CPU per token request by signing algorithm (no ratios: each one's CPU less the bare worker's).
  if (ONLY.length) return { groups, ratios };
  const byIdTokenAlg = [];
  for (const alg of ALGS) {
    const client = await registerClient(s.ours, { id_token_signed_response_alg: alg });
    await obtainCode(s.ours, client, ours.user, { jar: ours.jar }); // consent for this client
    byIdTokenAlg.push(pooled(alg, s.ours, { mint: codeMinter(s.ours, ours.jar, client), tokenRequest: codeTokenRequest(client) }));
  }
  await group("code exchange by id_token alg", byIdTokenAlg, [], ALG_ROUNDS);
  const byAccessAlg = [];
  for (const alg of ALGS) {
    const inst = s.oursByAlg[alg];
    const c = await registerClient(inst, { grant_types: ["client_credentials"], token_endpoint_auth_method: "client_secret_basic", scope: "api" });
    byAccessAlg.push(timed(alg, inst, { requests: ccRequest(c) }));
  }
  await group("client_credentials by access token alg", byAccessAlg, [], ALG_ROUNDS);
  return { groups, ratios };
}

async function main() {
  const started = Date.now();
  process.env.TMPDIR = STORAGE_DIR;
  const servers = [];
  const stopAll = () => Promise.allSettled(servers.map((s) => s.stop()));
  process.on("SIGINT", () => stopAll().then(() => process.exit(130)));
  let measured;
  try {
    measured = await measureAll(await startAll(servers));
  } finally {
    await stopAll();
  }
  if (ONLY.length) {
    report({ ...measured, startedAt: started, algs: ALGS, partial: true });
    return;
  }
  // The CPU of one sign-in (its own workers, one at a time, with nothing else running).
  const signInCpu = await measureSignIns(log);
  report({ ...measured, signInCpu, startedAt: started, algs: ALGS });
}

main().catch((e) => {
  console.error("bench: FAILED:", e);
  process.exit(1);
});
