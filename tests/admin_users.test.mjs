// The admin console's Users section (/admin/accounts), driven over HTTP as
// a browser would: an administrator (made with the JSON API, "admin": true)
// signs in at /admin/login, opens the pages and posts their forms with the
// hidden fields they carry. What each action does is checked where it
// shows: the user's own sign-in, /account, /userinfo, /token, /admin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { registerClient, createUser, obtainCode, exchange, field, submit, Jar } from "./flow.mjs";
import { refresh, assertError, sleep } from "./lifecycle.mjs";
import { Console, createAdmin, formOf, goesTo, page } from "./console.mjs";

let worker, client, admin, con;
before(async () => {
  // A host name, not an IP address: enrollment links need passkeys (WebAuthn RP IDs are names).
  worker = await startWorker({ vars: { ISSUER: "http://localhost" } });
  client = await registerClient(worker);
  admin = await createAdmin(worker, "root-admin");
  con = new Console(worker);
  await con.signIn(admin);
});
after(async () => { await worker?.stop(); });

const apiUser = (username) => worker.fetch(`/admin/users/${encodeURIComponent(username)}`, {
  headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
});
const stored = async (username) => {
  const res = await apiUser(username);
  return res.status === 200 ? res.json() : null;
};

/** Signs `user` in at /account/login in a new jar; the jar. */
async function accountSession(user, password = user.password) {
  const jar = new Jar();
  const get = async (path) => jar.take(await worker.fetch(path, { headers: { cookie: jar.header() } }));
  const login = await page(await get("/account/login"), 200);
  goesTo(await submit(worker, jar, login, { username: user.username, password }, "/account/login"), "/account");
  jar.get = get;
  return jar;
}

/** Whether `jar`'s session still opens /account (else it goes to sign in). */
async function signedIn(jar) {
  const res = await jar.get("/account");
  await res.body?.cancel();
  if (res.status === 200) return true;
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/account/login");
  return false;
}

/** The enrollment link a page shows (in its read-only field). */
function enrollmentLink(html) {
  const m = html.match(/<input id="link" type="text" class="mono" value="([^"]+)" readonly>/);
  assert.ok(m, "an enrollment link shown");
  return new URL(m[1].replace(/&amp;/g, "&"));
}

/** The console's page of `username`. */
const userPage = (username, pattern) => con.open(`/admin/accounts/${username}`, pattern);

/** Posts the user page's form to `/admin/accounts/{username}{path}` (the one mentioning `also`). */
async function act(username, path, extra = {}, also = "") {
  const html = await userPage(username);
  return con.postForm(html, `/admin/accounts/${username}${path}`, extra, also);
}

test("the list: every user, searchable by username, name or e-mail address, linked to their page", async () => {
  await createUser(worker, "list-ada", { name: "Ada Lovelace", email: "countess@analytical.example" });
  await createUser(worker, "list-bob", { name: "Bob Babbage", email: "bob@engine.example" });
  const all = await con.open("/admin/accounts", /<h1>Users<\/h1>/);
  assert.match(all, /<a href="\/admin\/accounts\/list-ada">list-ada<\/a>/);
  assert.match(all, /aria-current="page">Users</);
  for (const [q, shown, hidden] of [
    ["lovelace", "list-ada", "list-bob"], ["ENGINE.example", "list-bob", "list-ada"], ["list-b", "list-bob", "list-ada"],
  ]) {
    const found = await con.open(`/admin/accounts?q=${encodeURIComponent(q)}`);
    assert.ok(found.includes(`>${shown}</a>`) && !found.includes(`>${hidden}</a>`), q);
    assert.equal(field(found, "q"), q, "the search is kept");
  }
  assert.match(await con.open("/admin/accounts?q=nobody-like-this"), /No users match/);
  await page(await con.get("/admin/accounts?cursor=not-ours"), 400);
});

