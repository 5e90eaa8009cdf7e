// The authorization endpoint (issue 3): which errors are pages and which are
// redirects (RFC 6749 §4.1.2.1, RFC 9207), prompt / max_age (OIDC Core
// §3.1.2.1), remembered consent, the CSRF protection of the forms, and the
// pages' headers and cookies.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./helpers.mjs";
import {
  registerClient, createUser, obtainCode, authorize, authParams, submit, field, form, Jar, REDIRECT_URI,
} from "./flow.mjs";

let worker, client, publicClient, user;
before(async () => {
  worker = await startWorker();
  client = await registerClient(worker);
  publicClient = await registerClient(worker, { token_endpoint_auth_method: "none" });
  user = await createUser(worker, "authz-alice");
});
after(async () => { await worker?.stop(); });

const location = (res) => new URL(res.headers.get("location"));

/** An HTML error page: 400, never a redirect, with the pages' headers. */
async function assertErrorPage(res, what) {
  assert.equal(res.status, 400, what);
  assert.equal(res.headers.get("location"), null, `${what}: must not redirect`);
  assert.match(res.headers.get("content-type"), /^text\/html/, what);
  const html = await res.text();
  assert.match(html, /cannot continue/, what);
  return html;
}

/** A redirect back to the client with `error`, the request's state and our iss. */
function assertErrorRedirect(res, error, state, what, redirectUri = REDIRECT_URI) {
  assert.equal(res.status, 302, `${what}: status`);
  const loc = location(res);
  assert.equal(`${loc.origin}${loc.pathname}`, redirectUri, `${what}: target`);
  assert.equal(loc.searchParams.get("error"), error, `${what}: error`);
  assert.ok(loc.searchParams.get("error_description"), `${what}: error_description`);
  assert.equal(loc.searchParams.get("state"), state, `${what}: state`);
  assert.equal(loc.searchParams.get("iss"), worker.url, `${what}: iss`);
  assert.equal(loc.searchParams.get("code"), null, `${what}: no code`);
  return loc;
}

/** A fresh browser logged in as `user` with consent remembered for the default scopes. */
async function loggedIn() {
  const got = await obtainCode(worker, client, user);
  return got.jar;
}

test("errors about the client or redirect URI are pages, never redirects", async () => {
  const { params } = authParams(client);
  const q = (extra) => `/authorize?${new URLSearchParams(params)}&${extra}`;
  const cases = [
    ["unknown client_id", `/authorize?${new URLSearchParams({ ...params, client_id: "no-such-client" })}`],
    ["missing client_id", `/authorize?${new URLSearchParams({ ...params, client_id: "" }).toString().replace(/client_id=&?/, "")}`],
    ["unregistered redirect_uri", `/authorize?${new URLSearchParams({ ...params, redirect_uri: "http://127.0.0.1:9/evil" })}`],
    ["redirect_uri differing only by a trailing slash", `/authorize?${new URLSearchParams({ ...params, redirect_uri: `${REDIRECT_URI}/` })}`],
    ["repeated client_id", q(`client_id=${client.client_id}`)],
    ["repeated redirect_uri", q(`redirect_uri=${encodeURIComponent(REDIRECT_URI)}`)],
    ["missing redirect_uri for openid", `/authorize?${new URLSearchParams(Object.fromEntries(Object.entries(params).filter(([k]) => k !== "redirect_uri")))}`],
  ];
  for (const [what, path] of cases) {
    const res = await worker.fetch(path);
    await assertErrorPage(res, what);
  }
});

