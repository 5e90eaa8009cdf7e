// Resource indicators (RFC 8707): `resource` at /authorize, at the code
// exchange, at refresh and with client_credentials; the access token's `aud`
// (RFC 9068 §3), what /userinfo and /introspect make of it; invalid_target
// for a malformed resource, one outside the grant, or one an allow-list
// (ALLOWED_RESOURCES, a client's allowed_resources) refuses; who may set
// allowed_resources; and an MCP client's whole flow.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { registerClient, createUser, obtainCode, authorize, Jar, authParams, basicAuth, decodeJwt, REDIRECT_URI } from "./flow.mjs";
import { assertError, userinfoStatus, introspect } from "./lifecycle.mjs";

const MCP = "https://mcp.example.com/mcp";
const API = "https://api.example.com/v1";
const ADMIN = `Bearer ${ADMIN_TOKEN}`;

let worker, user;
before(async () => {
  worker = await startWorker();
  user = await createUser(worker);
});
after(async () => { await worker?.stop(); });

/** POST /token as `client`, with `pairs` (repeated names allowed). */
function tokenRequest(w, client, pairs) {
  const body = new URLSearchParams(pairs);
  const headers = { "content-type": "application/x-www-form-urlencoded" };
  if (client.client_secret) headers.authorization = basicAuth(client);
  else body.append("client_id", client.client_id);
  return w.fetch("/token", { method: "POST", headers, body: body.toString() });
}

const resourcePairs = (resources) => resources.map((r) => ["resource", r]);

