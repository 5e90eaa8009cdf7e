// The client credentials grant (RFC 6749 §4.4): only for clients registered
// for it, scopes limited to the registered ones, an access token for the
// client itself (sub = client_id), no ID token, no refresh token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./helpers.mjs";
import { registerClient, decodeJwt, basicAuth, form } from "./flow.mjs";
import { assertError, clientPost, introspect } from "./lifecycle.mjs";

let worker, client;
const SCOPE = "api:read api:write";
before(async () => {
  worker = await startWorker();
  client = await registerClient(worker, { grant_types: ["client_credentials"], scope: SCOPE, redirect_uris: [] });
});
after(async () => { await worker?.stop(); });

const cc = (c, extra = {}) => clientPost(worker, "/token", c, { grant_type: "client_credentials", ...extra });

async function ok(res) {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("pragma"), "no-cache");
  return JSON.parse(text);
}

test("form body + client_secret_basic: an access token for the client, nothing else", async () => {
  const before = Math.floor(Date.now() / 1000);
  const body = await ok(await cc(client));
  assert.equal(body.token_type, "Bearer");
  assert.equal(body.expires_in, 3600);
  assert.equal(body.scope, SCOPE, "no scope asked: all registered scopes");
  assert.equal(body.id_token, undefined);
  assert.equal(body.refresh_token, undefined);
  const { header, payload } = decodeJwt(body.access_token);
  assert.equal(header.typ, "at+jwt");
  assert.equal(payload.sub, client.client_id);
  assert.equal(payload.client_id, client.client_id);
  assert.equal(payload.iss, worker.url);
  assert.equal(payload.scope, SCOPE);
  assert.ok(payload.aud);
  assert.ok(payload.jti);
  assert.ok(payload.iat >= before);
  assert.equal(payload.exp, payload.iat + 3600);
  assert.equal(payload.auth_time, undefined, "no user authenticated");
  assert.equal(payload.gid, undefined, "no grant behind it");
});

test("application/json body", async () => {
  const res = await worker.fetch("/token", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth(client) },
    body: JSON.stringify({ grant_type: "client_credentials", scope: "api:read" }),
  });
  const body = await ok(res);
  assert.equal(body.scope, "api:read");
  assert.equal(decodeJwt(body.access_token).payload.sub, client.client_id);
});

test("client_secret_post, form and JSON", async () => {
  const post = await registerClient(worker, {
    grant_types: ["client_credentials"], scope: "api:read", redirect_uris: [], token_endpoint_auth_method: "client_secret_post",
  });
  const creds = { client_id: post.client_id, client_secret: post.client_secret };
  const viaForm = await ok(await worker.fetch("/token", form({ grant_type: "client_credentials", ...creds })));
  assert.equal(decodeJwt(viaForm.access_token).payload.sub, post.client_id);
  const viaJson = await ok(await worker.fetch("/token", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ grant_type: "client_credentials", ...creds }),
  }));
  assert.equal(viaJson.scope, "api:read");
  // Registered for post: Basic is not its method.
  await assertError(await cc(post), 401, "invalid_client");
  // Wrong secret in the body: 401 invalid_client without a Basic challenge.
  const wrong = await worker.fetch("/token", form({ grant_type: "client_credentials", client_id: post.client_id, client_secret: "nope" }));
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error, "invalid_client");
});

test("scope: a subset is granted, an empty scope means all, a scope beyond the registration is invalid_scope", async () => {
  assert.equal((await ok(await cc(client, { scope: "api:write" }))).scope, "api:write");
  assert.equal((await ok(await cc(client, { scope: "api:write api:read" }))).scope, "api:write api:read");
  assert.equal((await ok(await cc(client, { scope: "" }))).scope, SCOPE);
  await assertError(await cc(client, { scope: "api:read api:admin" }), 400, "invalid_scope");
  await assertError(await cc(client, { scope: "openid" }), 400, "invalid_scope");
  await assertError(await cc(client, { scope: "bad\"scope" }), 400, "invalid_scope");
});

test("a client registered without scope gets an empty scope and cannot ask for any", async () => {
  const bare = await registerClient(worker, { grant_types: ["client_credentials"], redirect_uris: [] });
  const body = await ok(await cc(bare));
  assert.equal(body.scope, undefined, "an empty scope is left out");
  assert.equal(body.id_token, undefined);
  assert.equal(decodeJwt(body.access_token).payload.sub, bare.client_id);
  await assertError(await cc(bare, { scope: "openid" }), 400, "invalid_scope");
});

test("a client not registered for client_credentials gets unauthorized_client", async () => {
  const codeOnly = await registerClient(worker);
  await assertError(await cc(codeOnly), 400, "unauthorized_client");
  const withScope = await registerClient(worker, { scope: "openid api:read" });
  await assertError(await cc(withScope, { scope: "api:read" }), 400, "unauthorized_client");
});

test("client authentication is required: none, wrong secret, unknown client → 401 invalid_client", async () => {
  await assertError(await worker.fetch("/token", form({ grant_type: "client_credentials" })), 401, "invalid_client");
  const wrong = await cc({ ...client, client_secret: "wrong" });
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get("www-authenticate") ?? "", /^Basic/);
  assert.equal((await wrong.json()).error, "invalid_client");
  await assertError(await cc({ client_id: "no-such-client", client_secret: "x" }), 401, "invalid_client");
  // A public client claiming client_credentials is not authenticated at all.
  await assertError(await clientPost(worker, "/token", { client_id: client.client_id }, { grant_type: "client_credentials" }), 401, "invalid_client");
});

test("/userinfo refuses a client_credentials token (403 insufficient_scope); introspection knows it", async () => {
  const { access_token } = await ok(await cc(client));
  const res = await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${access_token}` } });
  assert.equal(res.status, 403);
  assert.match(res.headers.get("www-authenticate") ?? "", /insufficient_scope/);
  assert.equal((await res.json()).error, "insufficient_scope");
  const info = await (await introspect(worker, client, access_token)).json();
  assert.equal(info.active, true);
  assert.equal(info.sub, client.client_id);
  assert.equal(info.client_id, client.client_id);
  assert.equal(info.scope, SCOPE);
  assert.equal(info.token_type, "Bearer");
});
