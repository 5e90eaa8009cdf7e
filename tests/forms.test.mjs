// Single-use forms and pending requests checked against the client as it is
// now: a login or consent form posted twice is refused the second time (one
// consent, one code), and a request that waited on a page while its client
// was changed meets the client's current registration before a code is issued.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { registerClient, createUser, authorize, authParams, submit, field, Jar, REDIRECT_URI } from "./flow.mjs";

let worker, user;
before(async () => {
  worker = await startWorker();
  user = await createUser(worker);
});
after(async () => { await worker?.stop(); });

/** A refusal page: 400 HTML, never a redirect. */
async function assertPage(res, what) {
  assert.equal(res.status, 400, what);
  assert.equal(res.headers.get("location"), null, `${what}: no redirect`);
  return res.text();
}

/** Walks to the consent page of a fresh browser; returns { jar, html, params }. */
async function atConsent(client) {
  const jar = new Jar();
  const { params } = authParams(client);
  const login = await (await authorize(worker, jar, params)).text();
  const consent = await submit(worker, jar, login, { username: user.username, password: user.password });
  const html = await consent.text();
  assert.equal(field(html, "step"), "consent");
  return { jar, html, params };
}

/** PUT /register/{id} with the admin token: the client's whole metadata, replaced. */
async function replaceClient(client, metadata) {
  const res = await worker.fetch(`/register/${client.client_id}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ client_id: client.client_id, ...metadata }),
  });
  assert.equal(res.status, 200, await res.clone().text());
}

const codeIn = (res) => res.headers.get("location") && new URL(res.headers.get("location")).searchParams.get("code");

test("the same consent form posted twice yields one code", async () => {
  const client = await registerClient(worker);
  const { jar, html } = await atConsent(client);
  const first = await submit(worker, jar, html, { decision: "allow" });
  assert.equal(first.status, 303);
  assert.ok(codeIn(first));
  const again = await submit(worker, jar, html, { decision: "allow" });
  const page = await assertPage(again, "replayed consent");
  assert.match(page, /was already sent/);
});

test("the same login form posted twice signs in once", async () => {
  const client = await registerClient(worker);
  const jar = new Jar();
  const login = await (await authorize(worker, jar, authParams(client).params)).text();
  const first = await submit(worker, jar, login, { username: user.username, password: user.password });
  assert.equal(field(await first.text(), "step"), "consent");
  await assertPage(await submit(worker, jar, login, { username: user.username, password: user.password }), "replayed login");
  // A wrong password consumes the form too: the page that answers carries a new one.
  const jar2 = new Jar();
  const login2 = await (await authorize(worker, jar2, authParams(client).params)).text();
  const wrong = await submit(worker, jar2, login2, { username: user.username, password: "not it at all" });
  assert.equal(wrong.status, 401);
  const retry = await wrong.text();
  assert.notEqual(field(retry, "handle"), field(login2, "handle"));
  await assertPage(await submit(worker, jar2, login2, { username: user.username, password: user.password }), "reused");
  assert.equal(field(await (await submit(worker, jar2, retry, { username: user.username, password: user.password })).text(), "step"), "consent");
});

test("a consent form opened before its redirect URI was removed gets a page, never a redirect there", async () => {
  const client = await registerClient(worker, { redirect_uris: [REDIRECT_URI, "http://127.0.0.1:9/other"] });
  const { jar, html } = await atConsent(client);
  await replaceClient(client, { redirect_uris: ["http://127.0.0.1:9/other"], grant_types: ["authorization_code", "refresh_token"] });
  const res = await submit(worker, jar, html, { decision: "allow" });
  const page = await assertPage(res, "redirect URI gone");
  assert.match(page, /no longer registered/);
});

test("a consent form opened before the client's scopes were narrowed answers invalid_scope", async () => {
  const client = await registerClient(worker);
  const { jar, html, params } = await atConsent(client);
  await replaceClient(client, { redirect_uris: [REDIRECT_URI], grant_types: ["authorization_code", "refresh_token"], scope: "openid" });
  const res = await submit(worker, jar, html, { decision: "allow" });
  assert.equal(res.status, 303);
  const loc = new URL(res.headers.get("location"));
  assert.equal(loc.searchParams.get("error"), "invalid_scope");
  assert.equal(loc.searchParams.get("state"), params.state);
  assert.equal(loc.searchParams.get("code"), null);
});

test("a login form opened before the client was deleted is refused", async () => {
  const client = await registerClient(worker);
  const jar = new Jar();
  const login = await (await authorize(worker, jar, authParams(client).params)).text();
  const del = await worker.fetch(`/register/${client.client_id}`, { method: "DELETE", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(del.status, 204);
  await assertPage(await submit(worker, jar, login, { username: user.username, password: user.password }), "client gone");
});
