// The admin console's Clients section (/admin/clients), driven over HTTP as
// a browser would: registering confidential and public clients with the
// RFC 7591 form (refused in the registration API's words, each error next
// to its field), the secret shown once, editing (the old redirect URI is
// refused at once), rotating the secret, deleting (its tokens stop working),
// the list and its search, and every refusal: no console session, an
// ordinary user, a missing or wrong CSRF token, a form sent twice or to
// another client.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { registerClient, createUser, obtainCode, exchange, token, authorize, field, Jar, REDIRECT_URI } from "./flow.mjs";
import { Console, createAdmin, page, goesTo, formOf, flip } from "./console.mjs";

let worker, brief, admin, browser;
before(async () => {
  worker = await startWorker();
  // A re-authentication window of 2 s, for destructive actions.
  brief = await startWorker({ vars: { ADMIN_REAUTH_TTL: "2" } });
  admin = await createAdmin(worker);
  browser = new Console(worker, { address: "198.51.100.44" });
  await browser.signIn(admin);
});
after(async () => {
  await worker?.stop();
  await brief?.stop();
});

const refusedPage = /expired, was already sent, or did not come from this page/;
const unique = (prefix) => `${prefix} ${Math.random().toString(36).slice(2, 8)}`;
const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/** GET /register/{id} with the admin token: the client's registration, or the status. */
async function registration(clientId) {
  const res = await worker.fetch(`/register/${clientId}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return res.status === 200 ? res.json() : res.status;
}

/** Every field a form sends, as a browser would send it: inputs, checked boxes, textareas, selects. */
function formValues(formHtml) {
  const values = new URLSearchParams();
  for (const [tag] of formHtml.matchAll(/<input [^>]*>/g)) {
    const name = tag.match(/ name="([^"]*)"/)?.[1];
    if (!name || (/type="checkbox"/.test(tag) && !/ checked/.test(tag))) continue;
    values.append(name, unescape(tag.match(/ value="([^"]*)"/)?.[1] ?? ""));
  }
  for (const [, name, text] of formHtml.matchAll(/<textarea [^>]*name="([^"]*)"[^>]*>([^<]*)<\/textarea>/g)) values.append(name, unescape(text));
  for (const [, name, options] of formHtml.matchAll(/<select [^>]*name="([^"]*)"[^>]*>([\s\S]*?)<\/select>/g)) {
    values.append(name, unescape(options.match(/<option value="([^"]*)" selected>/)?.[1] ?? ""));
  }
  return values;
}

/** The new-client form, filled with `fields` over what it shows, posted. */
async function register(fields) {
  const html = await browser.open("/admin/clients/new", /<h1>New client<\/h1>/);
  const values = formValues(formOf(html, "/admin/clients/new"));
  for (const [k, v] of Object.entries(fields)) {
    if (v === null) values.delete(k);
    else values.set(k, v);
  }
  return browser.post("/admin/clients/new", values);
}

/** The read-only value with id `id` on the page that shows what was issued. */
const shown = (html, id) => unescape(html.match(new RegExp(`<input id="${id}" type="text" value="([^"]*)" readonly`))?.[1] ?? "");

