// User accounts: POST /admin/users, GET/PUT/DELETE /admin/users/{username},
// all behind the admin token; the password hash never leaves the server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import {
  registerClient, obtainCode, exchange, decodeJwt, authorize, submit, authParams, field, form, basicAuth, Jar,
} from "./flow.mjs";

const ADMIN = `Bearer ${ADMIN_TOKEN}`;
const PASSWORD = "correct horse battery";

const send = (worker, method, path, body, auth = ADMIN) => worker.fetch(path, {
  method,
  headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
const createUser = (worker, body, auth) => send(worker, "POST", "/admin/users", body, auth);
const user = (worker, method, username, body, auth) => send(worker, method, `/admin/users/${username}`, body, auth);

/** Every key of a JSON value, at any depth. */
const keysDeep = (v) => (v && typeof v === "object"
  ? Object.entries(v).flatMap(([k, x]) => [...(Array.isArray(v) ? [] : [k]), ...keysDeep(x)])
  : []);

/** Reads a JSON answer with `status`; asserts no password material anywhere in it. */
async function answer(res, status) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json\b/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const body = JSON.parse(text);
  for (const k of keysDeep(body)) assert.ok(!["password", "hash", "salt", "iterations"].includes(k), `${k} in ${text}`);
  assert.ok(!text.includes(PASSWORD) && !text.includes("pbkdf2"), text);
  return body;
}

async function expectError(res, status, error) {
  const body = await answer(res, status);
  assert.equal(body.error, error, JSON.stringify(body));
  assert.equal(typeof body.error_description, "string");
  return res;
}

async function expect401(res, tokenSent) {
  await expectError(res, 401, tokenSent ? "invalid_token" : "invalid_request");
  assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer\b/);
}

/** Walks authorize up to the login form and submits `password`; returns the response. */
async function tryLogin(worker, client, username, password) {
  const jar = new Jar();
  const page = await authorize(worker, jar, authParams(client).params);
  const html = await page.text();
  assert.equal(field(html, "step"), "login");
  return submit(worker, jar, html, { username, password });
}

let worker, client;
before(async () => {
  worker = await startWorker();
  client = await registerClient(worker);
});
after(async () => { await worker?.stop(); });

test("create: 201 with sub and claims, no password material", async () => {
  const t0 = Math.floor(Date.now() / 1000);
  const claims = {
    email: "ada@example.com", email_verified: true, name: "Ada Lovelace", given_name: "Ada",
    address: { locality: "London", country: "UK" }, updated_at: 1700000000,
  };
  const body = await answer(await createUser(worker, { username: "ada", password: PASSWORD, claims }), 201);
  assert.equal(body.username, "ada");
  assert.equal(typeof body.sub, "string");
  assert.ok(body.sub.length > 0);
  assert.deepEqual(body.claims, claims);
  assert.ok(body.created_at >= t0 - 5);
  assert.equal(body.updated_at, body.created_at);
  // Claims are optional.
  const bare = await answer(await createUser(worker, { username: "bare.user+1@example.com", password: PASSWORD }), 201);
  assert.deepEqual(bare.claims, {});
  assert.notEqual(bare.sub, body.sub);
});

test("duplicate username → 409", async () => {
  await answer(await createUser(worker, { username: "dup", password: PASSWORD }), 201);
  await expectError(await createUser(worker, { username: "dup", password: "another password" }), 409, "invalid_request");
});

