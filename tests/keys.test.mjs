// Signing keys (RFC 7517): the published JWK set, forced and scheduled
// rotation (the previous keys stay published), tokens that still verify
// after a rotation, and keys supplied through the SIGNING_KEYS secret.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { registerClient, basicAuth, form, decodeJwt, authorize, authParams, submit, Jar } from "./flow.mjs";

const ALGS = ["ES256", "EdDSA", "RS256"];
const PRIVATE = ["d", "p", "q", "dp", "dq", "qi", "oth"];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** GET /jwks.json: asserts a well-formed public JWK set, returns its keys. */
async function jwks(worker) {
  const res = await worker.fetch("/jwks.json");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json\b/);
  assert.match(res.headers.get("cache-control") ?? "", /max-age=\d+/);
  const { keys } = await res.json();
  assert.ok(Array.isArray(keys) && keys.length >= 3);
  for (const k of keys) {
    assert.equal(typeof k.kid, "string", JSON.stringify(k));
    assert.ok(k.kid.length > 0);
    assert.ok(ALGS.includes(k.alg), k.alg);
    assert.equal(k.use, "sig");
    for (const m of PRIVATE) assert.equal(k[m], undefined, `private member ${m} published in ${k.kid}`);
  }
  assert.equal(new Set(keys.map((k) => k.kid)).size, keys.length, "kids are unique");
  return keys;
}

const kids = (keys) => keys.map((k) => k.kid).sort();
const algsOf = (keys) => keys.map((k) => k.alg).sort();

const rotate = (worker, headers = { authorization: `Bearer ${ADMIN_TOKEN}` }) =>
  worker.fetch("/admin/keys/rotate", { method: "POST", headers });

/** An access token from the client credentials grant (a fresh client each time). */
async function accessToken(worker) {
  const client = await registerClient(worker, {
    grant_types: ["client_credentials"], token_endpoint_auth_method: "client_secret_basic", scope: "api", redirect_uris: [],
  });
  const res = await worker.fetch("/token", form({ grant_type: "client_credentials" }, { authorization: basicAuth(client) }));
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return { client, token: JSON.parse(text).access_token };
}