/** The list's rows for `query`: [name, id, kind, method]. */
async function listed(query) {
  const html = await browser.open(`/admin/clients?q=${encodeURIComponent(query)}`, /<h1>Clients<\/h1>/);
  return [...html.matchAll(/<tr><td data-label="Name"><a href="[^"]*">([^<]*)<\/a><\/td><td data-label="Client ID" class="mono">([^<]*)<\/td><td data-label="Kind">([^<]*)<\/td><td data-label="Authentication">(?:<code>([^<]*)<\/code>)?<\/td><td data-label="Created">([^<]*)<\/td><\/tr>/g)]
    .map(([, name, id, kind, method, created]) => [unescape(name), id, kind, method, created]);
}

/** The audit log's entries about `target`, newest first: [who, what, from]. */
async function audited(target) {
  const html = await browser.open(`/admin/audit?q=${encodeURIComponent(target)}`);
  return [...html.matchAll(/<td data-label="Who">(.*?)<\/td><td data-label="What"><code>(.*?)<\/code>.*?<td data-label="From" class="mono">(.*?)<\/td>/g)]
    .map(([, who, what, from]) => [who, what, from]);
}

test("an administrator registers a confidential client, sees its secret once, and the client signs a person in", async () => {
  const name = unique("Shop");
  const res = await register({
    client_name: name,
    redirect_uris: `${REDIRECT_URI}\r\n\r\nhttp://127.0.0.1:9/other`,
    grant_type_refresh_token: "on",
    scope: "openid email profile offline_access",
    id_token_signed_response_alg: "ES256",
    contacts: "ops@shop.example",
  });
  // The answer to the post itself: no redirect carries the secret, and it is never stored.
  const issued = await page(res, 200, /<h1>Client registered<\/h1>/);
  assert.match(issued, /only time the secret is shown/);
  const client = { client_id: shown(issued, "client_id"), client_secret: shown(issued, "client_secret") };
  assert.match(client.client_id, /^[\w-]{20,}$/);
  assert.ok(client.client_secret.length >= 40, "a 256-bit secret");
  // The copy buttons' script, under the page's own nonce; the buttons wait for it.
  const nonce = res.headers.get("content-security-policy").match(/script-src 'nonce-([^']+)'/)[1];
  assert.ok(issued.includes(`<script src="/assets/admin.js" nonce="${nonce}" defer></script>`));
  assert.ok(issued.includes('<button type="button" data-copy="client_secret" hidden>'));
  const script = await worker.fetch("/assets/admin.js");
  assert.equal(script.status, 200);
  assert.match(script.headers.get("content-type"), /^text\/javascript/);
  assert.match(await script.text(), /navigator\.clipboard/);
  // Registered as the JSON API would have registered it.
  const reg = await registration(client.client_id);
  assert.deepEqual(reg.redirect_uris, [REDIRECT_URI, "http://127.0.0.1:9/other"]);
  assert.deepEqual(reg.grant_types, ["authorization_code", "refresh_token"]);
  assert.deepEqual([reg.client_name, reg.token_endpoint_auth_method, reg.id_token_signed_response_alg, reg.scope], [name, "client_secret_basic", "ES256", "openid email profile offline_access"]);
  assert.deepEqual(reg.contacts, ["ops@shop.example"]);
  assert.equal(reg.resource_server, undefined);
  assert.equal(reg.allowed_resources, undefined, "no limit unless asked for");
  // The client completes a code flow with the secret it was shown.
  const user = await createUser(worker);
  const tokens = await exchange(worker, client, await obtainCode(worker, client, user));
  assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);
  // Listed, searched by name (any case) or by id, and in the audit log.
  const today = new Date().toISOString().slice(0, 10);
  assert.deepEqual(await listed(name.toUpperCase()), [[name, client.client_id, "confidential", "client_secret_basic", today]]);
  assert.deepEqual((await listed(client.client_id)).map((r) => r[1]), [client.client_id]);
  assert.deepEqual(await audited(client.client_id), [[admin.username, "client.create", "198.51.100.44"]]);
  // The client's page says what it is; its secret is not on it.
  const view = await browser.open(`/admin/clients/${client.client_id}`, new RegExp(`<h1>${name}</h1>`));
  assert.match(view, /confidential \(client_secret_basic\)/);
  assert.ok(!view.includes(client.client_secret));
});

test("a public client is registered without a secret and uses PKCE alone", async () => {
  const name = unique("Phone app");
  const issued = await page(await register({ client_name: name, redirect_uris: REDIRECT_URI, token_endpoint_auth_method: "none" }), 200, /<h1>Client registered<\/h1>/);
  assert.ok(!issued.includes("client_secret"), "no secret shown");
  assert.match(issued, /A public client has no secret/);
  const client = { client_id: shown(issued, "client_id") };
  const reg = await registration(client.client_id);
  assert.equal(reg.token_endpoint_auth_method, "none");
  assert.equal(reg.client_secret_expires_at, undefined, "no secret at all");
  const tokens = await exchange(worker, client, await obtainCode(worker, client, await createUser(worker)));
  assert.ok(tokens.access_token);
  assert.equal((await listed(name))[0][2], "public");
  // A public client has no secret to rotate.
  await page(await browser.get(`/admin/clients/${client.client_id}/secret`), 409, /public client has no secret/);
});

