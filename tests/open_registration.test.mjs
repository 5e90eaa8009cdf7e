// Open dynamic registration (OPEN_REGISTRATION=on): off by default; on, a
// client registers itself without an initial access token, within fixed
// limits, rate-limited per client address, and lapses if never used.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./helpers.mjs";
import { REDIRECT_URI, Jar, authParams, authorize, createUser, exchange, field, obtainCode, registerClient, submit, token } from "./flow.mjs";

const UNUSED_TTL = 5;
let n = 0;
/** A fresh client address for each request that is not about the rate limit. */
const address = () => `198.51.100.${++n}`;

const register = (worker, body, headers = {}) => worker.fetch("/register", {
  method: "POST",
  headers: { "content-type": "application/json", "cf-connecting-ip": address(), ...headers },
  body: JSON.stringify(body),
});

const PUBLIC = {
  redirect_uris: [REDIRECT_URI],
  token_endpoint_auth_method: "none",
  grant_types: ["authorization_code", "refresh_token"],
  client_name: "Self-registered app",
};

async function expectError(res, status, error, mentions) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const body = JSON.parse(text);
  assert.equal(body.error, error, text);
  if (mentions) assert.ok(body.error_description.includes(mentions), text);
  return res;
}

let closed, open;
before(async () => {
  [closed, open] = await Promise.all([
    startWorker(),
    startWorker({ vars: { OPEN_REGISTRATION: "on", OPEN_REGISTRATION_UNUSED_TTL: String(UNUSED_TTL), REFRESH_TOKEN_POLICY: "always" } }),
  ]);
});
after(async () => { await Promise.all([closed?.stop(), open?.stop()]); });

test("off by default: no initial access token, no registration", async () => {
  const res = await expectError(await register(closed, PUBLIC), 401, "invalid_request");
  assert.match(res.headers.get("www-authenticate"), /^Bearer/);
});

test("on: a public client registers itself, signs a person in, and refreshes", async () => {
  const res = await register(open, PUBLIC);
  assert.equal(res.status, 201);
  const client = await res.json();
  assert.equal(client.client_secret, undefined);
  assert.equal(client.token_endpoint_auth_method, "none");
  assert.equal(typeof client.registration_access_token, "string");
  assert.equal(client.self_registered, undefined, "not a metadata member");
  const user = await createUser(open);
  const { code, verifier } = await obtainCode(open, client, user);
  const tokens = await exchange(open, client, { code, verifier });
  const refreshed = await token(open, client, { grant_type: "refresh_token", refresh_token: tokens.refresh_token });
  assert.equal(refreshed.status, 200, await refreshed.clone().text());
  // Used, so it outlives the unused time.
  await new Promise((r) => setTimeout(r, (UNUSED_TTL + 1) * 1000));
  const again = await token(open, client, { grant_type: "refresh_token", refresh_token: (await refreshed.json()).refresh_token });
  assert.equal(again.status, 200, await again.clone().text());
});

test("on: a confidential client registers too, and gets its secret", async () => {
  const res = await register(open, { ...PUBLIC, token_endpoint_auth_method: "client_secret_basic" });
  assert.equal(res.status, 201);
  assert.equal(typeof (await res.json()).client_secret, "string");
});

test("on: a wrong initial access token is still refused", async () => {
  const res = await register(open, PUBLIC, { authorization: "Bearer nope" });
  await expectError(res, 401, "invalid_token");
});

test("on: the limits of open registration, each refused by name", async () => {
  const cases = [
    ["invalid_client_metadata", "client_credentials", { grant_types: ["client_credentials"], redirect_uris: undefined, token_endpoint_auth_method: "client_secret_basic" }],
    ["invalid_client_metadata", "client_credentials", { grant_types: ["authorization_code", "client_credentials"], token_endpoint_auth_method: "client_secret_basic" }],
    ["invalid_client_metadata", "resource_server", { resource_server: true }],
    ["invalid_client_metadata", "allowed_resources", { allowed_resources: ["https://mcp.example/mcp"] }],
    ["invalid_redirect_uri", "http://app.example/cb", { redirect_uris: ["http://app.example/cb"] }],
    ["invalid_redirect_uri", "com.example.app:/cb", { application_type: "native", redirect_uris: ["com.example.app:/cb"] }],
  ];
  for (const [error, mentions, extra] of cases) {
    await expectError(await register(open, { ...PUBLIC, ...extra }), 400, error, mentions);
  }
});

