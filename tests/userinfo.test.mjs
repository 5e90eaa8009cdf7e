// The userinfo endpoint (OIDC Core §5.3) as a protected resource (RFC
// 6750): the three ways to send a token, the 401 challenges, expiry, ID
// tokens refused as access tokens, and the claims each scope releases.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startWorker } from "./helpers.mjs";
import { registerClient, createUser, obtainCode, exchange, form } from "./flow.mjs";

const CLAIMS = {
  name: "Erin Example", given_name: "Erin", family_name: "Example", preferred_username: "erin",
  email_verified: true, address: { locality: "Lyon", country: "FR" },
  phone_number: "+33 1 23 45 67 89", phone_number_verified: false,
};

let worker, client, user, tokens;
before(async () => {
  worker = await startWorker();
  client = await registerClient(worker);
  user = await createUser(worker, "info-erin", CLAIMS);
  tokens = await exchange(worker, client, await obtainCode(worker, client, user, {
    overrides: { scope: "openid profile email address phone" },
  }));
});
after(async () => { await worker?.stop(); });

const bearer = (t) => ({ authorization: `Bearer ${t}` });
const ALL = {
  sub: undefined, ...CLAIMS, email: "info-erin@example.com",
};

async function assertClaims(res, expected, what) {
  const text = await res.text();
  assert.equal(res.status, 200, `${what}: ${text}`);
  assert.match(res.headers.get("content-type"), /^application\/json/);
  assert.equal(res.headers.get("cache-control"), "no-store", `${what}: no-store`);
  assert.deepEqual(JSON.parse(text), expected, what);
}

test("the token as Bearer header (GET and POST), form body, or query", async () => {
  const expected = { ...ALL, sub: user.sub };
  const at = tokens.access_token;
  await assertClaims(await worker.fetch("/userinfo", { headers: bearer(at) }), expected, "GET header");
  await assertClaims(await worker.fetch("/userinfo", { method: "POST", headers: bearer(at) }), expected, "POST header");
  await assertClaims(await worker.fetch("/userinfo", form({ access_token: at })), expected, "form body");
  await assertClaims(await worker.fetch(`/userinfo?access_token=${encodeURIComponent(at)}`), expected, "query");
  await assertClaims(await worker.fetch("/userinfo", { headers: { authorization: `bearer ${at}` } }), expected, "scheme is case-insensitive");
  await assertClaims(await worker.fetch("/userinfo/", { headers: bearer(at) }), expected, "/userinfo/");
  await assertClaims(await worker.fetch(`/userinfo/?access_token=${encodeURIComponent(at)}`), expected, "/userinfo/ query");
});

test("a token sent two ways at once is invalid_request (RFC 6750 §2)", async () => {
  const at = tokens.access_token;
  const q = `?access_token=${encodeURIComponent(at)}`;
  for (const [what, path, init] of [
    ["header + query", `/userinfo${q}`, { headers: bearer(at) }],
    ["header + body", "/userinfo", form({ access_token: at }, bearer(at))],
    ["body + query", `/userinfo${q}`, form({ access_token: at })],
  ]) {
    const res = await worker.fetch(path, init);
    assert.equal(res.status, 400, what);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="[^"]+", error="invalid_request"/, what);
    assert.equal((await res.json()).error, "invalid_request", what);
  }
});

test("no token: 401 with a bare Bearer challenge", async () => {
  for (const [what, init] of [["GET", {}], ["POST", { method: "POST" }], ["empty form", form({})]]) {
    const res = await worker.fetch("/userinfo", init);
    assert.equal(res.status, 401, what);
    const www = res.headers.get("www-authenticate");
    assert.match(www ?? "", /^Bearer realm="[^"]+"$/, `${what}: ${www}`);
  }
});

test("garbage, tampered, ID and foreign tokens: 401 invalid_token", async () => {
  const [h, p, s] = tokens.access_token.split(".");
  const payload = JSON.parse(Buffer.from(p, "base64url"));
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: "someone-else" })).toString("base64url")}.${s}`;
  const other = await startWorker();
  let foreign;
  try {
    const c = await registerClient(other);
    const u = await createUser(other, "info-erin", CLAIMS);
    foreign = (await exchange(other, c, await obtainCode(other, c, u))).access_token;
  } finally { await other.stop(); }
  for (const [what, t] of [
    ["garbage", "not-a-token"],
    ["three dots of nothing", ".."],
    ["tampered payload", forged],
    ["signature stripped", `${h}.${p}.`],
    ["ID token as access token", tokens.id_token],
    ["another server's token", foreign],
  ]) {
    const res = await worker.fetch("/userinfo", { headers: bearer(t) });
    assert.equal(res.status, 401, what);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="[^"]+", error="invalid_token"/, what);
    assert.equal((await res.json()).error, "invalid_token", what);
  }
});

test("an expired access token: 401 invalid_token (ACCESS_TOKEN_TTL)", async () => {
  // 2 s, not 1: times are whole seconds, so a 1 s token issued late in one
  // second has expired at the next, before the first check below can run.
  const w = await startWorker({ vars: { ACCESS_TOKEN_TTL: "2" } });
  try {
    const c = await registerClient(w);
    const u = await createUser(w, "ttl-frank");
    const t = await exchange(w, c, await obtainCode(w, c, u));
    assert.equal(t.expires_in, 2);
    // Verified once while valid (the isolate remembers verified tokens): expiry still counts.
    assert.equal((await w.fetch("/userinfo", { headers: bearer(t.access_token) })).status, 200);
    await sleep(3100);
    const res = await w.fetch("/userinfo", { headers: bearer(t.access_token) });
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
  } finally { await w.stop(); }
});

test("claims follow the granted scopes (OIDC Core §5.4)", async () => {
  const cases = [
    ["openid", { sub: user.sub }],
    ["openid email", { sub: user.sub, email: "info-erin@example.com", email_verified: true }],
    ["openid profile", { sub: user.sub, name: CLAIMS.name, given_name: "Erin", family_name: "Example", preferred_username: "erin" }],
    ["openid address", { sub: user.sub, address: CLAIMS.address }],
    ["openid phone", { sub: user.sub, phone_number: CLAIMS.phone_number, phone_number_verified: false }],
  ];
  for (const [scope, expected] of cases) {
    const t = await exchange(worker, client, await obtainCode(worker, client, user, { overrides: { scope } }));
    await assertClaims(await worker.fetch("/userinfo", { headers: bearer(t.access_token) }), expected, scope);
  }
});

test("a token without the openid scope: 403 insufficient_scope", async () => {
  const t = await exchange(worker, client, await obtainCode(worker, client, user, { overrides: { scope: "email" } }));
  assert.equal(t.id_token, undefined, "no ID token without openid");
  const res = await worker.fetch("/userinfo", { headers: bearer(t.access_token) });
  assert.equal(res.status, 403);
  assert.equal((await res.json()).error, "insufficient_scope");
  assert.match(res.headers.get("www-authenticate") ?? "", /error="insufficient_scope"/);
});
