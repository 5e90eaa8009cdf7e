// The account page (/account): signing in to it, the apps a person has
// allowed and withdrawing one (which ends that app's tokens, not other
// apps'), changing the password and signing out everywhere (which end
// sessions), and the forms' protection (CSRF, single use, the person they
// were shown to). Every answer a person gets is an HTML page, never 5xx.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./helpers.mjs";
import { registerClient, createUser, obtainCode, exchange, field, form, submit, Jar } from "./flow.mjs";
import { refresh, assertError, userinfoStatus, introspect } from "./lifecycle.mjs";

let worker;
before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

const get = async (jar, path) => jar.take(await worker.fetch(path, { headers: { cookie: jar.header() } }));
const post = async (jar, path, body, headers = {}) =>
  jar.take(await worker.fetch(path, form(body, { cookie: jar.header(), ...headers })));

/** The markup of the page's form posting to `action` (the one mentioning `also`, if given). */
function formOf(html, action, also = "") {
  const found = html.split("<form").slice(1).map((f) => f.slice(0, f.indexOf("</form>")))
    .find((f) => f.includes(`action="${action}"`) && f.includes(also));
  assert.ok(found, `a form to ${action} ${also}`);
  return found;
}

/** Posts the page's form to `action` with its hidden fields and `extra`. */
function postForm(jar, html, action, extra = {}, also = "") {
  const f = formOf(html, action, also);
  return post(jar, action, { handle: field(f, "handle"), csrf: field(f, "csrf"), ...extra });
}

/** An HTML page with `status` and the pages' security headers; its text. */
async function page(res, status, pattern) {
  const text = await res.text();
  assert.equal(res.status, status, text.slice(0, 400));
  assert.match(res.headers.get("content-type"), /^text\/html/);
  assert.match(res.headers.get("content-security-policy"), /frame-ancestors 'none'/);
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  if (pattern) assert.match(text, pattern);
  return text;
}

const goesTo = (res, path) => {
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), path);
};

/** Signs `user` in at /account/login in `jar`; returns the account page. */
async function signIn(user, jar = new Jar()) {
  const login = await page(await get(jar, "/account/login"), 200, /to continue to <strong>your account<\/strong>/);
  goesTo(await submit(worker, jar, login, { username: user.username, password: user.password }, "/account/login"), "/account");
  return page(await get(jar, "/account"), 200, new RegExp(`Signed in as .*${user.username}`));
}

/** Allows `client` (openid, offline_access) in `jar`'s session; its tokens. */
async function allow(client, user, jar) {
  return exchange(worker, client, await obtainCode(worker, client, user, { jar }));
}

test("without a session /account and its forms send the person to sign in", async () => {
  const jar = new Jar();
  goesTo(await get(jar, "/account"), "/account/login");
  goesTo(await get(jar, "/account/"), "/account/login");
  goesTo(await post(jar, "/account/password", { new_password: "whatever at all" }), "/account/login");
  goesTo(await post(jar, "/account/sessions", {}), "/account/login");
});

test("the account's own sign-in: the login page without a client, throttled and single-use", async () => {
  const user = await createUser(worker);
  const jar = new Jar();
  const login = await page(await get(jar, "/account/login"), 200, /your account/);
  assert.equal(field(login, "step"), "login");
  const wrong = await submit(worker, jar, login, { username: user.username, password: "not the password" }, "/account/login");
  const again = await page(wrong, 401, /Incorrect username or password/);
  assert.equal(field(again, "username"), user.username, "the username is kept");
  // The first form was used up by that attempt (this one still counts as an attempt, as at /authorize).
  await page(await submit(worker, jar, login, { username: user.username, password: user.password }, "/account/login"), 400, /already sent/);
  // Three more wrong passwords make five failures: the account's throttle then refuses, unchecked.
  let html = again;
  for (let i = 0; i < 3; i++) {
    html = await page(await submit(worker, jar, html, { username: user.username, password: "guess" }, "/account/login"), 401);
  }
  const refused = await submit(worker, jar, html, { username: user.username, password: user.password }, "/account/login");
  assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  await page(refused, 429, /Too many sign-in attempts/);
  const other = await createUser(worker);
  await signIn(other, jar);
  // Signed in, the login page goes straight to the account.
  goesTo(await get(jar, "/account/login"), "/account");
});

