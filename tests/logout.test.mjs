// RP-Initiated Logout 1.0 at /logout: with an id_token_hint the session
// ends at once; without one the person is asked. The redirect back must be
// registered exactly; afterwards prompt=none gets login_required.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./helpers.mjs";
import { registerClient, createUser, authorize, authParams, field, form, Jar } from "./flow.mjs";
import { signIn, sleep } from "./lifecycle.mjs";

const LOGGED_OUT = "http://127.0.0.1:9/logged-out";

let worker;
before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

const withLogoutUri = () => registerClient(worker, { post_logout_redirect_uris: [LOGGED_OUT, "http://127.0.0.1:9/other?x=1"] });

/** A signed-in browser: { client, user, tokens, jar, params }. */
async function signedIn(w = worker, client) {
  client ??= await registerClient(w, { post_logout_redirect_uris: [LOGGED_OUT] });
  const s = await signIn(w, { client });
  return { ...s, params: s.got.params };
}

/** Whether this browser still has a session: prompt=none gives a code, or login_required. */
async function sessionOf(s, jar = s.jar, w = worker) {
  const { params } = authParams(s.client, { prompt: "none" });
  const res = await authorize(w, jar, params);
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get("location"));
  if (loc.searchParams.get("code")) return "active";
  assert.equal(loc.searchParams.get("error"), "login_required");
  return "none";
}

const logoutGet = (jar, params, w = worker) =>
  w.fetch(`/logout?${new URLSearchParams(params)}`, { headers: { cookie: jar.header() } }).then((r) => jar.take(r));
const logoutPost = (jar, params, w = worker) =>
  w.fetch("/logout", form(params, { cookie: jar.header() })).then((r) => jar.take(r));

function clearsSession(res) {
  const c = res.headers.getSetCookie().find((x) => x.startsWith("oidc_session="));
  assert.ok(c, "Set-Cookie oidc_session");
  assert.match(c, /^oidc_session=;/);
  assert.match(c, /Max-Age=0/i);
}

async function errorPage(res, pattern) {
  assert.equal(res.status, 400);
  assert.match(res.headers.get("content-type"), /^text\/html/);
  assert.equal(res.headers.get("location"), null);
  const html = await res.text();
  if (pattern) assert.match(html, pattern);
  return html;
}

test("discovery advertises end_session_endpoint", async () => {
  const doc = await (await worker.fetch("/.well-known/openid-configuration")).json();
  assert.equal(doc.end_session_endpoint, `${worker.url}/logout`);
  assert.equal((await worker.fetch("/logout/")).status, 200, "trailing slash accepted");
});

test("id_token_hint + registered post_logout_redirect_uri + state: signed out at once, back to the RP", async () => {
  const s = await signedIn(worker, await withLogoutUri());
  assert.equal(await sessionOf(s), "active");
  const oldCookies = s.jar.header();
  const res = await logoutGet(s.jar, { id_token_hint: s.tokens.id_token, post_logout_redirect_uri: LOGGED_OUT, state: "st&a te" });
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get("location"));
  assert.equal(`${loc.origin}${loc.pathname}`, LOGGED_OUT);
  assert.equal(loc.searchParams.get("state"), "st&a te");
  clearsSession(res);
  assert.equal(await sessionOf(s), "none");
  // The session is gone on the server too: the old cookie is worthless.
  const stale = new Jar();
  for (const pair of oldCookies.split("; ")) stale.cookies.set(...pair.split("="));
  assert.ok(stale.cookies.get("oidc_session"));
  assert.equal(await sessionOf(s, stale), "none");
});

test("a registered redirect with its own query keeps it; no state, no state parameter", async () => {
  const s = await signedIn(worker, await withLogoutUri());
  const res = await logoutGet(s.jar, { id_token_hint: s.tokens.id_token, post_logout_redirect_uri: "http://127.0.0.1:9/other?x=1" });
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get("location"));
  assert.equal(loc.pathname, "/other");
  assert.equal(loc.searchParams.get("x"), "1");
  assert.equal(loc.searchParams.has("state"), false);
  assert.equal(await sessionOf(s), "none");
});

test("a POSTed logout request with a hint answers 303", async () => {
  const s = await signedIn();
  const res = await logoutPost(s.jar, { id_token_hint: s.tokens.id_token, post_logout_redirect_uri: LOGGED_OUT, state: "xyz" });
  assert.equal(res.status, 303);
  assert.equal(new URL(res.headers.get("location")).searchParams.get("state"), "xyz");
  clearsSession(res);
  assert.equal(await sessionOf(s), "none");
});