test("other errors redirect with error, error_description, state and iss", async () => {
  const ccOnly = await registerClient(worker, { grant_types: ["client_credentials"], response_types: [] , redirect_uris: [REDIRECT_URI] })
    .catch(() => null);
  const narrow = await registerClient(worker, { scope: "openid email" });
  const cases = [
    ["missing response_type", client, { response_type: undefined }, "invalid_request"],
    ["response_type token", client, { response_type: "token" }, "unsupported_response_type"],
    ["response_type id_token", client, { response_type: "id_token" }, "unsupported_response_type"],
    ["unknown scope", client, { scope: "openid admin" }, "invalid_scope"],
    ["scope not registered for the client", narrow, { scope: "openid profile" }, "invalid_scope"],
    ["PKCE plain", client, { code_challenge_method: "plain" }, "invalid_request"],
    ["code_challenge without method", client, { code_challenge_method: undefined }, "invalid_request"],
    ["code_challenge too short", client, { code_challenge: "abc" }, "invalid_request"],
    ["public client without PKCE", publicClient, { code_challenge: undefined, code_challenge_method: undefined }, "invalid_request"],
    ["prompt none with login", client, { prompt: "none login" }, "invalid_request"],
    ["unsupported prompt", client, { prompt: "select_account" }, "invalid_request"],
    ["negative max_age", client, { max_age: "-1" }, "invalid_request"],
    ["max_age not a number", client, { max_age: "soon" }, "invalid_request"],
    ["request object", client, { request: "eyJhbGciOiJub25lIn0.e30." }, "request_not_supported"],
    ["request_uri", client, { request_uri: "https://rp.example/req" }, "request_uri_not_supported"],
    ["registration", client, { registration: "{}" }, "registration_not_supported"],
    ["response_mode fragment", client, { response_mode: "fragment" }, "invalid_request"],
  ];
  if (ccOnly) cases.push(["client without the code grant", ccOnly, {}, "unauthorized_client"]);
  for (const [what, c, overrides, error] of cases) {
    const { params } = authParams(c, overrides);
    for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
    const res = await authorize(worker, new Jar(), params);
    assertErrorRedirect(res, error, params.state, what);
  }
  assert.ok(ccOnly, "a client_credentials-only client with a redirect URI could be registered");
});

test("a repeated parameter is invalid_request; a repeated state is not echoed", async () => {
  const { params } = authParams(client);
  const res = await worker.fetch(`/authorize?${new URLSearchParams(params)}&scope=openid`);
  assertErrorRedirect(res, "invalid_request", params.state, "repeated scope");
  const res2 = await worker.fetch(`/authorize?${new URLSearchParams(params)}&state=other`);
  assertErrorRedirect(res2, "invalid_request", null, "repeated state");
});

test("without redirect_uri a non-OpenID request uses the one registered URI (RFC 6749 §3.1.2.3)", async () => {
  const { params } = authParams(client, { scope: "email", response_type: "token" });
  delete params.redirect_uri;
  assertErrorRedirect(await authorize(worker, new Jar(), params), "unsupported_response_type", params.state, "default redirect");
  const two = await registerClient(worker, { redirect_uris: [REDIRECT_URI, "http://127.0.0.1:9/cb2"] });
  const p2 = authParams(two, { scope: "email" }).params;
  delete p2.redirect_uri;
  await assertErrorPage(await authorize(worker, new Jar(), p2), "two registered URIs, none chosen");
});

test("errors redirect without state when the request had none", async () => {
  const { params } = authParams(client, { response_type: "token" });
  delete params.state;
  const res = await authorize(worker, new Jar(), params);
  const loc = assertErrorRedirect(res, "unsupported_response_type", null, "no state");
  assert.equal(loc.searchParams.has("state"), false);
});

test("a registered redirect URI's own query is kept (RFC 6749 §3.1.2)", async () => {
  const withQuery = "http://127.0.0.1:9/cb?tenant=acme&x=1";
  const c = await registerClient(worker, { redirect_uris: [withQuery] });
  // Success: the code is added to the existing query.
  const { params } = authParams(c, { redirect_uri: withQuery });
  const jar = await loggedIn();
  let res = await authorize(worker, jar, params);
  if (res.status === 200) res = await submit(worker, jar, await res.text(), { decision: "allow" });
  assert.ok([302, 303].includes(res.status), `status ${res.status}`);
  const raw = res.headers.get("location");
  assert.ok(raw.startsWith(`${withQuery}&`), raw);
  const loc = new URL(raw);
  assert.equal(loc.searchParams.get("tenant"), "acme");
  assert.equal(loc.searchParams.get("x"), "1");
  assert.ok(loc.searchParams.get("code"));
  assert.equal(loc.searchParams.get("state"), params.state);
  assert.equal(loc.searchParams.get("iss"), worker.url);
  // Error: likewise.
  const bad = authParams(c, { redirect_uri: withQuery, response_type: "token" }).params;
  const err = await authorize(worker, new Jar(), bad);
  const errRaw = err.headers.get("location");
  assert.ok(errRaw.startsWith(`${withQuery}&`), errRaw);
  assert.equal(new URL(errRaw).searchParams.get("error"), "unsupported_response_type");
  // The same URI without its query is not the registered one.
  const stripped = authParams(c, { redirect_uri: "http://127.0.0.1:9/cb" }).params;
  await assertErrorPage(await authorize(worker, new Jar(), stripped), "query dropped");
});