async function ok(res) {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

/** Code → tokens, asking for `resources` at the exchange. */
async function redeem(w, client, got, resources = []) {
  return tokenRequest(w, client, [
    ["grant_type", "authorization_code"], ["code", got.code], ["redirect_uri", REDIRECT_URI],
    ["code_verifier", got.verifier], ...resourcePairs(resources),
  ]);
}

const refreshWith = (w, client, refreshToken, resources = []) =>
  tokenRequest(w, client, [["grant_type", "refresh_token"], ["refresh_token", refreshToken], ...resourcePairs(resources)]);

const aud = (accessToken) => decodeJwt(accessToken).payload.aud;

test("the resources authorized become the access token's aud, with userinfo for openid tokens", async () => {
  const client = await registerClient(worker);
  const issuer = worker.url;
  const got = await obtainCode(worker, client, user, { resources: [MCP, API] });
  const tokens = await ok(await redeem(worker, client, got));
  assert.deepEqual(aud(tokens.access_token), [MCP, API, `${issuer}/userinfo`]);
  assert.equal(decodeJwt(tokens.access_token).header.typ, "at+jwt");
  assert.equal(await userinfoStatus(worker, tokens.access_token), 200, "/userinfo keeps working");
  const info = await (await introspect(worker, client, tokens.access_token)).json();
  assert.equal(info.active, true);
  assert.deepEqual(info.aud, [MCP, API, `${issuer}/userinfo`], "/introspect reports the same aud");
  // Without any resource nothing changes: our userinfo endpoint, a string.
  const plain = await ok(await redeem(worker, client, await obtainCode(worker, client, user)));
  assert.equal(aud(plain.access_token), `${issuer}/userinfo`);
});

test("the exchange may ask for fewer resources, never another; a refused one spares the code", async () => {
  const client = await registerClient(worker);
  const got = await obtainCode(worker, client, user, { resources: [MCP, API] });
  const outside = await redeem(worker, client, got, [MCP, "https://elsewhere.example/"]);
  await assertError(outside, 400, "invalid_target");
  const fewer = await ok(await redeem(worker, client, got, [API]));
  assert.deepEqual(aud(fewer.access_token), [API, `${worker.url}/userinfo`]);
  // A grant made without resources has none to give.
  const none = await obtainCode(worker, client, user);
  await assertError(await redeem(worker, client, none, [MCP]), 400, "invalid_target");
});

test("a refresh asks for the same resources or fewer; a refused one does not rotate", async () => {
  const client = await registerClient(worker);
  const tokens = await ok(await redeem(worker, client, await obtainCode(worker, client, user, { resources: [MCP, API] })));
  await assertError(await refreshWith(worker, client, tokens.refresh_token, ["https://other.example/"]), 400, "invalid_target");
  const narrowed = await ok(await refreshWith(worker, client, tokens.refresh_token, [MCP]));
  assert.deepEqual(aud(narrowed.access_token), [MCP, `${worker.url}/userinfo`]);
  const again = await ok(await refreshWith(worker, client, narrowed.refresh_token));
  assert.deepEqual(aud(again.access_token), [MCP, API, `${worker.url}/userinfo`], "none asks for all the grant's");
});

test("a token for a resource only is refused at /userinfo", async () => {
  const client = await registerClient(worker);
  const got = await obtainCode(worker, client, user, { overrides: { scope: "email offline_access" }, resources: [MCP] });
  const tokens = await ok(await redeem(worker, client, got));
  assert.equal(aud(tokens.access_token), MCP);
  const res = await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const text = await res.text();
  assert.equal(res.status, 401, text);
  assert.equal(JSON.parse(text).error, "invalid_token");
  assert.match(res.headers.get("www-authenticate"), /error="invalid_token"/);
  // The resource server, checking the same token, sees it active.
  const rs = await registerClient(worker, { grant_types: ["client_credentials"], resource_server: true });
  const info = await (await introspect(worker, rs, tokens.access_token)).json();
  assert.equal(info.active, true);
  assert.equal(info.aud, MCP);
});

/** The error redirected back from /authorize for these resources. */
async function authorizeError(w, client, resources) {
  const { params } = authParams(client);
  const query = new URLSearchParams(params);
  for (const r of resources) query.append("resource", r);
  const res = await authorize(w, new Jar(), query);
  assert.equal(res.status, 302, await res.text());
  const location = new URL(res.headers.get("location"));
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  assert.equal(location.searchParams.get("state"), params.state);
  assert.equal(location.searchParams.get("iss"), w.url);
  return location.searchParams.get("error");
}

test("/authorize redirects invalid_target for a relative URI, a fragment, or one the client may not have", async () => {
  const client = await registerClient(worker, { allowed_resources: [MCP] });
  for (const bad of [["/mcp"], ["mcp.example.com"], [`${MCP}#section`], [API], [MCP, API]]) {
    assert.equal(await authorizeError(worker, client, bad), "invalid_target", bad.join(" "));
  }
  const got = await obtainCode(worker, client, user, { resources: [MCP] });
  assert.equal(aud((await ok(await redeem(worker, client, got))).access_token)[0], MCP);
  // An unknown client is still a page, never a redirect, whatever the resource.
  const page = await worker.fetch(`/authorize?client_id=nobody&resource=%2Fmcp&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`);
  assert.equal(page.status, 400);
  assert.equal(page.headers.get("location"), null);
});

test("ALLOWED_RESOURCES limits every client; a malformed one is refused", async () => {
  const w = await startWorker({ vars: { ALLOWED_RESOURCES: "https://mcp.example.com/, urn:example:api" } });
  try {
    const client = await registerClient(w);
    assert.equal(await authorizeError(w, client, [API]), "invalid_target");
    const u = await createUser(w);
    const got = await obtainCode(w, client, u, { resources: [MCP, "urn:example:api"] });
    assert.deepEqual(aud((await ok(await redeem(w, client, got))).access_token), [MCP, "urn:example:api", `${w.url}/userinfo`]);
  } finally { await w.stop(); }
  const broken = await startWorker({ vars: { ALLOWED_RESOURCES: "https://mcp.example.com/, /relative" } });
  try {
    const res = await broken.fetch("/.well-known/openid-configuration");
    assert.equal(res.status, 500, "a malformed setting is refused, not defaulted");
    assert.match(await res.text(), /ALLOWED_RESOURCES/);
  } finally { await broken.stop(); }
});

test("client_credentials accepts resource, within the allow-lists", async () => {
  const client = await registerClient(worker, { grant_types: ["client_credentials"], allowed_resources: [API, "https://api.example.com/tenants/"] });
  const cc = (resources) => tokenRequest(worker, client, [["grant_type", "client_credentials"], ...resourcePairs(resources)]);
  assert.equal(aud((await ok(await cc([API]))).access_token), API);
  assert.deepEqual(aud((await ok(await cc([API, "https://api.example.com/tenants/a"]))).access_token), [API, "https://api.example.com/tenants/a"]);
  assert.equal(aud((await ok(await cc([]))).access_token), `${worker.url}/userinfo`, "no resource: as before");
  for (const bad of [[MCP], ["/v1"], [`${API}#x`], ["https://api.example.com/tenants/../admin"]]) {
    await assertError(await cc(bad), 400, "invalid_target");
  }
  // A JSON body names several resources as an array.
  const json = await worker.fetch("/token", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth(client) },
    body: JSON.stringify({ grant_type: "client_credentials", resource: [API, "https://api.example.com/tenants/b"] }),
  });
  assert.deepEqual(aud((await ok(json)).access_token), [API, "https://api.example.com/tenants/b"]);
});

