// Passkeys over HTTP, with a software authenticator (bench/authenticator.mjs)
// in place of a browser: what the server refuses and what a passkey
// sign-in puts in the ID token. The browser side is passkeys_browser.test.mjs.
//
// The issuer is http://localhost (a name, as WebAuthn's RP ID must be);
// requests still go to 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import {
  registerClient, createUser, authorize, authParams, submit, field, dataAttr, enrolPasskey, exchange, decodeJwt, Jar,
} from "./flow.mjs";
import { SoftAuthenticator } from "../bench/authenticator.mjs";

const ORIGIN = "http://localhost";

let worker, client;
before(async () => {
  worker = await startWorker({ vars: { ISSUER: ORIGIN } });
  client = await registerClient(worker);
});
after(async () => { await worker?.stop(); });

const device = (options = {}) => new SoftAuthenticator({ rpId: "localhost", origin: ORIGIN, ...options });

/** A passkey-only account with `authenticator`'s passkey enrolled. */
async function passkeyPerson(authenticator = device()) {
  const username = `pk${Math.random().toString(36).slice(2, 8)}`;
  const res = await worker.fetch("/admin/users", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ username }),
  });
  assert.equal(res.status, 201);
  const { sub } = await res.json();
  const enrolled = await enrolPasskey(worker, username, authenticator);
  assert.equal(enrolled.status, 303, await enrolled.clone().text());
  assert.equal(enrolled.headers.get("location"), "/account?done=passkey-added");
  return { username, sub, authenticator };
}

/** An authorization request's login page, as a new browser. */
async function loginPage(overrides = {}) {
  const jar = new Jar();
  const { params, verifier } = authParams(client, overrides);
  const res = await authorize(worker, jar, params);
  assert.equal(res.status, 200);
  return { jar, html: await res.text(), verifier };
}

/** Posts the page's passkey form with `credential`. */
const postPasskey = (jar, html, credential) =>
  submit(worker, jar, html, { step: "passkey", credential: JSON.stringify(credential) });

/** Signs in with the passkey and consents; the ID token's claims. */
async function signInAndRedeem(person, overrides = {}) {
  const { jar, html, verifier } = await loginPage(overrides);
  let res = await postPasskey(jar, html, person.authenticator.get({ challenge: dataAttr(html, "challenge") }));
  if (res.status === 200) res = await submit(worker, jar, await res.text(), { decision: "allow" });
  assert.equal(res.status, 303, await res.clone().text());
  const code = new URL(res.headers.get("location")).searchParams.get("code");
  return decodeJwt((await exchange(worker, client, { code, verifier })).id_token).payload;
}

test("the login page offers the passkey with the script under its nonce, and the script is served", async () => {
  const res = await authorize(worker, new Jar(), authParams(client).params);
  const html = await res.text();
  const csp = res.headers.get("content-security-policy");
  const nonce = html.match(/<script src="\/assets\/passkey\.js" nonce="([^"]+)" defer><\/script>/)?.[1];
  assert.ok(nonce, "the script tag");
  assert.ok(csp.includes(`script-src 'nonce-${nonce}'`), csp);
  assert.equal(dataAttr(html, "rp-id"), "localhost");
  assert.match(html, /autocomplete="username webauthn"/);
  const script = await worker.fetch("/assets/passkey.js");
  assert.equal(script.status, 200);
  assert.match(script.headers.get("content-type"), /^text\/javascript/);
  assert.match(await script.text(), /navigator\.credentials/);
  assert.equal((await worker.fetch("/assets/passkey.js", { method: "POST" })).status, 405);
});

test("an issuer on an IP address has no passkey form and no script", async () => {
  const ip = await startWorker();
  try {
    const own = await registerClient(ip);
    const html = await (await authorize(ip, new Jar(), authParams(own).params)).text();
    assert.doesNotMatch(html, /data-webauthn|<script/);
    assert.match(html, /name="password"/);
  } finally {
    await ip.stop();
  }
});