test("create with a password: the user then signs in to their account", async () => {
  const form = await con.open("/admin/accounts/new", /<h1>New user<\/h1>/);
  const res = await con.postForm(form, "/admin/accounts/new", {
    username: "made-here", password: "correct horse battery", name: "Made Here",
    email: "made@example.com", email_verified: "on", claims: '{"locale": "en-GB"}',
  });
  goesTo(res, "/admin/accounts/made-here?done=created");
  const shown = await con.open("/admin/accounts/made-here?done=created", /The user has been created\./);
  assert.equal(field(shown, "name"), "Made Here");
  const user = await stored("made-here");
  assert.deepEqual(user.claims, { name: "Made Here", email: "made@example.com", email_verified: true, locale: "en-GB" });
  assert.equal(user.has_password, true);
  assert.equal(user.admin, false);
  assert.ok(await signedIn(await accountSession({ username: "made-here", password: "correct horse battery" })));
});

test("create without a password: the one-time enrollment link is shown, and it opens", async () => {
  const form = await con.open("/admin/accounts/new");
  const res = await con.postForm(form, "/admin/accounts/new", { username: "passkey-only", email: "pk@example.com" });
  const html = await page(res, 200, /User passkey-only created/);
  const url = enrollmentLink(html);
  assert.equal(url.pathname, "/account/enroll");
  assert.equal(url.origin, "http://localhost");
  await page(await worker.fetch(url.pathname + url.search), 200, /data-webauthn="create"/);
  assert.equal((await stored("passkey-only")).has_password, false);
  // A new link on demand, shown once as well.
  const again = await page(await act("passkey-only", "/enrollment"), 200, /New enrollment link for passkey-only/);
  assert.notEqual(enrollmentLink(again).href, url.href);
});

test("validation: the JSON API's rules and words, each error at its field, what was typed kept", async () => {
  const form = await con.open("/admin/accounts/new");
  const html = await page(await con.postForm(form, "/admin/accounts/new", {
    username: "no spaces", password: "short", name: "Kept Name", claims: '{"shoe_size": 42}',
  }), 400);
  for (const [id, words] of [
    ["username", "username must be 1 to 64 characters of letters, digits and . _ @ + -"],
    ["password", "password must be 8 to 1024 characters long"],
    ["claims", "unsupported claims: shoe_size (only OIDC standard claims other than sub are allowed)"],
  ]) {
    assert.ok(html.includes(`<p class="field-error" id="${id}-error">${words}</p>`), id);
    assert.match(html, new RegExp(`id="${id}"[^>]*aria-describedby="[^"]*${id}-error"[^>]*aria-invalid="true"`), id);
  }
  assert.equal(field(html, "username"), "no spaces");
  assert.equal(field(html, "name"), "Kept Name");
  assert.ok(!html.includes("short"), "no password typed back");
  assert.equal(await stored("no spaces"), null);
  // A taken username is the username's error (409), as the API's.
  const taken = await page(await con.postForm(html, "/admin/accounts/new", { username: "root-admin" }), 409);
  assert.ok(taken.includes('<p class="field-error" id="username-error">a user with this username already exists</p>'));
});

