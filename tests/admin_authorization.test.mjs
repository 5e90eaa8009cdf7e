// Every action of the admin console, refused four ways with nothing
// changed: without a console session (303 to /admin/login), from a person
// signed in who is no administrator (403), from an administrator whose
// console session has gone idle (303 to /admin/login), and from an
// administrator without the form's CSRF token (400). The forms posted are
// the real ones, taken from the console's own pages.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { createUser, registerClient, field, obtainCode } from "./flow.mjs";
import { Console, createAdmin, page, goesTo, formOf } from "./console.mjs";

const IDLE = 5;
let worker;
before(async () => { worker = await startWorker({ vars: { ADMIN_SESSION_IDLE_TTL: String(IDLE) } }); });
after(async () => { await worker?.stop(); });

const api = async (path) => {
  const res = await worker.fetch(path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const body = await res.json();
  delete body.registration_access_token; // a new one with every read (RFC 7592 §3)
  return body;
};

/** What any of the actions would change. */
async function state(client, user) {
  return JSON.stringify({
    keys: (await (await worker.fetch("/jwks.json")).json()).keys.map((k) => k.kid).sort(),
    client: await api(`/register/${client.client_id}`),
    user: await api(`/admin/users/${user.username}`),
    users: (await worker.fetch("/admin/users/newcomer", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status,
  });
}

/** Every console form: [action, its fields and the values it would post]. */
async function everyForm(browser, client, user) {
  const c = `/admin/clients/${client.client_id}`;
  const u = `/admin/accounts/${user.username}`;
  const forms = [];
  const take = (html, action, extra = {}, also = "") => {
    const f = formOf(html, action, also);
    forms.push([action, { step: field(f, "step"), handle: field(f, "handle"), csrf: field(f, "csrf"), ...extra }]);
  };
  const home = await browser.open("/admin");
  take(home, "/admin/logout");
  take(await browser.open("/admin/signing-keys/rotate?reason=compromise"), "/admin/signing-keys/rotate");
  take(await browser.open("/admin/clients/new"), "/admin/clients/new",
    { client_name: "Sneaky", redirect_uris: "https://sneaky.example/cb", token_endpoint_auth_method: "client_secret_basic", grant_type_authorization_code: "on", response_type_code: "on" });
  take(await browser.open(c), c, { client_name: "Renamed", redirect_uris: "https://sneaky.example/cb", token_endpoint_auth_method: "client_secret_basic", grant_type_authorization_code: "on", response_type_code: "on" });
  take(await browser.open(`${c}/secret`), `${c}/secret`);
  take(await browser.open(`${c}/delete`), `${c}/delete`);
  take(await browser.open("/admin/accounts/new"), "/admin/accounts/new", { username: "newcomer", password: "a new password here" });
  const userPage = await browser.open(u);
  take(userPage, `${u}/claims`, { "claim-name": "Changed" });
  take(userPage, `${u}/enrollment`);
  take(userPage, `${u}/sessions`, {}, 'value="end-all"');
  take(userPage, `${u}/sessions`, { session: field(formOf(userPage, `${u}/sessions`, 'name="session"'), "session") }, 'name="session"');
  take(userPage, `${u}/grants`, {}, 'value="revoke-all"');
  take(userPage, `${u}/grants`, { client_id: client.client_id }, `value="${client.client_id}"`);
  take(await browser.open(`${u}/password`), `${u}/password`, { password: "another password here" });
  take(await browser.open(`${u}/admin`), `${u}/admin`);
  take(await browser.open(`${u}/delete`), `${u}/delete`);
  return forms;
}

test("every console action is refused without a session, to an ordinary user, after idleness and without its CSRF token", async () => {
  const admin = await createAdmin(worker);
  const client = await registerClient(worker);
  const user = await createUser(worker);
  // The user has a session and a grant, so that every form is on their page.
  const personal = new Console(worker);
  const login = await page(await personal.get("/account/login"), 200);
  goesTo(await personal.postForm(login, "/account/login", { username: user.username, password: user.password }), "/account");
  await obtainCode(worker, client, user);
  const browser = new Console(worker);
  await browser.signIn(admin);
  const forms = await everyForm(browser, client, user);
  assert.equal(forms.length, 16);
  const before = await state(client, user);

  // An administrator's browser, but the form without its CSRF token.
  for (const [action, fields] of forms) {
    const { csrf, ...rest } = fields;
    assert.ok(csrf, action);
    const res = await browser.post(action, rest);
    await page(res, 400, null);
  }
  // No console session at all.
  for (const [action, fields] of forms) {
    goesTo(await new Console(worker).post(action, fields), "/admin/login");
  }
  // A person signed in to their own account, with the administrator's forms.
  for (const [action, fields] of forms) {
    await page(await personal.post(action, fields), 403, /not an administrator/);
  }
  assert.equal(await state(client, user), before, "nothing changed");

  // Idle past ADMIN_SESSION_IDLE_TTL: the same complete forms change nothing.
  await sleep((IDLE + 1.5) * 1000);
  for (const [action, fields] of forms) {
    goesTo(await browser.post(action, fields), "/admin/login");
  }
  assert.equal(await state(client, user), before, "nothing changed");
  goesTo(await browser.get("/admin"), "/admin/login", 302);
});