test("the login page: headers, login_hint, wrong password, cookies without Secure on http", async () => {
  const jar = new Jar();
  const fresh = await registerClient(worker); // nothing consented to yet
  const { params } = authParams(fresh, { login_hint: "authz-alice" });
  const res = await authorize(worker, jar, params);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  assert.match(res.headers.get("content-security-policy"), /frame-ancestors 'none'/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const browserCookie = res.headers.getSetCookie().find((c) => c.startsWith("oidc_browser="));
  assert.ok(browserCookie, "the CSRF nonce cookie is set");
  assert.match(browserCookie, /HttpOnly/);
  assert.doesNotMatch(browserCookie, /Secure/);
  const html = await res.text();
  assert.equal(field(html, "step"), "login");
  assert.equal(field(html, "username"), "authz-alice", "login_hint prefills the username");
  assert.doesNotMatch(html, /role="alert"/);

  const wrong = await submit(worker, jar, html, { username: "authz-alice", password: "wrong" });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get("x-frame-options"), "DENY");
  assert.equal(wrong.headers.getSetCookie().some((c) => c.startsWith("oidc_session=")), false);
  const again = await wrong.text();
  assert.match(again, /role="alert"[^>]*>Incorrect username or password\./);
  assert.equal(field(again, "step"), "login");
  assert.equal(field(again, "username"), "authz-alice", "the typed username is kept");
  assert.match(again, /id="password"[^>]*autofocus/, "the focus waits in the password field");
  assert.doesNotMatch(again, /password"[^>]*value=/, "the password is never echoed");
  // Something that cannot be a username is not echoed back.
  const odd = await submit(worker, jar, again, { username: "a b<c", password: "x" });
  assert.equal(odd.status, 401);
  const oddHtml = await odd.text();
  assert.equal(field(oddHtml, "username"), "authz-alice", "the request's login_hint stays");
  assert.doesNotMatch(oddHtml, /a b&lt;c/);
  // An unknown user gets the very same message.
  const unknown = await submit(worker, jar, oddHtml, { username: "nobody-here", password: "x" });
  assert.equal(unknown.status, 401);
  const unknownHtml = await unknown.text();
  assert.match(unknownHtml, /Incorrect username or password\./);

  const ok = await submit(worker, jar, unknownHtml, { username: user.username, password: user.password });
  assert.equal(ok.status, 200);
  const session = ok.headers.getSetCookie().find((c) => c.startsWith("oidc_session="));
  assert.ok(session, "login sets the session cookie");
  assert.match(session, /HttpOnly/);
  assert.match(session, /SameSite=Lax/i);
  assert.doesNotMatch(session, /Secure/);
  assert.equal(ok.headers.get("x-frame-options"), "DENY");
  assert.match(ok.headers.get("content-security-policy"), /frame-ancestors 'none'/);
  const consent = await ok.text();
  assert.equal(field(consent, "step"), "consent");
  assert.match(consent, /value="allow"/);
  assert.match(consent, /value="deny"/);
});

test("the error page carries the anti-framing headers too", async () => {
  const res = await worker.fetch("/authorize?client_id=nope&response_type=code");
  await assertErrorPage(res, "unknown client");
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  assert.match(res.headers.get("content-security-policy"), /frame-ancestors 'none'/);
});

test("POST /authorize with form parameters works like GET; /authorize/ too", async () => {
  const jar = new Jar();
  const { params } = authParams(client);
  const res = jar.take(await worker.fetch("/authorize", form(params)));
  assert.equal(res.status, 200);
  assert.equal(field(await res.text(), "step"), "login");
  const slash = await authorize(worker, new Jar(), params).then(() => worker.fetch(`/authorize/?${new URLSearchParams(params)}`));
  assert.equal(slash.status, 200);
  assert.equal(field(await slash.text(), "step"), "login");
  const err = await worker.fetch(`/authorize/?${new URLSearchParams({ ...params, response_type: "token" })}`);
  assertErrorRedirect(err, "unsupported_response_type", params.state, "/authorize/ error");
});

test("deny → access_denied with state and iss", async () => {
  const jar = new Jar();
  const { params } = authParams(client, { scope: "openid phone" });
  let res = await authorize(worker, jar, params);
  res = await submit(worker, jar, await res.text(), { username: user.username, password: user.password });
  const html = await res.text();
  assert.equal(field(html, "step"), "consent");
  res = await submit(worker, jar, html, { decision: "deny" });
  assert.equal(res.status, 303, "303 after a form POST");
  const loc = location(res);
  assert.equal(loc.searchParams.get("error"), "access_denied");
  assert.equal(loc.searchParams.get("state"), params.state);
  assert.equal(loc.searchParams.get("iss"), worker.url);
  // Denying remembers nothing: the next request asks again.
  const next = await authorize(worker, jar, authParams(client, { scope: "openid phone" }).params);
  assert.equal(next.status, 200);
  assert.equal(field(await next.text(), "step"), "consent");
});

test("a consent form with neither allow nor deny is refused with a page", async () => {
  const jar = new Jar();
  let res = await authorize(worker, jar, authParams(client, { scope: "openid address" }).params);
  res = await submit(worker, jar, await res.text(), { username: user.username, password: user.password });
  const bad = await submit(worker, jar, await res.text(), { decision: "maybe" });
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get("location"), null);
});

