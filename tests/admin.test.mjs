// The admin console's own rules (/admin): who may use it (administrators
// only, in a console session of its own that ends when idle, signed out
// or no longer an administrator's), its forms (CSRF-bound, sealed for
// their purpose, single use), re-authentication before destructive
// actions, the signing keys page, and the audit log of every admin action.
// The clients and users sections have tests of their own.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { createUser, field, Jar } from "./flow.mjs";
import { Console, createAdmin, page, goesTo, formOf, flip } from "./console.mjs";

let worker, brief;
before(async () => {
  worker = await startWorker();
  // Short console times, for expiry and re-authentication.
  brief = await startWorker({ vars: { ADMIN_SESSION_IDLE_TTL: "6", ADMIN_REAUTH_TTL: "2" } });
});
after(async () => {
  await worker?.stop();
  await brief?.stop();
});

const jwksKids = async (w = worker) => (await (await w.fetch("/jwks.json")).json()).keys.map((k) => k.kid).sort();

const adminApi = (path, method, body, address = "203.0.113.9") => worker.fetch(path, {
  method,
  headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", "cf-connecting-ip": address },
  body: body === undefined ? undefined : JSON.stringify(body),
});

/** The audit log's rows on a page. */
function auditRows(html) {
  return [...html.matchAll(/<tr><td data-label="When">(.*?)<\/td><td data-label="Who">(.*?)<\/td><td data-label="What"><code>(.*?)<\/code>(.*?)<\/td><td data-label="Target" class="mono">(.*?)<\/td><td data-label="From" class="mono">(.*?)<\/td><\/tr>/g)]
    .map(([, when, who, what, detail, target, from]) => ({ when, who, what, detail: detail.trim(), target: target === "—" ? "" : target, from }));
}

test("an administrator signs in to a console session of its own", async () => {
  const admin = await createAdmin(worker);
  const browser = new Console(worker);
  const res = await browser.signInResponse(admin);
  goesTo(res, "/admin");
  const cookies = res.headers.getSetCookie();
  const consoleCookie = cookies.find((c) => c.startsWith("oidc_admin="));
  assert.match(consoleCookie, /; Path=\/admin; Max-Age=28800; HttpOnly; SameSite=Strict$/);
  assert.ok(!cookies.some((c) => c.startsWith("oidc_session=")), "no session for signing in to apps");
  const home = await browser.open("/admin", /<h1>Admin console<\/h1>/);
  for (const [path, name] of [["/admin/clients", "Clients"], ["/admin/accounts", "Users"], ["/admin/signing-keys", "Signing keys"], ["/admin/audit", "Audit log"]]) {
    assert.ok(home.includes(`<a href="${path}">${name}</a>`), name);
  }
  assert.ok(home.includes(`Sign out ${admin.username}`));
  assert.match(home, /ends after 30 minutes without use/);
  // Signed in, the sign-in page (without a way back) goes to the console.
  goesTo(await browser.get("/admin/login"), "/admin", 302);
  // The trailing-slash variant is the same page.
  await browser.open("/admin/", /<h1>Admin console<\/h1>/);
});

test("without a console session every page sends to sign in, and no post changes anything", async () => {
  const before = await jwksKids();
  const browser = new Console(worker);
  for (const path of ["/admin", "/admin/audit", "/admin/signing-keys", "/admin/signing-keys/rotate?reason=compromise", "/admin/clients", "/admin/accounts"]) {
    goesTo(await browser.get(path), "/admin/login", 302);
  }
  for (const path of ["/admin/signing-keys/rotate", "/admin/logout"]) {
    goesTo(await browser.post(path, { step: "rotate", handle: "x", csrf: "y" }), "/admin/login");
  }
  assert.deepEqual(await jwksKids(), before);
  // A made-up or ended session cookie is no session either (and is cleared).
  browser.jar.cookies.set("oidc_admin", "made-up");
  const res = await browser.get("/admin");
  goesTo(res, "/admin/login", 302);
  assert.ok(res.headers.getSetCookie().some((c) => /^oidc_admin=; Path=\/admin; Max-Age=0/.test(c)));
  // Methods other than GET and POST: a page, 405.
  await page(await worker.fetch("/admin", { method: "DELETE" }), 405, /does not take that|only takes GET and POST/);
});