test("on: managing itself, a self-registered client stays within the limits", async () => {
  const client = await (await register(open, { ...PUBLIC, application_type: "native" })).json();
  const put = (body) => open.fetch(`/register/${client.client_id}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${client.registration_access_token}` },
    body: JSON.stringify(body),
  });
  const { registration_access_token: _, registration_client_uri: __, ...current } = client;
  await expectError(await put({ ...current, redirect_uris: ["com.example.app:/cb"] }), 400, "invalid_redirect_uri", "com.example.app:/cb");
  const ok = await put({ ...current, redirect_uris: ["http://127.0.0.1:7/cb"] });
  assert.equal(ok.status, 200, await ok.text());
});

test("on: ten registrations per address, then 429 with Retry-After; another address still registers", async () => {
  const from = { "cf-connecting-ip": "2001:db8:aa:bb::1" };
  for (let i = 0; i < 10; i++) {
    // Refused ones count too: every other one is invalid.
    const body = i % 2 ? PUBLIC : { ...PUBLIC, redirect_uris: ["http://app.example/cb"] };
    assert.equal((await register(open, body, from)).status, i % 2 ? 201 : 400);
  }
  // Another host of the same /64 is the same address.
  const res = await register(open, PUBLIC, { "cf-connecting-ip": "2001:db8:aa:bb::2" });
  await expectError(res, 429, "temporarily_unavailable");
  assert.ok(Number(res.headers.get("retry-after")) >= 1, res.headers.get("retry-after"));
  assert.equal((await register(open, PUBLIC, { "cf-connecting-ip": "2001:db8:aa:cc::1" })).status, 201);
});

test("on: a registration never used lapses after OPEN_REGISTRATION_UNUSED_TTL", async () => {
  const client = await (await register(open, PUBLIC)).json();
  const read = () => open.fetch(`/register/${client.client_id}`, {
    headers: { authorization: `Bearer ${client.registration_access_token}` },
  });
  const fresh = await read();
  assert.equal(fresh.status, 200);
  const rat = (await fresh.json()).registration_access_token;
  await new Promise((r) => setTimeout(r, (UNUSED_TTL + 1) * 1000));
  const gone = await open.fetch(`/register/${client.client_id}`, { headers: { authorization: `Bearer ${rat}` } });
  await expectError(gone, 401, "invalid_token");
  const authorize = await open.fetch(`/authorize?${new URLSearchParams({
    client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: "code", scope: "openid",
    code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", code_challenge_method: "S256",
  })}`);
  assert.equal(authorize.status, 400, "an unknown client: an error page, no redirect");
});

/** The consent page `client` gets from a fresh browser, for `redirect_uri`. */
async function consentPage(worker, client, user, redirect_uri) {
  const jar = new Jar();
  const { params } = authParams(client, { redirect_uri });
  const login = await (await authorize(worker, jar, params)).text();
  assert.equal(field(login, "step"), "login");
  const res = await submit(worker, jar, login, { username: user.username, password: user.password });
  const html = await res.text();
  assert.equal(field(html, "step"), "consent", html.slice(0, 300));
  return html;
}

test("on: the consent page marks a self-registered client and shows its redirect host", async () => {
  const cb = "https://app.example/cb";
  const user = await createUser(open);
  const self = await (await register(open, { ...PUBLIC, redirect_uris: [cb] })).json();
  const html = await consentPage(open, self, user, cb);
  assert.match(html, /not verified by 127\.0\.0\.1/);
  assert.match(html, /you will be sent to <strong>app\.example<\/strong>/);
  const admins = await registerClient(open, { redirect_uris: [cb] });
  assert.doesNotMatch(await consentPage(open, admins, user, cb), /not verified/);
});

test("on: /register answers CORS for any origin; off, it does not", async () => {
  const origin = "https://mcp-client.example";
  const preflight = await open.fetch("/register", {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), origin);
  assert.equal(preflight.headers.get("access-control-allow-methods"), "POST");
  assert.match(preflight.headers.get("access-control-allow-headers"), /Content-Type/i);
  const res = await register(open, PUBLIC, { origin });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("access-control-allow-origin"), origin);
  assert.equal(res.headers.get("access-control-allow-credentials"), null);
  assert.match(res.headers.get("access-control-expose-headers"), /Retry-After/i);
  assert.match(res.headers.get("vary"), /Origin/);
  const closedRes = await register(closed, PUBLIC, { origin });
  assert.equal(closedRes.headers.get("access-control-allow-origin"), null);
  const closedPreflight = await closed.fetch("/register", { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
  assert.equal(closedPreflight.status, 405);
});