test("remembered consent skips the page; a new scope asks again", async () => {
  const jar = await loggedIn();
  // Same scopes: straight back with a code.
  const same = await authorize(worker, jar, authParams(client).params);
  assert.equal(same.status, 302);
  assert.ok(location(same).searchParams.get("code"));
  // A subset of the remembered scopes: also no page.
  const fewer = await authorize(worker, jar, authParams(client, { scope: "openid email" }).params);
  assert.equal(fewer.status, 302);
  assert.ok(location(fewer).searchParams.get("code"));
  // A new scope: the consent page, listing it.
  const { params } = authParams(client, { scope: "openid email address" });
  const more = await authorize(worker, jar, params);
  assert.equal(more.status, 200);
  const html = await more.text();
  assert.equal(field(html, "step"), "consent");
  assert.match(html, /Your postal address/);
  const allowed = await submit(worker, jar, html, { decision: "allow" });
  assert.equal(allowed.status, 303);
  assert.equal(location(allowed).searchParams.get("state"), params.state);
  // Now remembered alongside the earlier ones.
  const all = await authorize(worker, jar, authParams(client, { scope: "openid email profile address offline_access" }).params);
  assert.equal(all.status, 302);
  // Consent is per client: another client asks again.
  const other = await registerClient(worker);
  const otherRes = await authorize(worker, jar, authParams(other).params);
  assert.equal(otherRes.status, 200);
  assert.equal(field(await otherRes.text(), "step"), "consent");
});

test("prompt=none: login_required without a session, consent_required without consent", async () => {
  const { params } = authParams(client, { prompt: "none" });
  assertErrorRedirect(await authorize(worker, new Jar(), params), "login_required", params.state, "no session");
  const jar = await loggedIn();
  const p2 = authParams(client, { prompt: "none", scope: "openid phone" }).params;
  assertErrorRedirect(await authorize(worker, jar, p2), "consent_required", p2.state, "new scope");
  const p3 = authParams(client, { prompt: "none" }).params;
  const ok = await authorize(worker, jar, p3);
  assert.equal(ok.status, 302);
  assert.ok(location(ok).searchParams.get("code"));
  assert.equal(location(ok).searchParams.get("state"), p3.state);
});

test("prompt=login forces the login form even with a session, then goes on", async () => {
  const jar = await loggedIn();
  const { params } = authParams(client, { prompt: "login" });
  const res = await authorize(worker, jar, params);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.equal(field(html, "step"), "login");
  const done = await submit(worker, jar, html, { username: user.username, password: user.password });
  assert.equal(done.status, 303, "consent is remembered, so a code follows the login");
  assert.ok(location(done).searchParams.get("code"));
  assert.equal(location(done).searchParams.get("state"), params.state);
});