test("an ordinary user is refused with 403 and shown nothing", async () => {
  const user = await createUser(worker);
  const browser = new Console(worker, { address: "198.51.100.66" });
  const refused = await page(await browser.signInResponse(user), 403, new RegExp(`signed in as ${user.username}, which is not an administrator`));
  assert.ok(!refused.includes("<nav"), "no console navigation");
  assert.ok(!browser.jar.cookies.has("oidc_admin"), "no console session");
  // Signed in to their own account, the console refuses them outright.
  const own = new Console(worker);
  const login = await page(await own.get("/account/login"), 200);
  goesTo(await own.postForm(login, "/account/login", { username: user.username, password: user.password }), "/account");
  for (const path of ["/admin", "/admin/audit", "/admin/signing-keys", "/admin/clients", "/admin/accounts"]) {
    const text = await page(await own.get(path), 403, /not an administrator/);
    assert.ok(!text.includes("<table") && !text.includes("<nav"), path);
  }
  await page(await own.post("/admin/signing-keys/rotate", {}), 403);
  // The refused console sign-in is in the audit log.
  const admin = await createAdmin(worker);
  const console_ = new Console(worker);
  await console_.signIn(admin);
  const rows = auditRows(await console_.open(`/admin/audit?q=${user.username}`));
  // Newest first: the refused sign-in, then the user's creation with the JSON API.
  assert.deepEqual(rows.map((r) => [r.who, r.what, r.detail, r.from]), [
    [user.username, "admin.sign_in", "refused: not an administrator", "198.51.100.66"],
    ["ADMIN_TOKEN", "user.create", "", "127.0.0.1"],
  ]);
});

test("every form needs its CSRF token, its own purpose, this administrator and one use", async () => {
  const admin = await createAdmin(worker);
  const browser = new Console(worker);
  const home = await browser.signIn(admin);
  const confirm = await browser.open("/admin/signing-keys/rotate?reason=scheduled", /<h1>Rotate the signing keys<\/h1>/);
  const rotate = formOf(confirm, "/admin/signing-keys/rotate");
  const fields = { step: "rotate", handle: field(rotate, "handle"), csrf: field(rotate, "csrf") };
  const before = await jwksKids();
  const refusedPage = /expired, was already sent, or did not come from this page/;
  await page(await browser.post("/admin/signing-keys/rotate", { ...fields, csrf: undefined }), 400, refusedPage);
  await page(await browser.post("/admin/signing-keys/rotate", { step: "rotate", handle: fields.handle }), 400, refusedPage);
  await page(await browser.post("/admin/signing-keys/rotate", { ...fields, csrf: flip(fields.csrf) }), 400, refusedPage);
  // The navigation's sign-out form is not a rotation form.
  const signOut = formOf(home, "/admin/logout");
  await page(await browser.post("/admin/signing-keys/rotate", { step: "rotate", handle: field(signOut, "handle"), csrf: field(signOut, "csrf") }), 400, refusedPage);
  // Another administrator's browser cannot send this one's form (its CSRF token is this browser's).
  const other = new Console(worker);
  await other.signIn(await createAdmin(worker));
  await page(await other.post("/admin/signing-keys/rotate", fields), 400, refusedPage);
  assert.deepEqual(await jwksKids(), before, "nothing was rotated");
  goesTo(await browser.post("/admin/signing-keys/rotate", fields), "/admin/signing-keys?done=scheduled");
  const after = await jwksKids();
  await page(await browser.post("/admin/signing-keys/rotate", fields), 400, refusedPage);
  assert.deepEqual(await jwksKids(), after, "the replay rotated nothing");
});