test("hint without a redirect URI: the signed-out page", async () => {
  const s = await signedIn();
  const res = await logoutGet(s.jar, { id_token_hint: s.tokens.id_token, state: "ignored" });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/html/);
  assert.match(await res.text(), /signed out/i);
  clearsSession(res);
  assert.equal(await sessionOf(s), "none");
});

test("an unregistered or inexact post_logout_redirect_uri: 400 page, session kept", async () => {
  const s = await signedIn();
  for (const uri of ["http://evil.example/cb", `${LOGGED_OUT}/`, `${LOGGED_OUT}?x=1`, "http://127.0.0.1:9/cb" /* a redirect_uri, not a logout URI */]) {
    await errorPage(await logoutGet(s.jar, { id_token_hint: s.tokens.id_token, post_logout_redirect_uri: uri, state: "s" }), /not registered/);
  }
  // Without hint or client_id nothing says whose URI it would be.
  await errorPage(await logoutGet(s.jar, { post_logout_redirect_uri: LOGGED_OUT }));
  // With client_id alone the URI is checked against that client.
  const other = await registerClient(worker);
  await errorPage(await logoutGet(s.jar, { client_id: other.client_id, post_logout_redirect_uri: LOGGED_OUT }));
  assert.equal(await sessionOf(s), "active");
});

test("client_id that does not match the hint's audience, unknown client_id, forged hint: 400", async () => {
  const s = await signedIn();
  const other = await registerClient(worker, { post_logout_redirect_uris: [LOGGED_OUT] });
  await errorPage(await logoutGet(s.jar, { id_token_hint: s.tokens.id_token, client_id: other.client_id, post_logout_redirect_uri: LOGGED_OUT }), /client_id/);
  await errorPage(await logoutGet(s.jar, { client_id: "no-such-client" }));
  const [h, p] = s.tokens.id_token.split(".");
  const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url")), sub: "someone-else" })).toString("base64url");
  await errorPage(await logoutGet(s.jar, { id_token_hint: `${h}.${forgedPayload}.${s.tokens.id_token.split(".")[2]}` }), /id_token_hint/);
  await errorPage(await logoutGet(s.jar, { id_token_hint: "not-a-jwt" }));
  // An access token is not an ID token.
  await errorPage(await logoutGet(s.jar, { id_token_hint: s.tokens.access_token }));
  // A matching client_id is fine.
  const ok = await logoutGet(s.jar, { id_token_hint: s.tokens.id_token, client_id: s.client.client_id, post_logout_redirect_uri: LOGGED_OUT });
  assert.equal(ok.status, 302);
  assert.equal(await sessionOf(s), "none");
});

test("without a hint: a confirmation form; decision=yes signs out and goes back with state", async () => {
  const s = await signedIn();
  const page = await logoutGet(s.jar, { client_id: s.client.client_id, post_logout_redirect_uri: LOGGED_OUT, state: "abc" });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.equal(field(html, "step"), "logout");
  assert.ok(field(html, "handle") && field(html, "csrf"));
  assert.match(html, /Test RP/, "names the client that asked");
  // Nothing has happened yet.
  assert.equal(await sessionOf(s), "active");
  const res = await logoutPost(s.jar, { step: "logout", handle: field(html, "handle"), csrf: field(html, "csrf"), decision: "yes" });
  assert.equal(res.status, 303);
  const loc = new URL(res.headers.get("location"));
  assert.equal(`${loc.origin}${loc.pathname}`, LOGGED_OUT);
  assert.equal(loc.searchParams.get("state"), "abc");
  clearsSession(res);
  assert.equal(await sessionOf(s), "none");
});

test("without a hint or redirect: decision=yes shows the signed-out page", async () => {
  const s = await signedIn();
  const html = await (await logoutGet(s.jar, {})).text();
  const res = await logoutPost(s.jar, { step: "logout", handle: field(html, "handle"), csrf: field(html, "csrf"), decision: "yes" });
  assert.equal(res.status, 200);
  assert.match(await res.text(), /signed out/i);
  clearsSession(res);
  assert.equal(await sessionOf(s), "none");
});

