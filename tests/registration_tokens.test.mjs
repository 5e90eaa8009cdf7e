// Registration tokens: initial access tokens for POST /register (RFC 7591 §3)
// that the admin mints at /admin/registration-tokens, apart from ADMIN_TOKEN:
// minting and its limits, exactly max_uses registrations under concurrency,
// expiry, revocation, the grant types and scopes a token allows, and that
// invalid metadata spends no use.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { eventually } from "./lifecycle.mjs";

const CB = "https://app.example/cb";
const ADMIN = `Bearer ${ADMIN_TOKEN}`;

let worker;
before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

const send = (method, path, body, auth) => worker.fetch(path, {
  method,
  headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
const register = (token, metadata) => send("POST", "/register", { redirect_uris: [CB], ...metadata }, `Bearer ${token}`);

async function answer(res, status) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get("cache-control"), "no-store");
  return text ? JSON.parse(text) : undefined;
}

async function expectError(res, status, error) {
  const body = await answer(res, status);
  assert.equal(body.error, error, JSON.stringify(body));
  return res;
}

/** RFC 6750 §3: 401 invalid_token with a Bearer challenge. */
async function expectBadToken(res) {
  await expectError(res, 401, "invalid_token");
  assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer .*error="invalid_token"/);
}

async function mint(terms = {}) {
  return answer(await send("POST", "/admin/registration-tokens", terms, ADMIN), 201);
}

test("minting: 201 with the token shown once, its id and its terms (defaults)", async () => {
  const t0 = Math.floor(Date.now() / 1000);
  const t = await mint({});
  assert.match(t.id, /^[A-Za-z0-9_-]{22}$/);
  assert.ok(t.token.startsWith(`${t.id}.`));
  assert.ok(t.token.length > t.id.length + 40, "a 256-bit secret");
  assert.ok(t.expires_at >= t0 + 86_400 && t.expires_at <= t0 + 86_400 + 5);
  assert.equal(t.max_uses, 1);
  assert.deepEqual(t.grant_types, ["authorization_code", "refresh_token"]);
  assert.equal(t.scope, undefined);
  const other = await mint({ expires_in: 60, max_uses: 5, grant_types: ["client_credentials"], scope: "api:read" });
  assert.notEqual(other.id, t.id);
  assert.deepEqual([other.max_uses, other.grant_types, other.scope], [5, ["client_credentials"], "api:read"]);
});

test("minting needs the admin token and sensible terms", async () => {
  const body = { max_uses: 1 };
  await expectError(await send("POST", "/admin/registration-tokens", body), 401, "invalid_request");
  await expectBadToken(await send("POST", "/admin/registration-tokens", body, "Bearer wrong"));
  const t = await mint();
  await expectBadToken(await send("POST", "/admin/registration-tokens", body, `Bearer ${t.token}`));
  for (const bad of [
    { expires_in: 0 }, { expires_in: 30 * 86_400 + 1 }, { expires_in: "60" }, { max_uses: 0 }, { max_uses: 1001 },
    { grant_types: [] }, { grant_types: ["password"] }, { scope: "a  b" }, { max_use: 3 }, [],
  ]) {
    await expectError(await send("POST", "/admin/registration-tokens", bad, ADMIN), 400, "invalid_request");
  }
  await expectError(await send("GET", "/admin/registration-tokens", undefined, ADMIN), 405, "method_not_allowed");
  await expectError(await send("POST", "/admin/registration-tokens/x", {}, ADMIN), 405, "method_not_allowed");
});

test("a token registers clients until its uses are spent; ADMIN_TOKEN keeps registering", async () => {
  const t = await mint({ max_uses: 2 });
  const c = await answer(await register(t.token, { client_name: "By token" }), 201);
  assert.equal(c.client_name, "By token");
  assert.equal(typeof c.client_secret, "string");
  // The client manages itself with its registration access token, as any other.
  await answer(await send("GET", `/register/${c.client_id}`, undefined, `Bearer ${c.registration_access_token}`), 200);
  await answer(await register(t.token, {}), 201);
  await expectBadToken(await register(t.token, {}));
  await answer(await register(ADMIN_TOKEN, { grant_types: ["client_credentials"], redirect_uris: undefined }), 201);
});

test("of 10 concurrent registrations with max_uses 3, exactly 3 succeed", async () => {
  const t = await mint({ max_uses: 3 });
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => register(t.token, { client_name: `c${i}` })));
  const statuses = answers.map((r) => r.status).sort();
  await Promise.all(answers.map((r) => r.body?.cancel()));
  assert.deepEqual(statuses, [201, 201, 201, 401, 401, 401, 401, 401, 401, 401]);
});