test("without a password: a passkey-only account and its one-time enrollment link", async () => {
  const created = await answer(await createUser(worker, { username: "passkey-only" }), 201);
  assert.equal(created.has_password, false);
  const link = new URL(created.enrollment_url);
  assert.equal(link.pathname, "/account/enroll");
  assert.ok(link.searchParams.get("token"));
  assert.ok(created.enrollment_expires_at >= Math.floor(Date.now() / 1000) + 7 * 86400 - 60, "valid 7 days");
  // GET shows the account, never a link; a new link is the admin's to ask for.
  const got = await answer(await user(worker, "GET", "passkey-only"), 200);
  assert.equal(got.enrollment_url, undefined);
  const again = await worker.fetch("/admin/users/passkey-only/enrollment", { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const fresh = await answer(again, 201);
  assert.notEqual(fresh.enrollment_url, created.enrollment_url);
  for (const [path, headers, status] of [
    ["/admin/users/passkey-only/enrollment", {}, 401],
    ["/admin/users/nobody/enrollment", { authorization: `Bearer ${ADMIN_TOKEN}` }, 404],
  ]) {
    const res = await worker.fetch(path, { method: "POST", headers });
    assert.equal(res.status, status, path);
  }
  const wrongMethod = await worker.fetch("/admin/users/passkey-only/enrollment", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(wrongMethod.status, 405);
});

test("validation errors → 400 invalid_request", async () => {
  const ok = { username: "valid", password: PASSWORD };
  const cases = {
    "username with a space": { ...ok, username: "a b" },
    "username with a slash": { ...ok, username: "a/b" },
    "username with a non-ASCII letter": { ...ok, username: "zoë" },
    "empty username": { ...ok, username: "" },
    "username too long": { ...ok, username: "x".repeat(65) },
    "username missing": { password: PASSWORD },
    "username a number": { ...ok, username: 7 },
    "short password": { ...ok, password: "short" },
    "password a number": { ...ok, password: 12345678 },
    "unknown claim": { ...ok, claims: { favourite_colour: "blue" } },
    "sub as a claim": { ...ok, claims: { sub: "me" } },
    "email_verified a string": { ...ok, claims: { email_verified: "yes" } },
    "name a number": { ...ok, claims: { name: 5 } },
    "updated_at negative": { ...ok, claims: { updated_at: -1 } },
    "address with an unknown member": { ...ok, claims: { address: { planet: "Mars" } } },
    "claims an array": { ...ok, claims: ["email"] },
    "body an array": [ok],
  };
  for (const [name, body] of Object.entries(cases)) {
    await expectError(await createUser(worker, body), 400, "invalid_request").catch((e) => {
      e.message = `${name}: ${e.message}`;
      throw e;
    });
  }
  await expectError(await user(worker, "GET", "valid"), 404, "not_found");
});

test("GET returns the account without its password hash", async () => {
  const created = await answer(await createUser(worker, { username: "reader", password: PASSWORD, claims: { name: "R" } }), 201);
  const got = await answer(await user(worker, "GET", "reader"), 200);
  assert.deepEqual(got, created);
  assert.deepEqual(Object.keys(got).sort(), ["admin", "claims", "created_at", "has_password", "links", "sub", "updated_at", "username"]);
  assert.equal(got.has_password, true);
  assert.equal(got.admin, false, "no administrator unless made one");
  assert.deepEqual(got.links, [], "no upstream identity linked");
  // Trailing slash variant.
  assert.deepEqual(await answer(await user(worker, "GET", "reader/"), 200), created);
  await expectError(await user(worker, "GET", "nobody"), 404, "not_found");
});

test("a username with @ and + is found whether the path segment is percent-encoded or not", async () => {
  const name = "first+tag@example.com";
  const created = await answer(await createUser(worker, { username: name, password: PASSWORD }), 201);
  assert.deepEqual(await answer(await user(worker, "GET", name), 200), created);
  assert.deepEqual(await answer(await user(worker, "GET", encodeURIComponent(name)), 200), created);
  const updated = await answer(await user(worker, "PUT", encodeURIComponent(name), { claims: { name: "Tagged" } }), 200);
  assert.equal(updated.claims.name, "Tagged");
  assert.equal((await user(worker, "DELETE", encodeURIComponent(name))).status, 204);
  await expectError(await user(worker, "GET", name), 404, "not_found");
});

test("PUT replaces claims and/or password; the new password logs in, the old one does not", async () => {
  const created = await answer(await createUser(worker, { username: "changer", password: PASSWORD, claims: { name: "Old", email: "old@example.com" } }), 201);
  const claims = { name: "New", email: "new@example.com", email_verified: true };
  const updated = await answer(await user(worker, "PUT", "changer", { claims }), 200);
  assert.deepEqual(updated.claims, claims, "claims are replaced as a whole");
  assert.equal(updated.sub, created.sub, "sub never changes");
  assert.deepEqual((await answer(await user(worker, "GET", "changer"), 200)).claims, claims);

  const newPassword = "a much better passphrase";
  const after = await answer(await user(worker, "PUT", "changer", { password: newPassword }), 200);
  assert.deepEqual(after.claims, claims, "a password change keeps the claims");

  const wrong = await tryLogin(worker, client, "changer", PASSWORD);
  assert.equal(wrong.status, 401, "the old password no longer logs in");
  await wrong.body?.cancel();

  const got = await obtainCode(worker, client, { username: "changer", password: newPassword });
  const tokens = await exchange(worker, client, got);
  assert.equal(decodeJwt(tokens.id_token).payload.sub, created.sub);
  const info = await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(info.status, 200);
  const claimsOut = await info.json();
  assert.equal(claimsOut.sub, created.sub);
  assert.equal(claimsOut.email, "new@example.com", "userinfo serves the updated claims");
});

/** prompt=none with `jar`'s session: the code, or the error, it is answered with. */
async function silently(worker, jar) {
  const res = await authorize(worker, jar, authParams(client, { prompt: "none" }).params);
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get("location"));
  return loc.searchParams.get("code") ? "code" : loc.searchParams.get("error");
}

test("a password change ends every session of the user: prompt=none then answers login_required", async () => {
  await answer(await createUser(worker, { username: "sessions", password: PASSWORD }), 201);
  const account = { username: "sessions", password: PASSWORD };
  const laptop = (await obtainCode(worker, client, account)).jar;
  const phone = (await obtainCode(worker, client, account)).jar;
  const tokens = await exchange(worker, client, await obtainCode(worker, client, account, { jar: laptop }));
  assert.equal(await silently(worker, laptop), "code");
  assert.equal(await silently(worker, phone), "code");
  await answer(await user(worker, "PUT", "sessions", { password: "the new passphrase" }), 200);
  assert.equal(await silently(worker, laptop), "login_required");
  assert.equal(await silently(worker, phone), "login_required");
  // Without revoke_grants, what was issued stands.
  const refreshed = await worker.fetch("/token", form(
    { grant_type: "refresh_token", refresh_token: tokens.refresh_token }, { authorization: basicAuth(client) }));
  assert.equal(refreshed.status, 200);
  // A new sign-in, with the new password, starts a session that works.
  const fresh = (await obtainCode(worker, client, { username: "sessions", password: "the new passphrase" })).jar;
  assert.equal(await silently(worker, fresh), "code");
});

test("revoke_grants: the user's refresh and access tokens stop working, and their sessions end", async () => {
  await answer(await createUser(worker, { username: "revoked", password: PASSWORD }), 201);
  const got = await obtainCode(worker, client, { username: "revoked", password: PASSWORD });
  const tokens = await exchange(worker, client, got);
  const pending = await obtainCode(worker, client, { username: "revoked", password: PASSWORD }, { jar: got.jar });
  assert.equal((await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 200);
  await answer(await user(worker, "PUT", "revoked", { revoke_grants: true }), 200);
  const info = await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(info.status, 401);
  assert.equal((await info.json()).error, "invalid_token");
  const refresh = await worker.fetch("/token", form(
    { grant_type: "refresh_token", refresh_token: tokens.refresh_token }, { authorization: basicAuth(client) }));
  assert.equal(refresh.status, 400);
  assert.equal((await refresh.json()).error, "invalid_grant");
  const code = await worker.fetch("/token", form(
    { grant_type: "authorization_code", code: pending.code, redirect_uri: pending.params.redirect_uri, code_verifier: pending.verifier },
    { authorization: basicAuth(client) }));
  assert.equal(code.status, 400, "a code issued before the revocation");
  for (const t of [tokens.access_token, tokens.refresh_token]) {
    const res = await worker.fetch("/introspect", form({ token: t }, { authorization: basicAuth(client) }));
    assert.deepEqual(await res.json(), { active: false });
  }
  assert.equal(await silently(worker, got.jar), "login_required");
  // The user signs in again (in a later second: sign-ins during the second
  // of the revocation are revoked too) and gets tokens that work.
  await new Promise((r) => setTimeout(r, 1100));
  const again = await exchange(worker, client, await obtainCode(worker, client, { username: "revoked", password: PASSWORD }));
  assert.equal((await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${again.access_token}` } })).status, 200);
});

test("PUT validation: bad password, bad claims, renaming → 400; unknown user → 404", async () => {
  await answer(await createUser(worker, { username: "strict", password: PASSWORD }), 201);
  await expectError(await user(worker, "PUT", "strict", { password: "short" }), 400, "invalid_request");
  await expectError(await user(worker, "PUT", "strict", { claims: { shoe_size: 44 } }), 400, "invalid_request");
  await expectError(await user(worker, "PUT", "strict", { claims: { phone_number_verified: 1 } }), 400, "invalid_request");
  await expectError(await user(worker, "PUT", "strict", { username: "renamed" }), 400, "invalid_request");
  await expectError(await user(worker, "PUT", "nobody", { claims: {} }), 404, "not_found");
  // The account is unchanged.
  const res = await tryLogin(worker, client, "strict", PASSWORD);
  assert.notEqual(res.status, 401);
  await res.body?.cancel();
});

test("DELETE → 204, then GET → 404 and the user can no longer log in", async () => {
  await answer(await createUser(worker, { username: "leaver", password: PASSWORD }), 201);
  const res = await user(worker, "DELETE", "leaver");
  assert.equal(res.status, 204);
  assert.equal(await res.text(), "");
  await expectError(await user(worker, "GET", "leaver"), 404, "not_found");
  await expectError(await user(worker, "DELETE", "leaver"), 404, "not_found");
  const login = await tryLogin(worker, client, "leaver", PASSWORD);
  assert.equal(login.status, 401);
  await login.body?.cancel();
  // The name is free again.
  await answer(await createUser(worker, { username: "leaver", password: PASSWORD }), 201);
});

test("every call without (or with a wrong) admin token → 401", async () => {
  await answer(await createUser(worker, { username: "guarded", password: PASSWORD }), 201);
  const calls = [
    ["POST", "/admin/users", { username: "intruder", password: PASSWORD }],
    ["GET", "/admin/users/guarded"],
    ["PUT", "/admin/users/guarded", { password: "taken over!!" }],
    ["DELETE", "/admin/users/guarded"],
    ["GET", "/admin/users/nobody"],
  ];
  for (const [method, path, body] of calls) {
    await expect401(await send(worker, method, path, body, null), false);
    await expect401(await send(worker, method, path, body, "Bearer wrong"), true);
  }
  // Nothing happened.
  await expectError(await user(worker, "GET", "intruder"), 404, "not_found");
  const res = await tryLogin(worker, client, "guarded", PASSWORD);
  assert.notEqual(res.status, 401);
  await res.body?.cancel();
});

test("wrong methods → 405", async () => {
  for (const [method, path] of [["GET", "/admin/users"], ["DELETE", "/admin/users"], ["POST", "/admin/users/x"], ["PATCH", "/admin/users/x"]]) {
    await expectError(await send(worker, method, path), 405, "method_not_allowed");
  }
});