test("the signing keys page lists the published keys and rotates them, scheduled or after a compromise", async () => {
  const admin = await createAdmin(worker);
  const browser = new Console(worker);
  await browser.signIn(admin);
  const listed = (html) => [...html.matchAll(/<td data-label="Key id" class="mono">([^<]+)<\/td>/g)].map((m) => m[1]).sort();
  const keys = await browser.open("/admin/signing-keys", /Next scheduled rotation: <strong>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/strong>/);
  assert.deepEqual(listed(keys), await jwksKids());
  for (const alg of ["RS256", "ES256", "EdDSA"]) assert.ok(keys.includes(`<td data-label="Algorithm">${alg}</td>`), alg);
  const old = await jwksKids();
  const scheduled = await browser.open("/admin/signing-keys/rotate?reason=scheduled", /keep verifying what they signed/);
  goesTo(await browser.postForm(scheduled, "/admin/signing-keys/rotate"), "/admin/signing-keys?done=scheduled");
  const rotated = await browser.open("/admin/signing-keys?done=scheduled", /role="status">The signing keys have been replaced/);
  assert.match(rotated, /replaced \d{4}-\d\d-\d\d; verifies until/);
  const published = await jwksKids();
  assert.ok(old.every((kid) => published.includes(kid)) && published.length === old.length + 3, "old keys stay published");
  const compromise = await browser.open("/admin/signing-keys/rotate?reason=compromise", /removed from \/jwks.json at once/);
  goesTo(await browser.postForm(compromise, "/admin/signing-keys/rotate"), "/admin/signing-keys?done=compromise");
  const fresh = await jwksKids();
  assert.equal(fresh.length, 3);
  assert.ok(fresh.every((kid) => !published.includes(kid)), "every old key is gone");
  // The form secret was replaced too, yet the console goes on with fresh forms.
  await browser.open("/admin/signing-keys?done=compromise", /the old ones removed/);
  await page(await browser.get("/admin/signing-keys/rotate?reason=sometimes"), 400, /either scheduled or for a suspected compromise/);
});

test("signing out ends the console session everywhere at once", async () => {
  const admin = await createAdmin(worker);
  const browser = new Console(worker);
  const home = await browser.signIn(admin);
  const stolen = browser.jar.cookies.get("oidc_admin");
  const res = await browser.postForm(home, "/admin/logout");
  goesTo(res, "/admin/login");
  assert.ok(res.headers.getSetCookie().some((c) => /^oidc_admin=; Path=\/admin; Max-Age=0/.test(c)));
  const elsewhere = new Console(worker);
  elsewhere.jar.cookies.set("oidc_admin", stolen);
  goesTo(await elsewhere.get("/admin"), "/admin/login", 302);
  goesTo(await browser.get("/admin"), "/admin/login", 302);
});

test("the console session lasts only while its user is an administrator with the same password", async () => {
  const admin = await createAdmin(worker);
  const browser = new Console(worker);
  await browser.signIn(admin);
  const path = `/admin/users/${admin.username}`;
  assert.equal((await adminApi(path, "PUT", { admin: false })).status, 200);
  await page(await browser.get("/admin"), 403, /not an administrator/);
  assert.equal((await adminApi(path, "PUT", { admin: true })).status, 200);
  await browser.open("/admin");
  assert.equal((await adminApi(path, "PUT", { password: "a brand new password" })).status, 200);
  goesTo(await browser.get("/admin"), "/admin/login", 302);
  await browser.signIn({ ...admin, password: "a brand new password" });
  assert.equal((await adminApi(path, "DELETE")).status, 204);
  goesTo(await browser.get("/admin"), "/admin/login", 302);
  // The JSON API shows the role, and refuses a role that is not a boolean.
  const user = await createUser(worker);
  assert.equal((await (await adminApi(`/admin/users/${user.username}`, "GET")).json()).admin, false);
  const bad = await adminApi(`/admin/users/${user.username}`, "PUT", { admin: "yes" });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error_description, "admin must be a boolean");
});