const manage = (method, clientId, auth, body) => worker.fetch(`/register/${clientId}`, {
  method, headers: { authorization: auth, "content-type": "application/json" }, body: body && JSON.stringify(body),
});

test("allowed_resources is the admin's: a client cannot change it on itself", async () => {
  const c = await registerClient(worker, { allowed_resources: [MCP] });
  assert.deepEqual(c.allowed_resources, [MCP]);
  const base = { client_id: c.client_id, redirect_uris: [REDIRECT_URI], grant_types: ["authorization_code", "refresh_token"] };
  const auth = `Bearer ${c.registration_access_token}`;
  for (const change of [{}, { allowed_resources: [MCP, API] }, { allowed_resources: [] }]) {
    await assertError(await manage("PUT", c.client_id, auth, { ...base, ...change }), 400, "invalid_client_metadata");
  }
  const echoed = await ok(await manage("PUT", c.client_id, auth, { ...base, allowed_resources: [MCP], client_name: "Renamed" }));
  assert.equal(echoed.client_name, "Renamed");
  const admin = await ok(await manage("PUT", c.client_id, ADMIN, { ...base, allowed_resources: [MCP, API] }));
  assert.deepEqual(admin.allowed_resources, [MCP, API]);
  const bad = await worker.fetch("/register", {
    method: "POST", headers: { authorization: ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ redirect_uris: [REDIRECT_URI], allowed_resources: ["relative"] }),
  });
  await assertError(bad, 400, "invalid_client_metadata");
});

test("an MCP client: public, PKCE, resource at both steps, refresh tokens without offline_access", async () => {
  const w = await startWorker({ vars: { REFRESH_TOKEN_POLICY: "always" } });
  try {
    const client = await registerClient(w, { token_endpoint_auth_method: "none", client_name: "MCP client" });
    const u = await createUser(w);
    const got = await obtainCode(w, client, u, { overrides: { scope: "openid profile" }, resources: [MCP] });
    const tokens = await ok(await redeem(w, client, got, [MCP]));
    assert.ok(tokens.refresh_token, "REFRESH_TOKEN_POLICY=always: no offline_access needed");
    const { payload } = decodeJwt(tokens.access_token);
    assert.equal(payload.iss, w.url);
    assert.deepEqual(payload.aud, [MCP, `${w.url}/userinfo`]);
    const refreshed = await ok(await refreshWith(w, client, tokens.refresh_token, [MCP]));
    assert.deepEqual(aud(refreshed.access_token), [MCP, `${w.url}/userinfo`]);
  } finally { await w.stop(); }
});
