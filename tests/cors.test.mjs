// CORS (Fetch standard) for browser-based apps: /token, /revoke and
// /userinfo answer the preflight for any origin and let a page read the
// actual answer, errors included, only when its origin is allowed for the
// client the request is about (its redirect URIs' origins, plus
// `allowed_cors_origins`). Pages, /authorize, registration and admin APIs
// answer no CORS at all; discovery and JWKS answer `*`. And loopback IP
// redirect URIs match on any port (RFC 8252 §7.3).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { registerClient, createUser, obtainCode, exchange, token, form, basicAuth, authParams, REDIRECT_URI } from "./flow.mjs";

const RP_ORIGIN = new URL(REDIRECT_URI).origin; // http://127.0.0.1:9
const SPA = "https://spa.example";
const EVIL = "https://evil.example";

let worker, spa, user;
before(async () => {
  worker = await startWorker();
  // A public client (a browser app), with one origin besides its redirect URI's.
  spa = await registerClient(worker, { token_endpoint_auth_method: "none", allowed_cors_origins: [SPA] });
  user = await createUser(worker, "cors-cora");
});
after(async () => { await worker?.stop(); });

const corsHeaders = (res) => [...res.headers.keys()].filter((k) => k.startsWith("access-control-"));
const vary = (res) => (res.headers.get("vary") ?? "").split(",").map((s) => s.trim().toLowerCase());

/** The answer is readable from `origin`: its origin, Vary, the exposed challenge, no credentials. */
function assertAllowed(res, origin, what) {
  assert.equal(res.headers.get("access-control-allow-origin"), origin, what);
  assert.ok(vary(res).includes("origin"), `${what}: Vary: Origin`);
  assert.match(res.headers.get("access-control-expose-headers") ?? "", /WWW-Authenticate/i, what);
  assert.equal(res.headers.get("access-control-allow-credentials"), null, what);
}

function assertNoCors(res, what) {
  assert.deepEqual(corsHeaders(res), [], `${what}: no CORS headers`);
}

const fromOrigin = (origin, init) => ({ ...init, headers: { ...init.headers, origin } });
const tokens = async () => exchange(worker, spa, await obtainCode(worker, spa, user));

test("the preflight is answered for any origin, with methods, headers and max-age", async () => {
  for (const [path, methods] of [["/token", "POST"], ["/revoke", "POST"], ["/userinfo", "GET, POST"], ["/token/", "POST"]]) {
    for (const origin of [SPA, EVIL]) {
      const res = await worker.fetch(path, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, dpop" },
      });
      assert.equal(res.status, 204, path);
      assert.equal(res.headers.get("access-control-allow-origin"), origin, path);
      assert.equal(res.headers.get("access-control-allow-methods"), methods, path);
      const allowed = res.headers.get("access-control-allow-headers").split(",").map((s) => s.trim().toLowerCase());
      for (const h of ["authorization", "content-type", "dpop"]) assert.ok(allowed.includes(h), `${path}: ${h}`);
      assert.ok(Number(res.headers.get("access-control-max-age")) > 0, path);
      assert.equal(res.headers.get("access-control-allow-credentials"), null, path);
      assert.ok(vary(res).includes("origin"), path);
    }
  }
  // Without an Origin it is no preflight: 204 with Allow, no CORS.
  const plain = await worker.fetch("/token", { method: "OPTIONS" });
  assert.equal(plain.status, 204);
  assert.equal(plain.headers.get("allow"), "OPTIONS, POST");
  assertNoCors(plain, "OPTIONS without Origin");
});