test("edit claims: named fields and the JSON of the others; userinfo then shows them", async () => {
  const user = await createUser(worker, "claims-user");
  const bad = await page(await act("claims-user", "/claims", { name: "X", claims: '{"email": "two@example.com"}' }, 'name="claims"'), 400);
  assert.match(bad, /email has a field of its own above/);
  assert.equal(field(bad, "name"), "X", "kept");
  assert.equal((await stored("claims-user")).claims.name, "Test User", "nothing changed");
  goesTo(await act("claims-user", "/claims", {
    name: "Grace Hopper", email: "grace@navy.example", claims: '{"locale": "en-US", "zoneinfo": "America/New_York"}',
  }, 'name="claims"'), "/admin/accounts/claims-user?done=claims");
  const tokens = await exchange(worker, client, await obtainCode(worker, client, user));
  const info = await (await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
  assert.equal(info.name, "Grace Hopper");
  assert.equal(info.email, "grace@navy.example");
  assert.equal(info.email_verified, false, "not checked: not verified");
  assert.equal(info.locale, "en-US");
  assert.equal(info.zoneinfo, "America/New_York");
});

test("reset password: the old one is refused, the new one works, the user's sessions end", async () => {
  const user = await createUser(worker, "reset-me");
  const jar = await accountSession(user);
  const form = await con.open("/admin/accounts/reset-me/password", /Reset the password of reset-me/);
  const short = await page(await con.postForm(form, "/admin/accounts/reset-me/password", { password: "short" }), 400);
  assert.ok(short.includes('<p class="field-error" id="password-error">password must be 8 to 1024 characters long</p>'));
  assert.ok(await signedIn(jar), "nothing changed yet");
  goesTo(await con.postForm(short, "/admin/accounts/reset-me/password", { password: "a whole new password" }),
    "/admin/accounts/reset-me?done=password");
  assert.equal(await signedIn(jar), false, "the user's session ended");
  await assert.rejects(accountSession(user), "the old password is refused");
  assert.ok(await signedIn(await accountSession(user, "a whole new password")));
});

test("the administrator role: granted, the user opens /admin; revoked, refused; one's own is kept", async () => {
  const other = await createUser(worker, "second-admin");
  const confirm = await con.open("/admin/accounts/second-admin/admin", /Grant the administrator role/);
  assert.equal(field(formOf(confirm, "/admin/accounts/second-admin/admin"), "role"), "grant");
  goesTo(await con.postForm(confirm, "/admin/accounts/second-admin/admin", { role: "grant" }),
    "/admin/accounts/second-admin?done=admin-granted");
  assert.equal((await stored("second-admin")).admin, true);
  const theirs = new Console(worker, { address: "198.51.100.21" });
  await theirs.signIn(other);
  await theirs.open("/admin/accounts", /root-admin/);
  const revoke = await con.open("/admin/accounts/second-admin/admin", /Revoke the administrator role/);
  goesTo(await con.postForm(revoke, "/admin/accounts/second-admin/admin", { role: "revoke" }),
    "/admin/accounts/second-admin?done=admin-revoked");
  const refused = await page(await theirs.get("/admin/accounts"), 403);
  assert.ok(!refused.includes("root-admin"), "nothing listed");
  // One's own role stays: no link, and the page and its post refuse.
  const own = await userPage("root-admin");
  assert.ok(!own.includes('href="/admin/accounts/root-admin/admin"'));
  await page(await con.get("/admin/accounts/root-admin/admin"), 400, /cannot revoke your own administrator role/);
  const forged = await con.postForm(confirm.replace(/second-admin/g, "root-admin"), "/admin/accounts/root-admin/admin", { role: "revoke" });
  await page(forged, 400);
  assert.equal((await stored("root-admin")).admin, true);
});

test("sessions: listed from the index, one ended, then all; the user's /account then asks to sign in", async () => {
  const user = await createUser(worker, "many-sessions");
  const [a, b] = [await accountSession(user), await accountSession(user)];
  const html = await userPage("many-sessions");
  const ends = html.split('name="session" value="').slice(1).map((s) => s.slice(0, s.indexOf('"')));
  assert.equal(ends.length, 2, "both sessions listed");
  assert.match(html, /<td data-label="How">password<\/td>/);
  goesTo(await con.postForm(html, "/admin/accounts/many-sessions/sessions", { session: ends[0] }, ends[0]),
    "/admin/accounts/many-sessions?done=session");
  const states = [await signedIn(a), await signedIn(b)];
  assert.deepEqual(states.sort(), [false, true], "exactly one ended");
  const after = await con.open("/admin/accounts/many-sessions?done=session", /The session has ended\./);
  assert.equal(after.split('name="session" value="').length - 1, 1);
  // The ended one cannot be ended again.
  await page(await con.postForm(after, "/admin/accounts/many-sessions/sessions", { session: ends[0] }, 'name="session"'), 400, /already ended/);
  goesTo(await act("many-sessions", "/sessions", {}, 'value="end-all"'), "/admin/accounts/many-sessions?done=sessions");
  assert.deepEqual([await signedIn(a), await signedIn(b)], [false, false]);
  assert.match(await userPage("many-sessions"), /No active sessions\./);
  // Signing out (the account's own "sign out everywhere" or /logout) leaves no entry either.
  const c = await accountSession(user);
  assert.match(await userPage("many-sessions"), /name="session"/);
  const account = await page(await c.get("/account"), 200);
  const f = formOf(account, "/account/sessions");
  const out = c.take(await worker.fetch("/account/sessions", {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", cookie: c.header() },
    body: new URLSearchParams({ handle: field(f, "handle"), csrf: field(f, "csrf") }).toString(),
  }));
  await page(out, 200);
  assert.match(await userPage("many-sessions"), /No active sessions\./);
});

test("grants: one app's consent revoked, then all grants; their refresh tokens are refused", async () => {
  const user = await createUser(worker, "grants-user");
  const first = await exchange(worker, client, await obtainCode(worker, client, user));
  const html = await userPage("grants-user", new RegExp(client.client_id));
  goesTo(await con.postForm(html, "/admin/accounts/grants-user/grants", { client_id: client.client_id }, 'value="revoke"'),
    "/admin/accounts/grants-user?done=consent");
  await assertError(await refresh(worker, client, first.refresh_token), 400, "invalid_grant");
  assert.match(await userPage("grants-user"), /has not allowed any apps/);
  // Allowed again (a new consent: after the second of the withdrawal, which voids what it saw), then every grant revoked.
  await sleep(1100);
  const second = await exchange(worker, client, await obtainCode(worker, client, user));
  const jar = await accountSession(user);
  goesTo(await act("grants-user", "/grants", {}, 'value="revoke-all"'), "/admin/accounts/grants-user?done=grants");
  await assertError(await refresh(worker, client, second.refresh_token), 400, "invalid_grant");
  assert.equal(await signedIn(jar), false, "and the sessions ended, as with the API's revoke_grants");
});

test("delete: the confirmation says what ends; the user is gone and cannot sign in", async () => {
  const user = await createUser(worker, "to-delete");
  const tokens = await exchange(worker, client, await obtainCode(worker, client, user));
  const confirm = await con.open("/admin/accounts/to-delete/delete", /Delete to-delete/);
  assert.match(confirm, /every session of the user/);
  assert.match(confirm, /refresh and access tokens stop working/);
  goesTo(await con.postForm(confirm, "/admin/accounts/to-delete/delete"), "/admin/accounts?done=deleted");
  assert.match(await con.open("/admin/accounts?done=deleted"), /The user has been deleted\./);
  assert.equal(await stored("to-delete"), null);
  await page(await con.get("/admin/accounts/to-delete"), 404);
  await assertError(await refresh(worker, client, tokens.refresh_token), 400, "invalid_grant");
  await assert.rejects(accountSession(user));
  // One's own account is not deleted here.
  await page(await con.get("/admin/accounts/root-admin/delete"), 400, /cannot delete your own account/);
});

test("every action is in the audit log under the contract's names, the JSON API's too", async () => {
  const log = await con.open("/admin/audit?q=user.");
  const by = (who) => new Set([...log.matchAll(/<td data-label="Who">(.*?)<\/td><td data-label="What"><code>(.*?)<\/code>/g)]
    .filter(([, w]) => w === who).map(([, , what]) => what));
  const console_ = by("root-admin");
  for (const action of ["user.create", "user.update", "user.password", "user.admin", "user.session", "user.sessions",
    "user.consent", "user.grants", "user.enrollment", "user.delete"]) {
    assert.ok(console_.has(action), action);
  }
  // The JSON API's changes are logged as the admin token's, one entry per kind of change.
  await createUser(worker, "json-made");
  const put = await worker.fetch("/admin/users/json-made", {
    method: "PUT", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ password: "another fine password", admin: true }),
  });
  assert.equal(put.status, 200);
  const rows = [...(await con.open("/admin/audit?q=json-made")).matchAll(/<td data-label="Who">(.*?)<\/td><td data-label="What"><code>(.*?)<\/code>(.*?)<\/td><td data-label="Target" class="mono">(.*?)<\/td>/g)]
    .map(([, who, what, detail, target]) => [who, what, detail.trim(), target]);
  // (The two entries of one request may share a millisecond: their order is not kept.)
  assert.deepEqual(rows.slice(0, 2).sort(), [
    ["ADMIN_TOKEN", "user.admin", "granted", "json-made"],
    ["ADMIN_TOKEN", "user.password", "", "json-made"],
  ]);
  assert.deepEqual(rows.slice(2), [["ADMIN_TOKEN", "user.create", "", "json-made"]]);
});