test("a passkey sign-in: no password, amr hwk/swk + user, acr phr when asked", async () => {
  const person = await passkeyPerson();
  const claims = await signInAndRedeem(person, { acr_values: "phr" });
  assert.equal(claims.sub, person.sub);
  assert.deepEqual(claims.amr, ["hwk", "user"]);
  assert.equal(claims.acr, "phr");
  const synced = await passkeyPerson(device({ backupEligible: true }));
  const again = await signInAndRedeem(synced);
  assert.deepEqual(again.amr, ["swk", "user"]);
  assert.equal(again.acr, undefined, "no acr unless asked");
});

test("refused: a replayed assertion, another origin or RP ID, no user verification, a counter going back", async () => {
  const person = await passkeyPerson();
  const refusedWith = async (make, pattern, what) => {
    const { jar, html } = await loginPage();
    const res = await postPasskey(jar, html, make(dataAttr(html, "challenge")));
    assert.equal(res.status, 401, what);
    const page = await res.text();
    assert.match(page, pattern, what);
    assert.equal(field(page, "step"), "login", `${what}: the sign-in page again`);
    assert.equal(res.headers.getSetCookie().some((c) => c.startsWith("oidc_session=")), false, what);
  };
  const unverified = /That passkey could not be verified/;
  const a = person.authenticator;
  await refusedWith((challenge) => a.get({ challenge, origin: "http://evil.example" }), unverified, "origin");
  await refusedWith((challenge) => a.get({ challenge, rpId: "evil.example" }), unverified, "RP ID");
  await refusedWith((challenge) => a.get({ challenge, userVerified: false }), unverified, "UV");
  await refusedWith(() => a.get({ challenge: Buffer.alloc(32, 7).toString("base64url") }), unverified, "another challenge");
  await refusedWith(() => ({ id: "x", type: "public-key" }), unverified, "garbage");
  // Signed in once (the server keeps the counter it saw), then a clone's lower count.
  await signInAndRedeem(person);
  a.signCount -= 2;
  await refusedWith((challenge) => a.get({ challenge }), /may have been copied/, "counter going back");

  // The same form and assertion twice: the second post is refused as stale.
  const { jar, html } = await loginPage();
  a.signCount = 100;
  const credential = a.get({ challenge: dataAttr(html, "challenge") });
  const first = await postPasskey(jar, html, credential);
  assert.ok([200, 303].includes(first.status), `${first.status}`);
  const replay = await postPasskey(jar, html, credential);
  assert.equal(replay.status, 400);
  assert.match(await replay.text(), /already sent/);
});

