// Dynamic client registration (RFC 7591) and client configuration (RFC 7592):
// what a registration returns, every validation error with its code, who may
// register, and GET/PUT/DELETE /register/{client_id}.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";

const CB = "https://app.example/cb";
const ADMIN = `Bearer ${ADMIN_TOKEN}`;

const send = (worker, method, path, body, auth = ADMIN) => worker.fetch(path, {
  method,
  headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
  ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
});
const register = (worker, body, auth) => send(worker, "POST", "/register", body, auth);
const manage = (worker, method, clientId, auth, body) => send(worker, method, `/register/${clientId}`, body, auth);

/** Reads a JSON answer, asserting its status and the no-store headers. */
async function answer(res, status) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json\b/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  return JSON.parse(text);
}

async function expectError(res, status, error) {
  const body = await answer(res, status);
  assert.equal(body.error, error, JSON.stringify(body));
  assert.equal(typeof body.error_description, "string");
  assert.deepEqual(Object.keys(body).sort(), ["error", "error_description"]);
  return res;
}

/** 401 with a Bearer challenge; `invalid_token` only when a token was sent. */
async function expect401(res, tokenSent) {
  await expectError(res, 401, tokenSent ? "invalid_token" : "invalid_request");
  const challenge = res.headers.get("www-authenticate") ?? "";
  assert.match(challenge, /^Bearer\b/);
  if (tokenSent) assert.match(challenge, /error="invalid_token"/);
  else assert.doesNotMatch(challenge, /error=/);
}

async function created(worker, metadata) {
  return answer(await register(worker, { redirect_uris: [CB], ...metadata }), 201);
}

let worker;
before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