test("refusals: no session, an ordinary user, a missing CSRF token, a replayed form", async () => {
  const victim = await createUser(worker, "untouched");
  // No console session: to the console's sign-in, for pages and posts alike.
  const stranger = new Console(worker, { address: "198.51.100.30" });
  for (const path of ["/admin/accounts", "/admin/accounts/new", "/admin/accounts/untouched"]) {
    const res = await stranger.get(path);
    assert.ok([302, 303].includes(res.status), path);
    assert.equal(res.headers.get("location"), "/admin/login");
  }
  goesTo(await stranger.post("/admin/accounts/untouched/delete", {}), "/admin/login");
  // An ordinary user, signed in to their account: 403, nothing listed.
  const jar = await accountSession(victim);
  for (const path of ["/admin/accounts", "/admin/accounts/root-admin"]) {
    const res = await worker.fetch(path, { headers: { cookie: jar.header() } });
    const text = await page(res, 403, /not an administrator/);
    assert.ok(!text.includes("href=\"/admin/accounts/") && !text.includes("<table"), `${path}: nothing listed`);
  }
  // Missing CSRF token: 400, nothing changed.
  const html = await userPage("untouched");
  const f = formOf(html, "/admin/accounts/untouched/claims");
  const noCsrf = await con.post("/admin/accounts/untouched/claims", { step: "claims", handle: field(f, "handle"), name: "Changed" });
  await page(noCsrf, 400, /Nothing was changed/);
  assert.equal((await stored("untouched")).claims.name, "Test User");
  const newForm = await con.open("/admin/accounts/new");
  const nf = formOf(newForm, "/admin/accounts/new");
  await page(await con.post("/admin/accounts/new", { step: "create", handle: field(nf, "handle"), username: "sneaky" }), 400);
  assert.equal(await stored("sneaky"), null);
  // A replayed form: the first post counts, the second is refused and changes nothing.
  goesTo(await con.postForm(html, "/admin/accounts/untouched/claims", { name: "Once" }), "/admin/accounts/untouched?done=claims");
  await page(await con.postForm(html, "/admin/accounts/untouched/claims", { name: "Twice" }), 400, /already sent/);
  assert.equal((await stored("untouched")).claims.name, "Once");
  // A form for one user posted to another's path is refused.
  const other = await userPage("untouched");
  const moved = formOf(other, "/admin/accounts/untouched/sessions", 'value="end-all"');
  await page(await con.post("/admin/accounts/root-admin/sessions", { step: "end-all", handle: field(moved, "handle"), csrf: field(moved, "csrf") }), 400);
  // GET of a post-only path, and a path that is no page.
  await page(await con.get("/admin/accounts/untouched/sessions"), 405);
  await page(await con.get("/admin/accounts/untouched/nothing-here"), 404);
  await page(await con.get("/admin/accounts/nobody-at-all"), 404);
});