test("prompt=consent shows the consent page even when consent is remembered", async () => {
  const jar = await loggedIn();
  const res = await authorize(worker, jar, authParams(client, { prompt: "consent" }).params);
  assert.equal(res.status, 200);
  assert.equal(field(await res.text(), "step"), "consent");
});

test("max_age=0 forces a login even right after one (OIDC Core: like prompt=login)", async () => {
  const jar = await loggedIn();
  const { params } = authParams(client, { max_age: "0" });
  const res = await authorize(worker, jar, params);
  assert.equal(res.status, 200, "max_age=0 must show the login form");
  const html = await res.text();
  assert.equal(field(html, "step"), "login");
  const done = await submit(worker, jar, html, { username: user.username, password: user.password });
  assert.equal(done.status, 303, "the fresh login satisfies max_age=0");
  assert.ok(location(done).searchParams.get("code"));
  // A generous max_age does not.
  const relaxed = await authorize(worker, jar, authParams(client, { max_age: "3600" }).params);
  assert.equal(relaxed.status, 302);
  // prompt=none with max_age=0 cannot show the form: login_required.
  const none = authParams(client, { max_age: "0", prompt: "none" }).params;
  assertErrorRedirect(await authorize(worker, jar, none), "login_required", none.state, "none + max_age=0");
});

test("CSRF: forms need this browser's nonce cookie and an untampered handle", async () => {
  const jar = new Jar();
  const fresh = await registerClient(worker); // nothing consented to yet
  const res = await authorize(worker, jar, authParams(fresh).params);
  const html = await res.text();
  const creds = { username: user.username, password: user.password };
  const stale = async (r, what) => {
    await assertErrorPage(r, what);
    assert.equal(r.headers.getSetCookie().some((c) => c.startsWith("oidc_session=")), false, `${what}: no session`);
  };
  // No oidc_browser cookie.
  await stale(await submit(worker, new Jar(), html, creds), "no cookie");
  // Another browser's cookie.
  const other = new Jar();
  await authorize(worker, other, authParams(client).params);
  await stale(await submit(worker, other, html, creds), "another browser's nonce");
  // Tampered handle, csrf, and a handle sealed for another step.
  const handle = field(html, "handle");
  const flip = (s, i) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
  for (const [what, extra] of [
    ["tampered handle (middle)", { handle: flip(handle, Math.floor(handle.length / 2)) }],
    ["tampered handle (end)", { handle: flip(handle, handle.length - 2) }],
    ["tampered csrf", { csrf: flip(field(html, "csrf"), 3) }],
    ["missing csrf", { csrf: "" }],
    ["login handle posted as consent", { step: "consent", decision: "allow" }],
  ]) {
    await stale(await submit(worker, jar, html, { ...creds, ...extra }), what);
  }
  // The untouched form still works.
  const ok = await submit(worker, jar, html, creds);
  assert.equal(ok.status, 200);
  assert.equal(field(await ok.text(), "step"), "consent");
});

test("with an https issuer the session cookie is Secure and iss is the issuer", async () => {
  const issuer = "https://id.example.test";
  const w = await startWorker({ vars: { ISSUER: issuer } });
  try {
    const c = await registerClient(w);
    const u = await createUser(w, "secure-bob");
    const jar = new Jar();
    const { params } = authParams(c);
    let res = await authorize(w, jar, params);
    assert.equal(res.status, 200);
    assert.match(res.headers.getSetCookie().find((x) => x.startsWith("oidc_browser=")), /; Secure/);
    res = await submit(w, jar, await res.text(), { username: u.username, password: u.password });
    const session = res.headers.getSetCookie().find((x) => x.startsWith("oidc_session="));
    assert.ok(session);
    assert.match(session, /; Secure/);
    assert.match(session, /HttpOnly/);
    res = await submit(w, jar, await res.text(), { decision: "allow" });
    assert.equal(res.status, 303);
    assert.equal(location(res).searchParams.get("iss"), issuer);
  } finally {
    await w.stop();
  }
});