test("the token's grant types and scope bound what its clients may be", async () => {
  const t = await mint({ max_uses: 10, grant_types: ["client_credentials"], scope: "api:read api:write" });
  const svc = { grant_types: ["client_credentials"], redirect_uris: undefined };
  const narrow = await answer(await register(t.token, { ...svc, scope: "api:read" }), 201);
  assert.equal(narrow.scope, "api:read");
  const defaulted = await answer(await register(t.token, svc), 201);
  assert.equal(defaulted.scope, "api:read api:write", "no scope: the token's");
  for (const beyond of [
    { ...svc, scope: "api:read api:admin" },
    { grant_types: ["authorization_code"] },
    { grant_types: ["client_credentials", "authorization_code"] },
    { ...svc, resource_server: true },
  ]) {
    await expectError(await register(t.token, beyond), 400, "invalid_client_metadata");
  }
  // The client so registered works, within its scope.
  const basic = `Basic ${Buffer.from(`${narrow.client_id}:${narrow.client_secret}`).toString("base64")}`;
  const res = await worker.fetch("/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic },
    body: "grant_type=client_credentials",
  });
  assert.equal((await answer(res, 200)).scope, "api:read");

  // A token without scope allows the supported scopes, as a client without scope has.
  const open = await mint({ max_uses: 2 });
  await expectError(await register(open.token, { scope: "openid api:write" }), 400, "invalid_client_metadata");
  assert.equal((await answer(await register(open.token, { scope: "openid email" }), 201)).scope, "openid email");
});

test("invalid metadata spends no use; a bad token answers 401 whatever the metadata", async () => {
  const t = await mint({ max_uses: 1, grant_types: ["authorization_code"] });
  await expectError(await register(t.token, { redirect_uris: ["http://app.example/cb"] }), 400, "invalid_redirect_uri");
  await expectError(await register(t.token, { grant_types: ["password"] }), 400, "invalid_client_metadata");
  await expectError(await register(t.token, { grant_types: ["authorization_code", "refresh_token"] }), 400, "invalid_client_metadata");
  await expectError(await register(t.token, { resource_server: true }), 400, "invalid_client_metadata");
  const broken = await worker.fetch("/register", {
    method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t.token}` }, body: "{",
  });
  await expectError(broken, 400, "invalid_request");
  // The wrong secret for a real id, or a made-up id: 401, and nothing spent.
  await expectBadToken(await register(`${t.id}.${"A".repeat(43)}`, {}));
  await expectBadToken(await register(`${"B".repeat(22)}.${"A".repeat(43)}`, {}));
  await expectBadToken(await register(`${t.id}.${"A".repeat(43)}`, { redirect_uris: ["http://app.example/cb"] }));
  await answer(await register(t.token, {}), 201);
  // Used up: 401 even for invalid metadata.
  await expectBadToken(await register(t.token, { redirect_uris: ["http://app.example/cb"] }));
});

test("an expired token answers 401 invalid_token", async () => {
  const t = await mint({ expires_in: 1, max_uses: 1 });
  // Invalid metadata answers 400 while the token is valid and spends nothing.
  const expired = await eventually(async () => {
    const res = await register(t.token, { grant_types: ["password"] });
    await res.body?.cancel();
    return res.status === 401;
  }, 5_000);
  assert.ok(expired, "the token never expired");
  await expectBadToken(await register(t.token, {}));
  // Its object's alarm then deletes its storage: the token is unknown.
  const gone = await eventually(async () => {
    const res = await send("DELETE", `/admin/registration-tokens/${t.id}`, undefined, ADMIN);
    await res.body?.cancel();
    return res.status === 404;
  }, 10_000);
  assert.ok(gone, "the expired token's storage was never deleted");
});

test("revocation: DELETE /admin/registration-tokens/{id}", async () => {
  const t = await mint({ max_uses: 5 });
  await answer(await register(t.token, {}), 201);
  await expectError(await send("DELETE", `/admin/registration-tokens/${t.id}`), 401, "invalid_request");
  await expectBadToken(await send("DELETE", `/admin/registration-tokens/${t.id}`, undefined, `Bearer ${t.token}`));
  await answer(await send("DELETE", `/admin/registration-tokens/${t.id}`, undefined, ADMIN), 204);
  await expectBadToken(await register(t.token, {}));
  for (const id of ["B".repeat(22), "a%2Fb", "x".repeat(600)]) {
    await expectError(await send("DELETE", `/admin/registration-tokens/${id}`, undefined, ADMIN), 404, "not_found");
  }
});