test("decision=no keeps the session (back to the RP with state, or a page)", async () => {
  const s = await signedIn();
  let html = await (await logoutGet(s.jar, { client_id: s.client.client_id, post_logout_redirect_uri: LOGGED_OUT, state: "keep" })).text();
  let res = await logoutPost(s.jar, { step: "logout", handle: field(html, "handle"), csrf: field(html, "csrf"), decision: "no" });
  assert.equal(res.status, 303);
  assert.equal(new URL(res.headers.get("location")).searchParams.get("state"), "keep");
  assert.equal(res.headers.getSetCookie().some((c) => c.startsWith("oidc_session=")), false);
  assert.equal(await sessionOf(s), "active");
  html = await (await logoutGet(s.jar, {})).text();
  res = await logoutPost(s.jar, { step: "logout", handle: field(html, "handle"), csrf: field(html, "csrf"), decision: "no" });
  assert.equal(res.status, 200);
  assert.match(await res.text(), /still signed in/i);
  assert.equal(await sessionOf(s), "active");
  // No decision at all: refused, nothing changes.
  html = await (await logoutGet(s.jar, {})).text();
  res = await logoutPost(s.jar, { step: "logout", handle: field(html, "handle"), csrf: field(html, "csrf") });
  await errorPage(res);
  assert.equal(await sessionOf(s), "active");
});

test("a hint for someone else than the signed-in person asks first", async () => {
  const client = await registerClient(worker, { post_logout_redirect_uris: [LOGGED_OUT] });
  const alice = await signedIn(worker, client);
  const bob = await signIn(worker, { client, user: await createUser(worker) });
  const res = await logoutGet(alice.jar, { id_token_hint: bob.tokens.id_token, post_logout_redirect_uri: LOGGED_OUT });
  assert.equal(res.status, 200);
  assert.equal(field(await res.text(), "step"), "logout");
  assert.equal(await sessionOf(alice), "active");
});

test("stale or forged confirmation forms: 400, session kept", async () => {
  const s = await signedIn();
  const html = await (await logoutGet(s.jar, { client_id: s.client.client_id, post_logout_redirect_uri: LOGGED_OUT })).text();
  const handle = field(html, "handle"), csrf = field(html, "csrf");
  const tampered = handle.slice(0, -2) + (handle.endsWith("AA") ? "BB" : "AA");
  const attempts = [
    { step: "logout", handle: tampered, csrf, decision: "yes" },
    { step: "logout", handle, csrf: csrf.slice(0, -2) + (csrf.endsWith("AA") ? "BB" : "AA"), decision: "yes" },
    { step: "logout", handle, decision: "yes" },
    { step: "logout", csrf, decision: "yes" },
  ];
  for (const body of attempts) await errorPage(await logoutPost(s.jar, body), /expired|did not come/);
  // The right fields from another browser (cross-site request forgery): no.
  const other = new Jar();
  other.cookies.set("oidc_session", s.jar.cookies.get("oidc_session"));
  await errorPage(await logoutPost(other, { step: "logout", handle, csrf, decision: "yes" }));
  // A login form's handle is not a logout handle.
  const login = await authorize(worker, new Jar(), authParams(s.client).params);
  const loginHtml = await login.text();
  assert.equal(field(loginHtml, "step"), "login");
  await errorPage(await logoutPost(s.jar, { step: "logout", handle: field(loginHtml, "handle"), csrf: field(loginHtml, "csrf"), decision: "yes" }));
  assert.equal(await sessionOf(s), "active");
  // The genuine form still works.
  assert.equal((await logoutPost(s.jar, { step: "logout", handle, csrf, decision: "yes" })).status, 303);
  assert.equal(await sessionOf(s), "none");
});

test("an expired id_token_hint is still accepted (RP-Initiated Logout §2)", async () => {
  const w = await startWorker({ vars: { ID_TOKEN_TTL: "1" } });
  try {
    const client = await registerClient(w, { post_logout_redirect_uris: [LOGGED_OUT] });
    const s = { ...(await signIn(w, { client })), client };
    await sleep(2100);
    const res = await logoutGet(s.jar, { id_token_hint: s.tokens.id_token, post_logout_redirect_uri: LOGGED_OUT, state: "late" }, w);
    assert.equal(res.status, 302);
    assert.equal(new URL(res.headers.get("location")).searchParams.get("state"), "late");
    assert.equal(await sessionOf(s, s.jar, w), "none");
  } finally {
    await w.stop();
  }
});

test("logout without a session: nothing to end, the signed-out page or the redirect", async () => {
  const client = await registerClient(worker, { post_logout_redirect_uris: [LOGGED_OUT] });
  const res = await logoutGet(new Jar(), { client_id: client.client_id, post_logout_redirect_uri: LOGGED_OUT, state: "n" });
  assert.equal(res.status, 302);
  assert.equal(new URL(res.headers.get("location")).searchParams.get("state"), "n");
  const page = await logoutGet(new Jar(), {});
  assert.equal(page.status, 200);
  assert.match(await page.text(), /signed out/i);
});