test("an idle console session ends, and destructive actions ask for a recent sign-in", async () => {
  const admin = await createAdmin(brief);
  const browser = new Console(brief);
  await browser.signIn(admin);
  // Whole seconds: more than 3 s after is surely later than 2 s.
  await sleep(3200);
  // Still live (used within 6 s), but the sign-in is older than 2 s.
  const back = "/admin/signing-keys/rotate?reason=scheduled";
  goesTo(await browser.get(back), `/admin/login?return_to=${encodeURIComponent(back)}`, 302);
  const again = await page(await browser.get(`/admin/login?return_to=${encodeURIComponent(back)}`), 200, /Sign in again to confirm it is you/);
  assert.equal(field(again, "username"), admin.username);
  goesTo(await browser.postForm(again, "/admin/login", { username: admin.username, password: admin.password }), back);
  const before = await jwksKids(brief);
  const confirm = await browser.open(back, /<h1>Rotate the signing keys<\/h1>/);
  goesTo(await browser.postForm(confirm, "/admin/signing-keys/rotate"), "/admin/signing-keys?done=scheduled");
  assert.notDeepEqual(await jwksKids(brief), before);
  // A confirmation left open past the window asks again when sent.
  const late = await browser.open(back);
  await sleep(3200);
  goesTo(await browser.postForm(late, "/admin/signing-keys/rotate"), `/admin/login?return_to=${encodeURIComponent(back)}`);
  // Unused for 6 s, the session is over; its form changes nothing.
  const stale = await browser.open("/admin/signing-keys");
  await sleep(7200);
  const kids = await jwksKids(brief);
  goesTo(await browser.get("/admin"), "/admin/login", 302);
  goesTo(await browser.postForm(stale, "/admin/logout"), "/admin/login");
  assert.deepEqual(await jwksKids(brief), kids);
  // The way back is only ever a console path.
  const evil = await page(await browser.get("/admin/login?return_to=https://evil.example/admin"), 200);
  goesTo(await browser.postForm(evil, "/admin/login", { username: admin.username, password: admin.password }), "/admin");
});

test("the audit log records every admin action, who, what, when and from where, newest first", async () => {
  const admin = await createAdmin(worker);
  const browser = new Console(worker, { address: "198.51.100.31" });
  await browser.signIn(admin);
  assert.equal((await adminApi("/admin/keys/rotate", "POST", { reason: "scheduled" })).status, 200);
  const minted = await (await adminApi("/admin/registration-tokens", "POST", { expires_in: 600, max_uses: 1 })).json();
  assert.equal((await adminApi(`/admin/registration-tokens/${minted.id}`, "DELETE")).status, 204);
  const confirm = await browser.open("/admin/signing-keys/rotate?reason=scheduled");
  goesTo(await browser.postForm(confirm, "/admin/signing-keys/rotate"), "/admin/signing-keys?done=scheduled");
  const log = await browser.open("/admin/audit", /<h1>Audit log<\/h1>/);
  assert.match(log, /kept 90 days/);
  const rows = auditRows(log);
  const ours = rows.filter((r) => r.from === "198.51.100.31" || r.from === "203.0.113.9").slice(0, 5);
  assert.deepEqual(ours.map((r) => [r.who, r.what, r.target, r.from, r.detail]), [
    [admin.username, "keys.rotate", "", "198.51.100.31", "scheduled"],
    ["ADMIN_TOKEN", "registration_token.revoke", minted.id, "203.0.113.9", ""],
    ["ADMIN_TOKEN", "registration_token.create", minted.id, "203.0.113.9", ""],
    ["ADMIN_TOKEN", "keys.rotate", "", "203.0.113.9", "scheduled"],
    [admin.username, "admin.sign_in", "", "198.51.100.31", "signed in"],
  ]);
  const when = Date.parse(ours[0].when.replace(" UTC", "Z").replace(" ", "T"));
  assert.ok(Math.abs(when - Date.now()) < 60_000, ours[0].when);
  // Searching finds by actor, action or target; nothing lists an entry twice.
  const found = auditRows(await browser.open(`/admin/audit?q=${minted.id}`));
  assert.deepEqual(found.map((r) => r.what), ["registration_token.revoke", "registration_token.create"]);
  // More than a page: 50 rows, then older entries from the cursor on.
  for (let i = 0; i < 52; i++) {
    assert.equal((await adminApi("/admin/registration-tokens", "POST", { expires_in: 600, max_uses: 1 }, "203.0.113.77")).status, 201);
  }
  const first = await browser.open("/admin/audit?q=203.0.113.77");
  assert.equal(auditRows(first).length, 50);
  const next = first.match(/href="(\/admin\/audit\?q=203.0.113.77&amp;cursor=[^"]+)" rel="next"/)[1].replace(/&amp;/g, "&");
  const second = await browser.open(next);
  assert.equal(auditRows(second).length, 2);
  assert.ok(!second.includes('rel="next"'));
  const targets = [...auditRows(first), ...auditRows(second)].map((r) => r.target);
  assert.equal(new Set(targets).size, 52, "every entry once");
  await page(await browser.get("/admin/audit?cursor=not-ours"), 400, /not one the console made/);
});