test("a page of the redirect URI's origin, or an allowed_cors_origins one, reads /token, /userinfo and /revoke", async () => {
  for (const origin of [RP_ORIGIN, SPA]) {
    const { code, verifier } = await obtainCode(worker, spa, user);
    const body = { grant_type: "authorization_code", client_id: spa.client_id, code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    const res = await worker.fetch("/token", fromOrigin(origin, form(body)));
    assert.equal(res.status, 200, await res.clone().text());
    assertAllowed(res, origin, `token from ${origin}`);
    const t = await res.json();

    for (const method of ["GET", "POST"]) {
      const info = await worker.fetch("/userinfo", { method, headers: { origin, authorization: `Bearer ${t.access_token}` } });
      assert.equal(info.status, 200, method);
      assertAllowed(info, origin, `userinfo ${method} from ${origin}`);
    }
    const refreshed = await worker.fetch("/token", fromOrigin(origin, form({ grant_type: "refresh_token", client_id: spa.client_id, refresh_token: t.refresh_token })));
    assert.equal(refreshed.status, 200);
    assertAllowed(refreshed, origin, `refresh from ${origin}`);
    const revoked = await worker.fetch("/revoke", fromOrigin(origin, form({ client_id: spa.client_id, token: (await refreshed.json()).refresh_token })));
    assert.equal(revoked.status, 200);
    assertAllowed(revoked, origin, `revoke from ${origin}`);
  }
});

test("an origin the client does not allow gets the answer but no CORS headers", async () => {
  const t = await tokens();
  for (const origin of [EVIL, "null", "http://127.0.0.1:10", `${SPA}:8443`]) {
    const info = await worker.fetch("/userinfo", { headers: { origin, authorization: `Bearer ${t.access_token}` } });
    assert.equal(info.status, 200);
    assertNoCors(info, `userinfo from ${origin}`);
    assert.ok(vary(info).includes("origin"), "Vary: Origin on every answer");
    const refresh = await worker.fetch("/token", fromOrigin(origin, form({ grant_type: "refresh_token", client_id: spa.client_id, refresh_token: "x.y" })));
    assert.equal(refresh.status, 400);
    assertNoCors(refresh, `token from ${origin}`);
  }
  // Another client's origins are not this client's.
  const other = await registerClient(worker, { token_endpoint_auth_method: "none", redirect_uris: ["https://other.example/cb"] });
  const res = await worker.fetch("/token", fromOrigin(SPA, form({ grant_type: "refresh_token", client_id: other.client_id, refresh_token: "x.y" })));
  assert.equal(res.status, 400);
  assertNoCors(res, "another client's request from this client's origin");
});

test("errors carry CORS when the client is known, and none when it is not", async () => {
  const post = (body, headers = {}) => worker.fetch("/token", fromOrigin(SPA, form(body, headers)));
  const badCode = await post({ grant_type: "authorization_code", client_id: spa.client_id, code: "x.y", redirect_uri: REDIRECT_URI, code_verifier: "v".repeat(43) });
  assert.equal((await badCode.clone().json()).error, "invalid_grant");
  assertAllowed(badCode, SPA, "invalid_grant");
  const badGrant = await post({ grant_type: "client_credentials", client_id: spa.client_id });
  assert.equal((await badGrant.clone().json()).error, "unauthorized_client");
  assertAllowed(badGrant, SPA, "unauthorized_client");

  // A confidential client with the wrong secret: 401 invalid_client, its challenge readable.
  const conf = await registerClient(worker, { allowed_cors_origins: [SPA] });
  const wrong = await post({ grant_type: "refresh_token", refresh_token: "x.y" }, { authorization: basicAuth({ ...conf, client_secret: "wrong" }) });
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get("www-authenticate"), /^Basic/);
  assertAllowed(wrong, SPA, "invalid_client of a known client");

  const unknown = await post({ grant_type: "refresh_token", client_id: "no-such-client", refresh_token: "x.y" });
  assert.equal(unknown.status, 401);
  assertNoCors(unknown, "unknown client");
  const empty = await worker.fetch("/token", fromOrigin(SPA, { method: "POST" }));
  assert.equal(empty.status, 400);
  assertNoCors(empty, "no client named");
  const revokeUnknown = await worker.fetch("/revoke", fromOrigin(SPA, form({ client_id: "no-such-client", token: "x" })));
  assertNoCors(revokeUnknown, "revoke, unknown client");

  // /userinfo: a token of ours that was revoked names its client; a forged one names none.
  const t = await tokens();
  const revoke = await worker.fetch("/revoke", form({ client_id: spa.client_id, token: t.access_token }));
  assert.equal(revoke.status, 200);
  const stale = await worker.fetch("/userinfo", { headers: { origin: SPA, authorization: `Bearer ${t.access_token}` } });
  assert.equal(stale.status, 401);
  assert.match(stale.headers.get("www-authenticate"), /invalid_token/);
  assertAllowed(stale, SPA, "userinfo with a revoked token");
  const [h, p] = t.access_token.split(".");
  const forged = await worker.fetch("/userinfo", { headers: { origin: SPA, authorization: `Bearer ${h}.${p}.AAAA` } });
  assert.equal(forged.status, 401);
  assertNoCors(forged, "userinfo with a forged token");
  const none = await worker.fetch("/userinfo", { headers: { origin: SPA } });
  assert.equal(none.status, 401);
  assertNoCors(none, "userinfo without a token");
});