test("the form refuses what POST /register refuses, in its words, each next to its field", async () => {
  const name = unique("Broken");
  const wrong = { redirect_uris: "http://app.example/cb", logo_uri: "ftp://logo.example/l.png", scope: "openid openid" };
  const res = await register({ client_name: name, ...wrong, grant_type_client_credentials: "on", token_endpoint_auth_method: "client_secret_post" });
  const html = await page(res, 400, /The client was not saved: 3 problems/);
  // The JSON API's answer to the same metadata is the first of them, word for word.
  const api = await worker.fetch("/register", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ client_name: name, redirect_uris: [wrong.redirect_uris], logo_uri: wrong.logo_uri, scope: wrong.scope }),
  });
  assert.equal(api.status, 400);
  const { error, error_description } = await api.json();
  assert.equal(error, "invalid_client_metadata");
  const errorOf = (id) => unescape(html.match(new RegExp(`<p class="field-error" id="${id}-error">([^<]*)</p>`))?.[1] ?? "");
  assert.equal(errorOf("scope"), error_description);
  assert.equal(errorOf("redirect_uris"), 'redirect_uris: "http://app.example/cb" must use https (http is allowed only on loopback hosts)');
  assert.equal(errorOf("logo_uri"), "logo_uri must use https (http is allowed only on loopback hosts)");
  for (const id of ["scope", "redirect_uris", "logo_uri"]) {
    const tag = html.match(new RegExp(`<(?:input|textarea) id="${id}"[^>]*>`))[0];
    assert.match(tag, /aria-invalid="true"/, id);
    assert.match(tag, new RegExp(`aria-describedby="[^"]*${id}-error"`), id);
  }
  // What was typed is kept, boxes and selects too; valid fields are not marked.
  const form = formValues(formOf(html, "/admin/clients/new"));
  assert.equal(form.get("redirect_uris"), wrong.redirect_uris);
  assert.equal(form.get("client_name"), name);
  assert.equal(form.get("grant_type_client_credentials"), "on");
  assert.equal(form.get("token_endpoint_auth_method"), "client_secret_post");
  assert.doesNotMatch(html.match(/<input id="client_name"[^>]*>/)[0], /aria-invalid/);
  assert.deepEqual(await listed(name), [], "nothing registered");
  // Boxes that disagree: the error is on the group to change.
  const none = await page(await register({ client_name: name, grant_type_authorization_code: null, grant_type_client_credentials: "on" }), 400);
  assert.match(none, /<fieldset id="response_types" aria-describedby="response_types-error">/);
  assert.match(none, /id="response_types-error">response type &quot;code&quot; and grant type &quot;authorization_code&quot; must be registered together</);
  // A corrected form registers.
  const fixed = formValues(formOf(html, "/admin/clients/new"));
  fixed.set("redirect_uris", "https://app.example/cb");
  fixed.set("logo_uri", "https://logo.example/l.png");
  fixed.set("scope", "openid");
  await page(await browser.postForm(html, "/admin/clients/new", fixed), 200, /<h1>Client registered<\/h1>/);
  assert.equal((await listed(name)).length, 1);
});