test("an unknown passkey, and a deleted account's, sign nobody in; no password opens a passkey-only account", async () => {
  const stranger = device();
  stranger.create({ challenge: "AA", user: { id: Buffer.from("no-such-sub").toString("base64url") } });
  const { jar, html } = await loginPage();
  const res = await postPasskey(jar, html, stranger.get({ challenge: dataAttr(html, "challenge") }));
  assert.equal(res.status, 401);
  assert.match(await res.text(), /not registered with any account/);

  const person = await passkeyPerson();
  const page = await loginPage();
  const password = await submit(worker, page.jar, page.html, { username: person.username, password: "correct horse battery" });
  assert.equal(password.status, 401, "a passkey-only account has no password");

  const del = await worker.fetch(`/admin/users/${person.username}`, { method: "DELETE", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(del.status, 204);
  const after = await loginPage();
  const gone = await postPasskey(after.jar, after.html, person.authenticator.get({ challenge: dataAttr(after.html, "challenge") }));
  assert.equal(gone.status, 401);
  assert.match(await gone.text(), /not registered with any account/);
});

test("an enrollment link: single use, refused when altered or its account was replaced, a bad ceremony leaves it working", async () => {
  const user = await createUser(worker);
  const link = async () => {
    const res = await worker.fetch(`/admin/users/${user.username}/enrollment`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return new URL((await res.json()).enrollment_url);
  };
  const url = await link();
  const open = async (u, jar = new Jar()) => {
    const res = jar.take(await worker.fetch(u.pathname + u.search, { headers: { cookie: jar.header() } }));
    return { res, jar, html: await res.text() };
  };
  const altered = new URL(url);
  altered.searchParams.set("token", `${url.searchParams.get("token")}x`);
  const bad = await open(altered);
  assert.equal(bad.res.status, 400);
  assert.match(bad.html, /cannot be used/);
  assert.equal((await open(new URL("/account/enroll", url))).res.status, 400, "no token");

  // A ceremony for another challenge is refused; the link still works.
  const a = device();
  const page = await open(url);
  const wrong = a.create({ challenge: Buffer.alloc(32).toString("base64url"), user: { id: dataAttr(page.html, "user-id") } });
  const refused = await submit(worker, page.jar, page.html, { credential: JSON.stringify(wrong), name: "x" }, "/account/enroll");
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /could not be verified/);
  const retry = await open(url);
  const good = a.create({ challenge: dataAttr(retry.html, "challenge"), user: { id: dataAttr(retry.html, "user-id") } });
  const ok = await submit(worker, retry.jar, retry.html, { credential: JSON.stringify(good), name: "Key" }, "/account/enroll");
  assert.equal(ok.status, 303);
  // Used: another ceremony with a fresh page of the same link is refused.
  const third = await open(url);
  const b = device();
  const late = b.create({ challenge: dataAttr(third.html, "challenge"), user: { id: dataAttr(third.html, "user-id") } });
  const used = await submit(worker, third.jar, third.html, { credential: JSON.stringify(late), name: "Key 2" }, "/account/enroll");
  assert.equal(used.status, 400);
  assert.match(await used.text(), /cannot be used/);
  // The account replaced under the same name: an old link is void.
  const old = await link();
  await worker.fetch(`/admin/users/${user.username}`, { method: "DELETE", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  await createUser(worker, user.username);
  assert.match((await open(old)).html, /cannot be used/);
});

test("an administrator signs in to the admin console with a passkey, and re-authenticates with it", async () => {
  const person = await passkeyPerson();
  const put = await worker.fetch(`/admin/users/${person.username}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ admin: true }),
  });
  assert.equal(put.status, 200);
  const jar = new Jar();
  const get = async (path) => jar.take(await worker.fetch(path, { headers: { cookie: jar.header() } }));
  const login = await (await get("/admin/login")).text();
  assert.match(login, /<script src="\/assets\/passkey\.js" nonce="[^"]+" defer><\/script>/);
  const signedIn = await submit(worker, jar, login,
    { step: "passkey", credential: JSON.stringify(person.authenticator.get({ challenge: dataAttr(login, "challenge") })) }, "/admin/login");
  assert.equal(signedIn.status, 303, await signedIn.clone().text());
  assert.equal(signedIn.headers.get("location"), "/admin");
  assert.ok(!jar.cookies.has("oidc_session"), "a console session only");
  assert.equal((await get("/admin")).status, 200);
  // Re-authentication: the same page, the same passkey, back to the page asked for.
  const back = "/admin/signing-keys/rotate?reason=scheduled";
  const again = await (await get(`/admin/login?return_to=${encodeURIComponent(back)}`)).text();
  assert.match(again, /Sign in again to confirm it is you/);
  const renewed = await submit(worker, jar, again,
    { step: "passkey", credential: JSON.stringify(person.authenticator.get({ challenge: dataAttr(again, "challenge") })) }, "/admin/login");
  assert.equal(renewed.status, 303);
  assert.equal(renewed.headers.get("location"), back);
  // A replayed assertion (same challenge) signs no one in.
  const replay = await submit(worker, jar, again,
    { step: "passkey", credential: JSON.stringify(person.authenticator.get({ challenge: dataAttr(again, "challenge") })) }, "/admin/login");
  assert.equal(replay.status, 400);
});