test("/userinfo: an expired token of ours still names its client, so its page reads the 401", async () => {
  const w = await startWorker({ vars: { ACCESS_TOKEN_TTL: "1" } });
  try {
    const c = await registerClient(w, { token_endpoint_auth_method: "none", allowed_cors_origins: [SPA] });
    const t = await exchange(w, c, await obtainCode(w, c, await createUser(w, "cors-expiry")));
    await sleep(2100);
    const res = await w.fetch("/userinfo", { headers: { origin: SPA, authorization: `Bearer ${t.access_token}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate"), /invalid_token/);
    assertAllowed(res, SPA, "userinfo with an expired token");
  } finally {
    await w.stop();
  }
});

test("/authorize, pages, registration, introspection and admin APIs send no CORS; discovery and JWKS send *", async () => {
  const { params } = authParams(spa);
  const headers = { origin: SPA, "access-control-request-method": "POST" };
  const cases = [
    ["GET /authorize", `/authorize?${new URLSearchParams(params)}`, { headers }],
    ["POST /authorize", "/authorize", fromOrigin(SPA, form(params))],
    ["OPTIONS /authorize", "/authorize", { method: "OPTIONS", headers }],
    ["GET /logout", "/logout", { headers }],
    ["POST /register", "/register", fromOrigin(SPA, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ redirect_uris: [REDIRECT_URI] }) })],
    ["OPTIONS /register", "/register", { method: "OPTIONS", headers }],
    ["POST /introspect", "/introspect", fromOrigin(SPA, form({ client_id: spa.client_id, token: "x" }))],
    ["POST /admin/users", "/admin/users", fromOrigin(SPA, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })],
    ["OPTIONS /admin/users", "/admin/users", { method: "OPTIONS", headers }],
  ];
  for (const [what, path, init] of cases) {
    const res = await worker.fetch(path, init);
    await res.arrayBuffer();
    assertNoCors(res, what);
  }
  for (const path of ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/jwks.json"]) {
    const res = await worker.fetch(path, { headers: { origin: EVIL } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "*", path);
  }
});

test("allowed_cors_origins: registered, echoed, self-service, and validated as origins", async () => {
  assert.deepEqual(spa.allowed_cors_origins, [SPA]);
  const auth = { authorization: `Bearer ${spa.registration_access_token}` };
  const read = await (await worker.fetch(`/register/${spa.client_id}`, { headers: auth })).json();
  assert.deepEqual(read.allowed_cors_origins, [SPA]);
  // The client changes it with its registration access token (not privileged).
  const c = await registerClient(worker, { token_endpoint_auth_method: "none", allowed_cors_origins: [SPA] });
  const put = await worker.fetch(`/register/${c.client_id}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${c.registration_access_token}` },
    body: JSON.stringify({ ...c, allowed_cors_origins: ["https://moved.example"] }),
  });
  assert.equal(put.status, 200, await put.clone().text());
  assert.deepEqual((await put.json()).allowed_cors_origins, ["https://moved.example"]);
  const after = await worker.fetch("/token", fromOrigin("https://moved.example", form({ grant_type: "refresh_token", client_id: c.client_id, refresh_token: "x.y" })));
  assertAllowed(after, "https://moved.example", "the new origin");
  const before = await worker.fetch("/token", fromOrigin(SPA, form({ grant_type: "refresh_token", client_id: c.client_id, refresh_token: "x.y" })));
  assertNoCors(before, "the dropped origin");

  for (const bad of ["https://spa.example/", "https://spa.example/app", "http://spa.example", "*", "null", "https://SPA.example"]) {
    const res = await worker.fetch("/register", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ redirect_uris: [REDIRECT_URI], allowed_cors_origins: [bad] }),
    });
    assert.equal(res.status, 400, bad);
    assert.equal((await res.json()).error, "invalid_client_metadata", bad);
  }
});

test("loopback IP redirect URIs match on any port; the code is redeemed with the URI it was issued for", async () => {
  const native = await registerClient(worker, { application_type: "native", token_endpoint_auth_method: "none", redirect_uris: ["http://127.0.0.1/cb", "http://[::1]/cb"] });
  for (const used of ["http://127.0.0.1:51234/cb", "http://[::1]:8123/cb"]) {
    const got = await obtainCode(worker, native, user, { overrides: { redirect_uri: used } });
    assert.equal(`${got.location.origin}${got.location.pathname}`, used);
    const exact = (redirect_uri) => token(worker, native, { grant_type: "authorization_code", code: got.code, redirect_uri, code_verifier: got.verifier });
    for (const other of [new URL(used).origin.replace(/:\d+$/, "") + "/cb", used.replace(/:(\d+)\//, ":1/")]) {
      const res = await exact(other);
      assert.equal((await res.json()).error, "invalid_grant", `redeemed with ${other}`);
    }
    const res = await exact(used);
    assert.equal(res.status, 200, await res.clone().text());
  }
  // Everything but the port stays exact, and localhost is no loopback IP.
  const local = await registerClient(worker, { token_endpoint_auth_method: "none", redirect_uris: ["http://127.0.0.1/cb", "http://localhost:3000/cb"] });
  for (const uri of ["http://127.0.0.1:51234/cb/", "http://127.0.0.1:51234/other", "https://127.0.0.1:51234/cb", "http://localhost:3001/cb", "http://localhost/cb"]) {
    const res = await worker.fetch(`/authorize?${new URLSearchParams(authParams(local, { redirect_uri: uri }).params)}`);
    assert.equal(res.status, 400, uri);
    assert.equal(res.headers.get("location"), null, `${uri}: never redirected to`);
    await res.arrayBuffer();
  }
});