test("an edit takes effect at once: the old redirect URI is refused at /authorize", async () => {
  const client = await registerClient(worker, { client_name: unique("Editable"), scope: "openid email profile offline_access" });
  const path = `/admin/clients/${client.client_id}`;
  const before = await registration(client.client_id);
  const view = await browser.open(path, /<h2 id="edit">Registration<\/h2>/);
  const values = formValues(formOf(view, path));
  assert.equal(values.get("redirect_uris"), REDIRECT_URI, "the form shows the registration");
  const moved = "http://127.0.0.1:9/moved";
  values.set("redirect_uris", moved);
  goesTo(await browser.postForm(view, path, values), `${path}?done=saved`);
  await browser.open(`${path}?done=saved`, /role="status">The client has been saved/);
  // The client's own registration access token (the latest, from that read) still works: the
  // console did not replace it. Nothing but the redirect URIs changed.
  const own = await worker.fetch(`/register/${client.client_id}`, { headers: { authorization: `Bearer ${before.registration_access_token}` } });
  assert.equal(own.status, 200);
  const after = await own.json();
  assert.deepEqual(after.redirect_uris, [moved]);
  const strip = ({ redirect_uris, registration_access_token, ...rest }) => rest;
  assert.deepEqual(strip(after), strip(before));
  // The old redirect URI is refused at once (an error page, no redirect); the new one is taken.
  const params = { client_id: client.client_id, response_type: "code", scope: "openid", redirect_uri: REDIRECT_URI, code_challenge: "x".repeat(43), code_challenge_method: "S256" };
  const old = await authorize(worker, new Jar(), params);
  assert.equal(old.status, 400);
  assert.equal(old.headers.get("location"), null);
  assert.match(await old.text(), /redirect_uri/);
  const fresh = await authorize(worker, new Jar(), { ...params, redirect_uri: moved });
  assert.equal(fresh.status, 200, "the login page");
  const log = await audited(client.client_id);
  assert.deepEqual(log.map(([who, what]) => [who, what]), [[admin.username, "client.update"], ["ADMIN_TOKEN", "client.create"]]);
  assert.equal(log[0][2], "198.51.100.44");
  // An invalid edit is refused by field and changes nothing.
  const again = await browser.open(path);
  const bad = formValues(formOf(again, path));
  bad.set("redirect_uris", "not a url");
  const refused = await page(await browser.postForm(again, path, bad), 400, /id="redirect_uris-error">redirect_uris: &quot;not a url&quot; is not an absolute URL</);
  assert.match(refused, /not a url<\/textarea>/);
  assert.deepEqual((await registration(client.client_id)).redirect_uris, [moved]);
  // Turning public drops the secret; turning confidential again shows a new one, once.
  const pub = formValues(formOf(refused, path));
  pub.set("redirect_uris", moved);
  pub.set("token_endpoint_auth_method", "none");
  goesTo(await browser.postForm(refused, path, pub), `${path}?done=saved`);
  const publicView = await browser.open(path, /public \(none\)/);
  const conf = formValues(formOf(publicView, path));
  conf.set("token_endpoint_auth_method", "client_secret_post");
  const issued = await page(await browser.postForm(publicView, path, conf), 200, /confidential now/);
  const secret = shown(issued, "client_secret");
  const cc = await token(worker, { client_id: client.client_id }, { grant_type: "refresh_token", refresh_token: "x", client_secret: secret });
  assert.equal((await cc.json()).error, "invalid_grant", "authenticated with the new secret");
});

test("rotating the secret: the old one is refused at /token at once, the new one works", async () => {
  const client = await registerClient(worker, { client_name: unique("Rotating"), grant_types: ["client_credentials"], redirect_uris: [] });
  const path = `/admin/clients/${client.client_id}`;
  const grant = (secret) => token(worker, { client_id: client.client_id, client_secret: secret }, { grant_type: "client_credentials" });
  assert.equal((await grant(client.client_secret)).status, 200);
  const view = await browser.open(path);
  assert.ok(view.includes(`<a href="${path}/secret">Rotate the secret</a>`));
  const confirm = await browser.open(`${path}/secret`, /<h1>Rotate the secret of /);
  assert.match(confirm, /current secret stops working at once/);
  const issued = await page(await browser.postForm(confirm, `${path}/secret`), 200, /<h1>New client secret<\/h1>/);
  const secret = shown(issued, "client_secret");
  assert.notEqual(secret, client.client_secret);
  assert.equal(shown(issued, "client_id"), client.client_id);
  const old = await grant(client.client_secret);
  assert.equal(old.status, 401);
  assert.equal((await old.json()).error, "invalid_client");
  assert.equal((await grant(secret)).status, 200);
  assert.equal((await audited(client.client_id))[0][1], "client.secret");
  // The confirmation's form works once.
  await page(await browser.postForm(confirm, `${path}/secret`), 400, refusedPage);
  assert.equal((await grant(secret)).status, 200, "the replay made no new secret");
});

test("deleting a client ends it: its access token is refused at /userinfo at once", async () => {
  const client = await registerClient(worker, { client_name: unique("Doomed") });
  const path = `/admin/clients/${client.client_id}`;
  const tokens = await exchange(worker, client, await obtainCode(worker, client, await createUser(worker)));
  const userinfo = () => worker.fetch("/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal((await userinfo()).status, 200);
  const confirm = await browser.open(`${path}/delete`, /<h1>Delete Doomed /);
  for (const says of [/access tokens stop working at once/, /refresh tokens and codes are refused/, /refused at \/authorize/]) assert.match(confirm, says);
  assert.ok(confirm.includes(`<a href="${path}">Cancel</a>`));
  goesTo(await browser.postForm(confirm, `${path}/delete`), "/admin/clients?done=deleted");
  await browser.open("/admin/clients?done=deleted", /role="status">The client has been deleted/);
  const refused = await userinfo();
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get("www-authenticate"), /invalid_token/);
  const refresh = await token(worker, client, { grant_type: "refresh_token", refresh_token: tokens.refresh_token });
  assert.equal(refresh.status, 401);
  assert.equal(await registration(client.client_id), 401, "gone for the JSON API too");
  await page(await browser.get(path), 404, /no such client/);
  assert.deepEqual((await audited(client.client_id)).map((r) => r[1]), ["client.delete", "client.create"]);
});