test("the page lists the apps allowed; withdrawing one ends its tokens and not another's", async () => {
  const user = await createUser(worker, undefined, { name: "Ada <Lovelace>" });
  const jar = new Jar();
  const shown = await signIn(user, jar);
  assert.match(shown, /Ada &lt;Lovelace&gt;/, "escaped");
  assert.match(shown, /You have not allowed any apps/);
  const a = await registerClient(worker, { client_name: "Alpha & Co" });
  const b = await registerClient(worker, { client_name: "Beta" });
  const ta = await allow(a, user, jar);
  const tb = await allow(b, user, jar);
  assert.ok(ta.refresh_token && tb.refresh_token);
  let html = await page(await get(jar, "/account"), 200);
  assert.match(html, /Alpha &amp; Co/);
  assert.match(html, /Beta/);
  assert.match(html, /Stay signed in to the app when you are away/);
  assert.match(html, /its tokens stop working/);

  goesTo(await postForm(jar, html, "/account/consents", { client_id: a.client_id }, a.client_id), "/account?done=withdrawn");
  html = await page(await get(jar, "/account?done=withdrawn"), 200, /role="status">The app&#39;s access has been withdrawn/);
  assert.doesNotMatch(html, /Alpha/);
  assert.match(html, /Beta/);

  await assertError(await refresh(worker, a, ta.refresh_token), 400, "invalid_grant");
  assert.equal(await userinfoStatus(worker, ta.access_token), 401);
  assert.equal((await (await introspect(worker, a, ta.access_token)).json()).active, false);
  assert.equal(await userinfoStatus(worker, tb.access_token), 200);
  const rb = await refresh(worker, b, tb.refresh_token);
  assert.equal(rb.status, 200);
  const tb2 = await rb.json();
  assert.equal(await userinfoStatus(worker, tb2.access_token), 200);

  // The session stands: the app asks again, and its new grant works.
  await new Promise((r) => setTimeout(r, 1100));
  const again = await allow(a, user, jar);
  assert.equal(await userinfoStatus(worker, again.access_token), 200);
  assert.equal((await refresh(worker, a, again.refresh_token)).status, 200);

  // Withdrawn in one tab, then again from another tab's (unused) form: nothing left to withdraw.
  const tab1 = await page(await get(jar, "/account"), 200);
  const tab2 = await page(await get(jar, "/account"), 200);
  goesTo(await postForm(jar, tab1, "/account/consents", { client_id: b.client_id }, b.client_id), "/account?done=withdrawn");
  await page(await postForm(jar, tab2, "/account/consents", { client_id: b.client_id }, b.client_id), 400, /does not have your consent/);
  await assertError(await refresh(worker, b, tb2.refresh_token), 400, "invalid_grant");
});

/** Registers a passkey for `sub` straight in its Durable Object (no ceremony: the page only lists it). */
async function seedPasskey(user, passkey) {
  const ns = await worker.mf.getDurableObjectNamespace("PASSKEYS");
  const stub = ns.get(ns.idFromName(user.sub));
  const call = { op: { add: { username: user.username, passkey } }, now: Math.floor(Date.now() / 1000) };
  assert.deepEqual(JSON.parse(await stub.run(JSON.stringify(call))), "added");
}

test("the passkeys section lists the account's passkeys, renames and removes them", async () => {
  const user = await createUser(worker);
  const jar = new Jar();
  let html = await signIn(user, jar);
  assert.match(html, /You have no passkeys yet/);
  assert.doesNotMatch(html, /data-webauthn/, "no add form on an IP-address issuer");
  const id = "Y3JlZGVudGlhbC0x";
  await seedPasskey(user, {
    id, name: "Work laptop", sign_count: 0, backup_eligible: true, transports: ["internal"],
    created_at: 1_764_633_600, last_used_at: null,
    public_key: { alg: "ES256", jwk: { kty: "EC", crv: "P-256", x: "AAAA", y: "AAAA" } },
  });
  html = await page(await get(jar, "/account"), 200);
  assert.match(html, /<strong>Work laptop<\/strong><small>added 2025-12-02, never used, synced to your devices/);

  const rename = (extra) => postForm(jar, html, "/account/passkeys", { step: "rename", credential_id: id, ...extra }, 'value="rename"');
  html = await page(await rename({ name: "   " }), 400, /1 to 64 characters/);
  goesTo(await rename({ name: "Phone <1>" }), "/account?done=passkey-renamed");
  html = await page(await get(jar, "/account?done=passkey-renamed"), 200, /Your passkey has been renamed/);
  assert.match(html, /<strong>Phone &lt;1&gt;<\/strong>/);

  // A registration posted where the issuer is an IP address (no add form here): refused with a page.
  html = await page(await postForm(jar, html, "/account/passkeys", { step: "add", credential: "{}" }, 'value="remove"'), 400, /Passkeys are not available here/);
  const remove = (credential_id) => postForm(jar, html, "/account/passkeys", { step: "remove", credential_id }, 'value="remove"');
  html = await page(await remove("bm90LW1pbmU"), 400, /not on your account/);
  goesTo(await remove(id), "/account?done=passkey-removed");
  html = await page(await get(jar, "/account?done=passkey-removed"), 200, /no longer signs you in/);
  assert.match(html, /You have no passkeys yet/);

});

test("a password change needs the current one, ends the other browsers' sessions, not this one's", async () => {
  const user = await createUser(worker);
  const here = new Jar();
  const there = new Jar();
  let html = await signIn(user, here);
  await signIn(user, there);
  const change = (extra) => postForm(here, html, "/account/password", extra);
  const newPassword = "a much better passphrase";

  html = await page(await change({ current_password: "wrong one", new_password: newPassword, confirm_password: newPassword }), 401, /current password is not right/);
  html = await page(await change({ current_password: user.password, new_password: "short", confirm_password: "short" }), 400, /8 to 1024 characters/);
  html = await page(await change({ current_password: user.password, new_password: newPassword, confirm_password: "typo" }), 400, /confirmation differ/);
  goesTo(await change({ current_password: user.password, new_password: newPassword, confirm_password: newPassword }), "/account?done=password");

  await page(await get(here, "/account?done=password"), 200, /Your password has been changed/);
  goesTo(await get(there, "/account"), "/account/login");
  // The new password signs in; the old one no longer does.
  await signIn({ ...user, password: newPassword });
  const jar = new Jar();
  const login = await page(await get(jar, "/account/login"), 200);
  await page(await submit(worker, jar, login, { username: user.username, password: user.password }, "/account/login"), 401);
});

test("sign out everywhere ends every session, this one too", async () => {
  const user = await createUser(worker);
  const here = new Jar();
  const there = new Jar();
  const html = await signIn(user, here);
  await signIn(user, there);
  const res = await postForm(here, html, "/account/sessions");
  await page(res, 200, /You have been signed out/);
  assert.ok(res.headers.getSetCookie().some((c) => /^oidc_session=;/.test(c)));
  goesTo(await get(here, "/account"), "/account/login");
  goesTo(await get(there, "/account"), "/account/login");
});

test("forms without, with a wrong or replayed CSRF token, or shown to someone else, are refused with a page", async () => {
  const user = await createUser(worker);
  const jar = new Jar();
  const html = await signIn(user, jar);
  const f = formOf(html, "/account/sessions");
  const [handle, csrf] = [field(f, "handle"), field(f, "csrf")];
  const refused = /has expired, was already sent, or did not come from this page/;
  await page(await post(jar, "/account/sessions", {}), 400, refused);
  await page(await post(jar, "/account/sessions", { handle }), 400, refused);
  await page(await post(jar, "/account/sessions", { handle, csrf: csrf.slice(1) + "A" }), 400, refused);
  // Another browser, with this browser's session cookie but its own CSRF cookie.
  const thief = new Jar();
  thief.cookies.set("oidc_session", jar.cookies.get("oidc_session"));
  await page(await post(thief, "/account/sessions", { handle, csrf }), 400, refused);
  // A form for one action posted to another.
  const pw = formOf(html, "/account/password");
  await page(await post(jar, "/account/sessions", { handle: field(pw, "handle"), csrf: field(pw, "csrf") }), 400, refused);
  // Used once, refused the second time.
  const first = await post(jar, "/account/password", {
    handle: field(pw, "handle"), csrf: field(pw, "csrf"), current_password: "x", new_password: "short", confirm_password: "short",
  });
  await page(first, 400, /8 to 1024/);
  const second = await post(jar, "/account/password", {
    handle: field(pw, "handle"), csrf: field(pw, "csrf"), current_password: "x", new_password: "short", confirm_password: "short",
  });
  await page(second, 400, refused);
  // A form shown to another person in this browser (signed out, another signed in).
  const other = await createUser(worker);
  jar.cookies.delete("oidc_session");
  const otherPage = await signIn(other, jar);
  await page(await postForm(jar, html, "/account/sessions"), 400, refused);
  // ...while that person's own form works.
  await page(await postForm(jar, otherPage, "/account/sessions"), 200, /signed out/);
});

test("bad requests get a clear page, never JSON or 5xx", async () => {
  const user = await createUser(worker);
  const jar = new Jar();
  const html = await signIn(user, jar);
  const f = formOf(html, "/account/password");
  const json = await worker.fetch("/account/password", {
    method: "POST", headers: { cookie: jar.header(), "content-type": "application/json" }, body: "{}",
  });
  await page(json, 415, /x-www-form-urlencoded/);
  const repeated = `handle=${encodeURIComponent(field(f, "handle"))}&csrf=${encodeURIComponent(field(f, "csrf"))}&new_password=a&new_password=b`;
  const twice = await worker.fetch("/account/password", {
    method: "POST", headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" }, body: repeated,
  });
  await page(twice, 400, /new_password/);
  const big = await worker.fetch("/account/password", {
    method: "POST", headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" }, body: "x=" + "a".repeat(70_000),
  });
  await page(big, 413);
  await page(await get(jar, "/account/password"), 405);
  await page(await post(jar, "/account", {}), 405);
  await page(await get(jar, "/account/nothing-here"), 404);
  const fresh = new Jar();
  const login = await page(await get(fresh, "/account/login"), 200);
  const hidden = { handle: field(login, "handle"), csrf: field(login, "csrf") };
  await page(await post(fresh, "/account/login", { ...hidden, step: "nonsense" }), 400, /does not say how to sign in/);
  await page(await post(fresh, "/account/login", { handle: "x", csrf: "y", step: "login" }), 400, /Sign in again/);
});