const IMPORT = {
  RS256: [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
  ES256: [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
  EdDSA: [{ name: "Ed25519" }, { name: "Ed25519" }],
};

/** Verifies a compact JWS against a JWK set with WebCrypto; returns the key used. */
async function verifyJwt(jwt, keys) {
  const { header } = decodeJwt(jwt);
  const jwk = keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} is not published`);
  assert.equal(jwk.alg, header.alg);
  const [imp, op] = IMPORT[header.alg];
  const key = await crypto.subtle.importKey("jwk", jwk, imp, false, ["verify"]);
  const [h, p, s] = jwt.split(".");
  const ok = await crypto.subtle.verify(op, key, Buffer.from(s, "base64url"), Buffer.from(`${h}.${p}`));
  assert.ok(ok, `signature of a ${header.alg} token does not verify with ${jwk.kid}`);
  return jwk;
}

/** RFC 7638 thumbprint of a JWK. */
function thumbprint(jwk) {
  const members = { RSA: ["e", "kty", "n"], EC: ["crv", "kty", "x", "y"], OKP: ["crv", "kty", "x"] }[jwk.kty];
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
  return createHash("sha256").update(canonical).digest("base64url");
}

async function expect401(res, error) {
  assert.equal(res.status, 401);
  assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer\b/);
  const body = await res.json();
  assert.equal(body.error, error);
  assert.equal(typeof body.error_description, "string");
}

let worker;
before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

test("/jwks.json: one public key per algorithm, stable across calls", async () => {
  const first = await jwks(worker);
  assert.deepEqual(algsOf(first), ALGS.slice().sort());
  const byAlg = Object.fromEntries(first.map((k) => [k.alg, k]));
  assert.equal(byAlg.RS256.kty, "RSA");
  assert.ok(byAlg.RS256.n && byAlg.RS256.e);
  assert.equal(byAlg.ES256.kty, "EC");
  assert.equal(byAlg.ES256.crv, "P-256");
  assert.equal(byAlg.EdDSA.kty, "OKP");
  assert.equal(byAlg.EdDSA.crv, "Ed25519");
  for (let i = 0; i < 3; i++) assert.deepEqual(kids(await jwks(worker)), kids(first));
  // Trailing slash variant: same set.
  const res = await worker.fetch("/jwks.json/");
  assert.equal(res.status, 200);
  assert.deepEqual(kids((await res.json()).keys), kids(first));
});

test("POST /admin/keys/rotate needs the admin token", async () => {
  await expect401(await rotate(worker, {}), "invalid_request");
  await expect401(await rotate(worker, { authorization: "Bearer not-the-admin-token" }), "invalid_token");
  const get = await worker.fetch("/admin/keys/rotate");
  assert.equal(get.status, 405);
  assert.equal((await get.json()).error, "method_not_allowed");
});

test("scheduled forced rotation publishes new keys and keeps the previous ones; older tokens still verify", async () => {
  const { client, token } = await accessToken(worker);
  assert.equal(decodeJwt(token).header.alg, "ES256", "access tokens are ES256 by default");
  const before = await jwks(worker);
  await verifyJwt(token, before);

  const res = await rotate(worker);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const { signing_keys } = await res.json();
  assert.deepEqual(algsOf(signing_keys), ALGS.slice().sort());
  for (const k of signing_keys) assert.ok(!kids(before).includes(k.kid), `${k.alg} key was not replaced`);

  const afterKeys = await jwks(worker);
  assert.equal(afterKeys.length, 6);
  for (const kid of [...kids(before), ...kids(signing_keys)]) assert.ok(kids(afterKeys).includes(kid), kid);
  // The token signed before rotation verifies against what is published now…
  await verifyJwt(token, afterKeys);
  // …and the provider itself still accepts it.
  const intro = await worker.fetch("/introspect", form({ token }, { authorization: basicAuth(client) }));
  assert.equal(intro.status, 200);
  assert.equal((await intro.json()).active, true);
  // New tokens are signed with the new key.
  const fresh = await accessToken(worker);
  const used = await verifyJwt(fresh.token, afterKeys);
  assert.equal(used.kid, signing_keys.find((k) => k.alg === "ES256").kid);
});

test("rotation for a suspected compromise unpublishes the old keys at once, refuses their tokens and open forms", async () => {
  const w = await startWorker();
  try {
    const { client, token } = await accessToken(w);
    const before = await jwks(w);
    const intro = () => w.fetch("/introspect", form({ token }, { authorization: basicAuth(client) }));
    assert.equal((await (await intro()).json()).active, true);
    // A login form opened before the rotation.
    const rp = await registerClient(w);
    const jar = new Jar();
    const login = await (await authorize(w, jar, authParams(rp).params)).text();

    const res = await w.fetch("/admin/keys/rotate", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ reason: "compromise" }),
    });
    assert.equal(res.status, 200);
    const { signing_keys } = await res.json();
    const after = await jwks(w);
    assert.deepEqual(kids(after), kids(signing_keys), "only the new keys are published");
    for (const kid of kids(before)) assert.ok(!kids(after).includes(kid), `${kid} still published`);
    assert.deepEqual(await (await intro()).json(), { active: false }, "a token signed by a withdrawn key");
    const posted = await submit(w, jar, login, { username: "anyone", password: "whatever it is" });
    assert.equal(posted.status, 400, "the form secret was replaced");
    // New tokens are signed with, and verify against, the new keys.
    await verifyJwt((await accessToken(w)).token, after);
  } finally {
    await w.stop();
  }
});

test("rotate: a reason other than scheduled or compromise, or a body that is not JSON, is refused", async () => {
  const post = (body, type = "application/json") => worker.fetch("/admin/keys/rotate", {
    method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(type ? { "content-type": type } : {}) }, body,
  });
  const bad = await post(JSON.stringify({ reason: "because" }));
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error, "invalid_request");
  assert.equal((await post("reason=compromise", "application/x-www-form-urlencoded")).status, 415);
  assert.equal((await post("compromise", null)).status, 415);
  const scheduled = await post(JSON.stringify({ reason: "scheduled" }));
  assert.equal(scheduled.status, 200);
});

test("scheduled rotation (KEY_ROTATION_INTERVAL=2): new kids after ~3 s, old ones still published", async () => {
  const w = await startWorker({ vars: { KEY_ROTATION_INTERVAL: "2" } });
  try {
    const { token } = await accessToken(w);
    const first = await jwks(w);
    assert.equal(first.length, 3);
    await sleep(3100);
    const second = await jwks(w);
    const added = second.filter((k) => !kids(first).includes(k.kid));
    assert.deepEqual(algsOf(added), ALGS.slice().sort(), "one new key per algorithm");
    for (const kid of kids(first)) assert.ok(kids(second).includes(kid), `retired ${kid} still published`);
    await verifyJwt(token, second);
    // New tokens use a new key.
    const fresh = await accessToken(w);
    const used = await verifyJwt(fresh.token, second);
    assert.ok(!kids(first).includes(used.kid));
  } finally {
    await w.stop();
  }
});

test("a retired key is dropped once nothing it signed can be valid (TTLs 1 s, interval 2 s)", async () => {
  // Retired keys stay max(ACCESS_TOKEN_TTL, ID_TOKEN_TTL) + cache TTL (min(300, 2/2)) = 2 s.
  const w = await startWorker({ vars: { KEY_ROTATION_INTERVAL: "2", ACCESS_TOKEN_TTL: "1", ID_TOKEN_TTL: "1" } });
  try {
    const first = await jwks(w);
    const res = await rotate(w);
    assert.equal(res.status, 200);
    const rotated = (await res.json()).signing_keys;
    assert.equal((await jwks(w)).length, 6, "right after rotation both generations are published");
    await sleep(3100);
    const later = await jwks(w);
    for (const kid of kids(first)) assert.ok(!kids(later).includes(kid), `${kid} should have been pruned`);
    for (const kid of kids(rotated)) assert.ok(kids(later).includes(kid), `${kid} (retired < 2 s ago or current) still published`);
  } finally {
    await w.stop();
  }
});

test("access tokens in every algorithm verify against the published keys", async () => {
  for (const alg of ["RS256", "EdDSA"]) {
    const w = await startWorker({ vars: { ACCESS_TOKEN_SIGNING_ALG: alg } });
    try {
      const { token } = await accessToken(w);
      assert.equal(decodeJwt(token).header.alg, alg);
      await verifyJwt(token, await jwks(w));
    } finally {
      await w.stop();
    }
  }
});

/** A private JWK set: RSA 2048, P-256, Ed25519 (from node's crypto). */
function privateJwkSet() {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const ed = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  return [rsa, { ...ec, kid: "my-ec-key" }, ed];
}

const publicPart = (jwk) => {
  const members = { RSA: ["kty", "n", "e"], EC: ["kty", "crv", "x", "y"], OKP: ["kty", "crv", "x"] }[jwk.kty];
  return Object.fromEntries(members.map((m) => [m, jwk[m]]));
};

test("SIGNING_KEYS: exactly those public keys are published, tokens use them, rotate answers 409", async () => {
  const secret = privateJwkSet();
  const w = await startWorker({ vars: { SIGNING_KEYS: JSON.stringify({ keys: secret }) } });
  try {
    const keys = await jwks(w);
    assert.equal(keys.length, 3);
    const expected = [
      { ...publicPart(secret[0]), kid: thumbprint(secret[0]), alg: "RS256", use: "sig" },
      { ...publicPart(secret[1]), kid: "my-ec-key", alg: "ES256", use: "sig" },
      { ...publicPart(secret[2]), kid: thumbprint(secret[2]), alg: "EdDSA", use: "sig" },
    ];
    const byKid = (a) => [...a].sort((x, y) => x.kid.localeCompare(y.kid));
    assert.deepEqual(byKid(keys), byKid(expected));

    const { token } = await accessToken(w);
    const used = await verifyJwt(token, expected);
    assert.equal(used.kid, "my-ec-key");

    const res = await rotate(w);
    assert.equal(res.status, 409);
    assert.equal((await res.json()).error, "invalid_request");
    assert.deepEqual(kids(await jwks(w)), kids(keys), "nothing changed");
    await expect401(await rotate(w, {}), "invalid_request");
  } finally {
    await w.stop();
  }
});