test("without a console session, or as an ordinary user, nothing is shown or changed", async () => {
  const client = await registerClient(worker, { client_name: unique("Guarded") });
  const path = `/admin/clients/${client.client_id}`;
  const anonymous = new Console(worker);
  for (const p of ["/admin/clients", "/admin/clients/new", path, `${path}/secret`, `${path}/delete`]) {
    goesTo(await anonymous.get(p), "/admin/login", 302);
  }
  for (const p of ["/admin/clients/new", path, `${path}/secret`, `${path}/delete`]) {
    goesTo(await anonymous.post(p, { step: "save", handle: "x", csrf: "y", client_name: "Taken over", redirect_uris: "https://evil.example/cb" }), "/admin/login");
  }
  // Signed in to their own account, an ordinary user gets 403 and nothing listed.
  const user = await createUser(worker);
  const own = new Console(worker);
  const login = await page(await own.get("/account/login"), 200);
  goesTo(await own.postForm(login, "/account/login", { username: user.username, password: user.password }), "/account");
  for (const p of ["/admin/clients", `/admin/clients?q=${client.client_id}`, "/admin/clients/new", path, `${path}/delete`]) {
    const html = await page(await own.get(p), 403, /not an administrator/);
    assert.ok(!html.includes(client.client_id) && !html.includes("<form method=\"post\" action=\"/admin"), p);
  }
  // Even with a form an administrator was shown.
  const confirm = await browser.open(`${path}/delete`);
  const f = formOf(confirm, `${path}/delete`);
  await page(await own.post(`${path}/delete`, { step: "delete", handle: field(f, "handle"), csrf: field(f, "csrf") }), 403);
  const reg = await registration(client.client_id);
  assert.deepEqual([reg.client_name, reg.redirect_uris], [client.client_name, [REDIRECT_URI]], "nothing changed");
  // The administrator's form still works: it was never used.
  goesTo(await browser.postForm(confirm, `${path}/delete`), "/admin/clients?done=deleted");
});

test("a post needs its CSRF token, a form of its own purpose for this client, and is taken once", async () => {
  const client = await registerClient(worker, { client_name: unique("Protected") });
  const other = await registerClient(worker, { client_name: unique("Other") });
  const path = `/admin/clients/${client.client_id}`;
  const view = await browser.open(path);
  const edit = formOf(view, path);
  const values = formValues(edit);
  values.set("redirect_uris", "https://evil.example/cb");
  const send = (to, changes) => {
    const body = new URLSearchParams(values);
    for (const [k, v] of Object.entries(changes)) v === null ? body.delete(k) : body.set(k, v);
    return browser.post(to, body);
  };
  const unchanged = async () => assert.deepEqual((await registration(client.client_id)).redirect_uris, [REDIRECT_URI]);
  // Missing or wrong CSRF: refused, the page again with the registration as it is.
  const missing = await page(await send(path, { csrf: null }), 400, refusedPage);
  assert.equal(formValues(formOf(missing, path)).get("redirect_uris"), REDIRECT_URI);
  await page(await send(path, { csrf: flip(values.get("csrf")) }), 400, refusedPage);
  await unchanged();
  // This client's edit form is not another client's, nor a deletion or a new client.
  await page(await send(`/admin/clients/${other.client_id}`, {}), 400, refusedPage);
  await page(await send(`${path}/delete`, { step: "delete" }), 400, refusedPage);
  await page(await send("/admin/clients/new", { client_name: "Sneaky" }), 400, refusedPage);
  assert.equal(await registration(client.client_id).then((r) => r.client_id), client.client_id, "not deleted");
  assert.deepEqual(await listed("Sneaky"), []);
  assert.deepEqual((await registration(other.client_id)).redirect_uris, [REDIRECT_URI]);
  await unchanged();
  // The post to the other client used the form up: the real post is refused too. A fresh form works, once.
  await page(await send(path, {}), 400, refusedPage);
  const fresh = formValues(formOf(await browser.open(path), path));
  fresh.set("redirect_uris", "http://127.0.0.1:9/second");
  goesTo(await browser.post(path, fresh), `${path}?done=saved`);
  fresh.set("redirect_uris", "http://127.0.0.1:9/third");
  await page(await browser.post(path, fresh), 400, refusedPage);
  assert.deepEqual((await registration(client.client_id)).redirect_uris, ["http://127.0.0.1:9/second"], "the replay changed nothing");
  // A registration form sent twice registers once.
  const name = unique("Once");
  const html = await browser.open("/admin/clients/new");
  const body = formValues(formOf(html, "/admin/clients/new"));
  body.set("client_name", name);
  body.set("redirect_uris", REDIRECT_URI);
  await page(await browser.post("/admin/clients/new", body), 200, /Client registered/);
  await page(await browser.post("/admin/clients/new", body), 400, refusedPage);
  assert.equal((await listed(name)).length, 1);
});