test("resetting a password, changing the role and deleting need a recent sign-in, and come back to their page", async () => {
  const brief = await startWorker({ vars: { ADMIN_REAUTH_TTL: "2" } });
  try {
    const chief = await createAdmin(brief, "brief-admin");
    await createUser(brief, "kept-user");
    const browser = new Console(brief, { address: "198.51.100.40" });
    await browser.signIn(chief);
    const confirm = await browser.open("/admin/accounts/kept-user/delete", /Delete kept-user/);
    // Whole seconds: more than 3 s after is surely later than 2 s.
    await sleep(3200);
    for (const action of ["password", "admin", "delete"]) {
      const back = `/admin/accounts/kept-user/${action}`;
      goesTo(await browser.get(back), `/admin/login?return_to=${encodeURIComponent(back)}`, 302);
    }
    // The confirmation shown in time is not enough once the sign-in is old.
    goesTo(await browser.postForm(confirm, "/admin/accounts/kept-user/delete"),
      `/admin/login?return_to=${encodeURIComponent("/admin/accounts/kept-user/delete")}`);
    const stillThere = await brief.fetch("/admin/users/kept-user", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(stillThere.status, 200, "nothing deleted");
    // Signing in again leads back to the confirmation.
    const login = await page(await browser.get(`/admin/login?return_to=${encodeURIComponent("/admin/accounts/kept-user/delete")}`), 200);
    goesTo(await browser.postForm(login, "/admin/login", { username: chief.username, password: chief.password }),
      "/admin/accounts/kept-user/delete");
    await browser.open("/admin/accounts/kept-user/delete", /Delete kept-user/);
  } finally {
    await brief.stop();
  }
});