test("confidential client: 201 with id, secret, registration token and metadata echoed", async () => {
  const t0 = Math.floor(Date.now() / 1000);
  const metadata = {
    redirect_uris: [CB, "http://127.0.0.1:8080/cb"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_post",
    client_name: "My App",
    scope: "openid email",
    id_token_signed_response_alg: "ES256",
    contacts: ["ops@app.example"],
    post_logout_redirect_uris: ["https://app.example/bye"],
    software_id: "ignored: unknown metadata is dropped",
  };
  const c = await answer(await register(worker, metadata), 201);
  assert.equal(typeof c.client_id, "string");
  assert.ok(c.client_id.length > 0);
  assert.equal(typeof c.client_secret, "string");
  assert.ok(c.client_secret.length >= 32);
  assert.equal(c.client_secret_expires_at, 0);
  assert.ok(Number.isInteger(c.client_id_issued_at) && c.client_id_issued_at >= t0 - 5);
  assert.equal(typeof c.registration_access_token, "string");
  assert.equal(c.registration_client_uri, `${worker.url}/register/${c.client_id}`);
  for (const [k, v] of Object.entries(metadata)) {
    if (k === "software_id") assert.equal(c[k], undefined);
    else assert.deepEqual(c[k], v, k);
  }
  assert.equal(c.application_type, "web");
});

test("defaults: authorization_code / code / client_secret_basic / RS256", async () => {
  const c = await created(worker, {});
  assert.deepEqual(c.grant_types, ["authorization_code"]);
  assert.deepEqual(c.response_types, ["code"]);
  assert.equal(c.token_endpoint_auth_method, "client_secret_basic");
  assert.equal(c.id_token_signed_response_alg, "RS256");
  assert.equal(typeof c.client_secret, "string");
});

test("public client (none): no secret, no client_secret_expires_at", async () => {
  const c = await created(worker, { token_endpoint_auth_method: "none" });
  assert.equal(c.token_endpoint_auth_method, "none");
  assert.equal(c.client_secret, undefined);
  assert.equal(c.client_secret_expires_at, undefined);
  assert.equal(typeof c.registration_access_token, "string");
});

test("client_credentials client without redirect URIs", async () => {
  const c = await answer(await register(worker, { grant_types: ["client_credentials"], scope: "api" }), 201);
  assert.deepEqual(c.grant_types, ["client_credentials"]);
  assert.deepEqual(c.response_types, []);
  assert.equal(c.redirect_uris, undefined);
  assert.equal(typeof c.client_secret, "string");
});

test("invalid_redirect_uri", async () => {
  const cases = {
    relative: { redirect_uris: ["/cb"] },
    fragment: { redirect_uris: ["https://app.example/cb#x"] },
    "http non-loopback": { redirect_uris: ["http://app.example/cb"] },
    "missing for authorization_code": { redirect_uris: [] },
    "absent for authorization_code": { client_name: "x" },
    userinfo: { redirect_uris: ["https://user:pw@app.example/cb"] },
    "userinfo (name only)": { redirect_uris: ["https://user@app.example/cb"] },
    "bad post_logout_redirect_uri": { redirect_uris: [CB], post_logout_redirect_uris: ["http://evil.example/"] },
  };
  for (const [name, body] of Object.entries(cases)) {
    await expectError(await register(worker, body), 400, "invalid_redirect_uri").catch((e) => {
      e.message = `${name}: ${e.message}`;
      throw e;
    });
  }
});

test("invalid_client_metadata", async () => {
  const cases = {
    "unknown auth method": { token_endpoint_auth_method: "private_key_jwt" },
    "unknown grant type": { grant_types: ["password"] },
    "response type token": { response_types: ["token"] },
    "code without authorization_code": { grant_types: ["client_credentials"], response_types: ["code"] },
    "authorization_code without code": { grant_types: ["authorization_code"], response_types: [] },
    "refresh_token alone": { grant_types: ["refresh_token"] },
    "empty grant types": { grant_types: [], response_types: [] },
    "client_credentials with none": { grant_types: ["client_credentials"], token_endpoint_auth_method: "none" },
    "alg HS256": { id_token_signed_response_alg: "HS256" },
    "alg none": { id_token_signed_response_alg: "none" },
    "scope with a quote": { scope: 'openid "x"' },
    "scope with a backslash": { scope: "open\\id" },
    "scope with double space": { scope: "openid  email" },
    "client_name a number": { client_name: 5 },
    "redirect_uris a string": { redirect_uris: CB },
    "redirect_uris of numbers": { redirect_uris: [1] },
    "grant_types a string": { grant_types: "authorization_code" },
    "auth method a boolean": { token_endpoint_auth_method: true },
    "scope an array": { scope: ["openid"] },
    "contacts a string": { contacts: "ops@app.example" },
    "client_uri not a URL": { client_uri: "not a url" },
  };
  for (const [name, extra] of Object.entries(cases)) {
    await expectError(await register(worker, { redirect_uris: [CB], ...extra }), 400, "invalid_client_metadata")
      .catch((e) => {
        e.message = `${name}: ${e.message}`;
        throw e;
      });
  }
  for (const body of [[], "a string", 42, null, true]) {
    await expectError(await register(worker, JSON.stringify(body)), 400, "invalid_client_metadata");
  }
});

test("POST /register without or with a wrong admin token → 401", async () => {
  await expect401(await register(worker, { redirect_uris: [CB] }, null), false);
  await expect401(await register(worker, { redirect_uris: [CB] }, "Bearer wrong"), true);
  await expect401(await register(worker, { redirect_uris: [CB] }, `Basic ${Buffer.from("a:b").toString("base64")}`), false);
  // A registration access token is not an initial access token.
  const c = await created(worker, {});
  await expect401(await register(worker, { redirect_uris: [CB] }, `Bearer ${c.registration_access_token}`), true);
});

test("GET /register/{id}: each read rotates the registration access token", async () => {
  const c = await created(worker, { client_name: "Reader" });
  const res = await manage(worker, "GET", c.client_id, `Bearer ${c.registration_access_token}`);
  const read = await answer(res, 200);
  assert.equal(read.client_id, c.client_id);
  assert.equal(read.client_name, "Reader");
  assert.equal(read.client_id_issued_at, c.client_id_issued_at);
  assert.equal(read.client_secret, undefined, "the secret is shown once");
  assert.equal(read.client_secret_expires_at, 0);
  assert.equal(read.registration_client_uri, c.registration_client_uri);
  assert.equal(typeof read.registration_access_token, "string");
  assert.notEqual(read.registration_access_token, c.registration_access_token);
  // The old token stops working; the new one works (once).
  await expect401(await manage(worker, "GET", c.client_id, `Bearer ${c.registration_access_token}`), true);
  const again = await answer(await manage(worker, "GET", c.client_id, `Bearer ${read.registration_access_token}`), 200);
  assert.notEqual(again.registration_access_token, read.registration_access_token);
  // Trailing slash variant.
  await answer(await manage(worker, "GET", `${c.client_id}/`, `Bearer ${again.registration_access_token}`), 200);
});

test("GET /register/{id} with the admin token, a wrong token, no token, another client's token", async () => {
  const c = await created(worker, {});
  const other = await created(worker, {});
  const admin = await answer(await manage(worker, "GET", c.client_id, ADMIN), 200);
  assert.equal(admin.client_id, c.client_id);
  assert.equal(typeof admin.registration_access_token, "string");
  await expect401(await manage(worker, "GET", c.client_id, "Bearer wrong"), true);
  await expect401(await manage(worker, "GET", c.client_id, null), false);
  await expect401(await manage(worker, "GET", c.client_id, `Bearer ${other.registration_access_token}`), true);
});

test("unknown client → 401 (not 404), whatever the token", async () => {
  for (const method of ["GET", "PUT", "DELETE"]) {
    const body = method === "PUT" ? { client_id: "nope", redirect_uris: [CB] } : undefined;
    await expect401(await manage(worker, method, "nope", ADMIN, body), true);
    await expect401(await manage(worker, method, "nope", "Bearer wrong", body), true);
    await expect401(await manage(worker, method, "nope", null, body), false);
  }
});

test("PUT /register/{id}: replaces the metadata, must carry client_id, rotates the token", async () => {
  const c = await created(worker, { client_name: "Before", scope: "openid", logo_uri: "https://app.example/logo.png" });
  const auth = `Bearer ${c.registration_access_token}`;
  // Without client_id, or with another one: invalid_request, token unchanged.
  await expectError(await manage(worker, "PUT", c.client_id, auth, { redirect_uris: [CB] }), 400, "invalid_request");
  await expectError(await manage(worker, "PUT", c.client_id, auth, { client_id: "x", redirect_uris: [CB] }), 400, "invalid_request");
  await expectError(await manage(worker, "PUT", c.client_id, auth, { client_id: c.client_id, redirect_uris: [CB], client_secret: "wrong" }), 400, "invalid_request");
  await expectError(await manage(worker, "PUT", c.client_id, auth, { client_id: c.client_id, redirect_uris: ["http://x.example/"] }), 400, "invalid_redirect_uri");
  await expectError(await manage(worker, "PUT", c.client_id, auth, { client_id: c.client_id, redirect_uris: [CB], grant_types: ["password"] }), 400, "invalid_client_metadata");

  const newCb = "https://app.example/other";
  const updated = await answer(await manage(worker, "PUT", c.client_id, auth, {
    client_id: c.client_id, client_secret: c.client_secret, redirect_uris: [newCb], client_name: "After", scope: "openid",
  }), 200);
  assert.equal(updated.client_id, c.client_id);
  assert.deepEqual(updated.redirect_uris, [newCb]);
  assert.equal(updated.client_name, "After");
  assert.equal(updated.logo_uri, undefined, "PUT replaces: omitted fields are cleared");
  assert.equal(updated.client_secret, undefined, "the secret is kept, not re-shown");
  assert.notEqual(updated.registration_access_token, c.registration_access_token);
  await expect401(await manage(worker, "PUT", c.client_id, auth, { client_id: c.client_id, redirect_uris: [CB] }), true);
  const read = await answer(await manage(worker, "GET", c.client_id, `Bearer ${updated.registration_access_token}`), 200);
  assert.equal(read.client_name, "After");

  // Echoing the whole read response back is accepted (server-issued fields ignored).
  const echoed = await answer(await manage(worker, "PUT", c.client_id, `Bearer ${read.registration_access_token}`, read), 200);
  assert.equal(echoed.client_name, "After");
});

test("PUT switching to none drops the secret; switching back issues a new one", async () => {
  const c = await created(worker, {});
  const pub = await answer(await manage(worker, "PUT", c.client_id, ADMIN, {
    client_id: c.client_id, redirect_uris: [CB], token_endpoint_auth_method: "none",
  }), 200);
  assert.equal(pub.token_endpoint_auth_method, "none");
  assert.equal(pub.client_secret, undefined);
  assert.equal(pub.client_secret_expires_at, undefined);
  // The old secret no longer authenticates anything (and cannot be presented in PUT).
  await expectError(await manage(worker, "PUT", c.client_id, ADMIN, {
    client_id: c.client_id, client_secret: c.client_secret, redirect_uris: [CB],
  }), 400, "invalid_request");

  const conf = await answer(await manage(worker, "PUT", c.client_id, ADMIN, {
    client_id: c.client_id, redirect_uris: [CB], token_endpoint_auth_method: "client_secret_basic",
  }), 200);
  assert.equal(typeof conf.client_secret, "string");
  assert.notEqual(conf.client_secret, c.client_secret);
  assert.equal(conf.client_secret_expires_at, 0);
  // The new secret is the one that counts.
  await answer(await manage(worker, "PUT", c.client_id, ADMIN, {
    client_id: c.client_id, client_secret: conf.client_secret, redirect_uris: [CB],
  }), 200);
});

test("a client cannot widen itself (RFC 7592 §2.2): privileged metadata needs the admin token", async () => {
  const c = await created(worker, {
    grant_types: ["authorization_code", "refresh_token"], scope: "openid email", client_name: "Narrow",
  });
  const auth = `Bearer ${c.registration_access_token}`;
  const base = {
    client_id: c.client_id, redirect_uris: [CB], grant_types: ["authorization_code", "refresh_token"],
    scope: "openid email", client_name: "Narrow",
  };
  const widening = {
    "client_credentials added": { grant_types: ["authorization_code", "refresh_token", "client_credentials"] },
    "a grant type dropped": { grant_types: ["authorization_code"] },
    "grant types omitted (reset to the default)": { grant_types: undefined },
    "a scope added": { scope: "openid email phone" },
    "scope omitted (every supported scope)": { scope: undefined },
    "confidential → public": { token_endpoint_auth_method: "none" },
    "resource server": { resource_server: true },
  };
  for (const [name, change] of Object.entries(widening)) {
    const res = await manage(worker, "PUT", c.client_id, auth, { ...base, ...change });
    await expectError(res, 400, "invalid_client_metadata").catch((e) => {
      e.message = `${name}: ${e.message}`;
      throw e;
    });
  }
  // Refusals rotate nothing: the same token still works, and descriptive
  // metadata, redirect URIs and another confidential method are the client's.
  const self = await answer(await manage(worker, "PUT", c.client_id, auth, {
    ...base, redirect_uris: ["https://app.example/new"], client_name: "Renamed", logo_uri: "https://app.example/l.png",
    contacts: ["ops@app.example"], post_logout_redirect_uris: ["https://app.example/bye"],
    token_endpoint_auth_method: "client_secret_post", grant_types: ["refresh_token", "authorization_code"],
  }), 200);
  assert.deepEqual(self.redirect_uris, ["https://app.example/new"]);
  assert.equal(self.client_name, "Renamed");
  assert.equal(self.token_endpoint_auth_method, "client_secret_post");
  const read = await answer(await manage(worker, "GET", c.client_id, ADMIN), 200);
  assert.deepEqual(read.grant_types, ["refresh_token", "authorization_code"]);
  assert.equal(read.scope, "openid email");
  assert.equal(read.resource_server, undefined);
});

test("the admin may change privileged metadata, and a resource server keeps its flag by echoing it", async () => {
  const c = await created(worker, { scope: "openid" });
  const admin = await answer(await manage(worker, "PUT", c.client_id, ADMIN, {
    client_id: c.client_id, redirect_uris: [CB], grant_types: ["authorization_code", "client_credentials"],
    scope: "openid api:read", resource_server: true,
  }), 200);
  assert.deepEqual(admin.grant_types, ["authorization_code", "client_credentials"]);
  assert.equal(admin.scope, "openid api:read");
  assert.equal(admin.resource_server, true);
  // The client echoes what it read: no change of privilege, accepted.
  const echoed = await answer(await manage(worker, "PUT", c.client_id, `Bearer ${admin.registration_access_token}`, {
    ...admin, client_name: "RS",
  }), 200);
  assert.equal(echoed.resource_server, true);
  assert.equal(echoed.client_name, "RS");
  // Dropping the flag is a change of privilege too.
  const { resource_server: _, ...without } = echoed;
  await expectError(await manage(worker, "PUT", c.client_id, `Bearer ${echoed.registration_access_token}`, without), 400, "invalid_client_metadata");
  // The admin registers resource servers directly, too.
  const rs = await created(worker, { resource_server: true });
  assert.equal(rs.resource_server, true);
  await expectError(await register(worker, { redirect_uris: [CB], resource_server: "yes" }), 400, "invalid_client_metadata");
});

/** POST /token grant_type=client_credentials for `c`, with its secret. */
const clientCredentials = (c, secret = c.client_secret) => worker.fetch("/token", {
  method: "POST",
  headers: {
    "content-type": "application/x-www-form-urlencoded",
    authorization: `Basic ${Buffer.from(`${c.client_id}:${secret}`).toString("base64")}`,
  },
  body: "grant_type=client_credentials",
});

test("an update or deletion takes effect at once on this isolate, the admin's and the client's", async () => {
  const c = await created(worker, { grant_types: ["client_credentials"], redirect_uris: undefined, scope: "api" });
  assert.equal((await clientCredentials(c)).status, 200); // the client is now in this isolate's cache
  const dropped = await answer(await manage(worker, "PUT", c.client_id, ADMIN, {
    client_id: c.client_id, redirect_uris: [CB], grant_types: ["authorization_code"],
  }), 200);
  await expectError(await clientCredentials(c), 400, "unauthorized_client");
  // Its own redirect URIs: the old one is refused at once.
  const authz = (uri) => worker.fetch(`/authorize?${new URLSearchParams({
    client_id: c.client_id, redirect_uri: uri, response_type: "code", scope: "openid", state: "s",
  })}`);
  assert.equal((await authz(CB)).status, 200);
  await answer(await manage(worker, "PUT", c.client_id, `Bearer ${dropped.registration_access_token}`, {
    client_id: c.client_id, redirect_uris: ["https://app.example/moved"], grant_types: ["authorization_code"],
  }), 200);
  assert.equal((await authz(CB)).status, 400);
  assert.equal((await authz("https://app.example/moved")).status, 200);

  const d = await created(worker, { grant_types: ["client_credentials"], redirect_uris: undefined });
  assert.equal((await clientCredentials(d)).status, 200);
  assert.equal((await manage(worker, "DELETE", d.client_id, ADMIN)).status, 204);
  await expectError(await clientCredentials(d), 401, "invalid_client");
});

test("DELETE /register/{id}: 204, then the client is gone (401)", async () => {
  const c = await created(worker, {});
  await expect401(await manage(worker, "DELETE", c.client_id, "Bearer wrong"), true);
  const res = await manage(worker, "DELETE", c.client_id, `Bearer ${c.registration_access_token}`);
  assert.equal(res.status, 204);
  assert.equal(await res.text(), "");
  await expect401(await manage(worker, "GET", c.client_id, ADMIN), true);
  await expect401(await manage(worker, "DELETE", c.client_id, `Bearer ${c.registration_access_token}`), true);

  const d = await created(worker, {});
  assert.equal((await manage(worker, "DELETE", d.client_id, ADMIN)).status, 204);
  await expect401(await manage(worker, "GET", d.client_id, `Bearer ${d.registration_access_token}`), true);
});

test("wrong methods → 405", async () => {
  for (const [method, path] of [["GET", "/register"], ["PUT", "/register"], ["POST", "/register/x"], ["PATCH", "/register/x"]]) {
    await expectError(await send(worker, method, path, undefined), 405, "method_not_allowed");
  }
});