test("the list pages on with a cursor and searches by name or id", async () => {
  const tag = unique("Paged").replace(" ", "-");
  const made = [];
  for (let i = 0; i < 53; i++) made.push((await registerClient(worker, { client_name: `${tag} ${i}` })).client_id);
  const first = await browser.open(`/admin/clients?q=${encodeURIComponent(tag)}`);
  const rows = (html) => [...html.matchAll(/<td data-label="Client ID" class="mono">([^<]*)<\/td>/g)].map((m) => m[1]);
  assert.equal(rows(first).length, 50);
  const next = first.match(/href="(\/admin\/clients\?q=[^"]*&amp;cursor=[^"]+)" rel="next"/)[1].replace(/&amp;/g, "&");
  const second = await browser.open(next);
  assert.ok(!second.includes('rel="next"'));
  assert.deepEqual([...rows(first), ...rows(second)].sort(), [...made].sort(), "every client once");
  assert.match(await browser.open("/admin/clients?q=no-such-client-anywhere"), /No clients match/);
  await page(await browser.get("/admin/clients?cursor=not-ours"), 400, /not one the console made/);
  await page(await browser.get("/admin/clients/no-such-id"), 404, /no such client/);
});

test("rotating and deleting ask for a recent sign-in, and come back to their confirmation", async () => {
  const someone = await createAdmin(brief);
  const late = new Console(brief);
  await late.signIn(someone);
  const client = (await (await brief.fetch("/register", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ client_name: "Kept", redirect_uris: [REDIRECT_URI] }),
  })).json());
  const path = `/admin/clients/${client.client_id}`;
  const deletion = await late.open(`${path}/delete`, /<h1>Delete Kept<\/h1>/);
  const rotation = await late.open(`${path}/secret`, /<h1>Rotate the secret of Kept<\/h1>/);
  // Whole seconds: more than 3 s after is surely later than 2 s.
  await sleep(3200);
  for (const action of ["delete", "secret"]) {
    const back = `${path}/${action}`;
    goesTo(await late.get(back), `/admin/login?return_to=${encodeURIComponent(back)}`, 302);
    const confirm = action === "delete" ? deletion : rotation;
    goesTo(await late.postForm(confirm, back), `/admin/login?return_to=${encodeURIComponent(back)}`);
  }
  const kept = await brief.fetch(`/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Basic " + Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64") },
    body: "grant_type=refresh_token&refresh_token=x",
  });
  // Authenticated (401 invalid_client otherwise), then refused the grant it does not have.
  assert.equal((await kept.json()).error, "unauthorized_client", "the secret still works: nothing was rotated");
  // Signed in again, the administrator is back at the confirmation, whose form (unused) now deletes.
  const back = `${path}/delete`;
  const again = await page(await late.get(`/admin/login?return_to=${encodeURIComponent(back)}`), 200);
  goesTo(await late.postForm(again, "/admin/login", { username: someone.username, password: someone.password }), back);
  goesTo(await late.postForm(deletion, back), "/admin/clients?done=deleted");
  const gone = await brief.fetch(`/register/${client.client_id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(gone.status, 401);
});
