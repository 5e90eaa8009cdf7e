// Federated sign-in against a real upstream: a second edge-oidc instance is
// the upstream OpenID provider, configured on ours through /admin/idps. The
// relying party is the unmodified openid-client library; the test is only
// the person, with one cookie jar per site (as a browser keeps them).
//
// Covered: the admin API (secrets write-only, validation), the login page's
// buttons, a first sign-in making a local account (a fresh `sub`, the
// upstream's claims copied, `idp` and the upstream's `amr` in the ID
// token), the same `sub` on the next sign-in, the `idp` and `login_hint`
// shortcuts, linking by e-mail (proved, or automatic when the provider
// allows it and the address is verified), and every tampering with the
// round trip refused: state altered, replayed, from another browser, to
// another provider's callback, a foreign `iss`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as oidc from "openid-client";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { Jar, field, form, registerClient, createUser } from "./flow.mjs";
import { adminCall, person, visit, postStep, throughUpstream, openidRp, backToRp } from "./upstreams.mjs";

let up, ours, rp;
before(async () => {
  [up, ours] = await Promise.all([startWorker(), startWorker()]);
  rp = await registerClient(ours, { client_name: "The RP" });
});
after(async () => {
  await Promise.all([up?.stop(), ours?.stop()]);
});

const admin = adminCall;
const get = visit;
const post = postStep;

/** The RP's side: openid-client configured against ours ({ config, start }). */
const rpConfig = () => openidRp(ours, rp);
const rpStart = (relyingParty, extra) => relyingParty.start(extra);
const atUpstream = (res, jars, user) => throughUpstream(up, jars.up, res, user);
const toRp = (res, jars) => backToRp(ours, jars.ours, res);

/** Makes the upstream instance provider `id` of ours: a client there whose redirect URI is our callback. */
async function addUpstream(id, extra = {}) {
  const client = await registerClient(up, { redirect_uris: [`${ours.url}/federation/${id}/callback`], client_name: "ours" });
  const res = await admin(ours, "POST", "/admin/idps", {
    id, name: `Upstream ${id}`, kind: "oidc", issuer: up.url,
    client_id: client.client_id, client_secret: client.client_secret, ...extra,
  });
  assert.equal(res.status, 201, await res.clone().text());
  return client;
}

/** The whole sign-in through provider `idp` as `user`, from the RP's URL to its tokens. */
async function signInThrough(idp, user, jars = person()) {
  const { config, start } = await rpConfig();
  const { url, checks } = await start();
  const page = await get(ours, jars.ours, url);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, new RegExp(`<button type="submit" name="idp" value="${idp}"[^>]*>Continue with Upstream ${idp}</button>`));
  const callback = await atUpstream(await post(ours, jars.ours, html, "federation", { idp }), jars, user);
  const back = await toRp(await get(ours, jars.ours, callback), jars);
  const tokens = await oidc.authorizationCodeGrant(config, back, checks);
  return { tokens, claims: tokens.claims(), jars, config };
}

test("the admin API keeps secrets write-only and refuses bad providers", async () => {
  const body = { id: "api", name: "API test", kind: "oidc", issuer: up.url, client_id: "c", client_secret: "s3cret-value" };
  assert.equal((await ours.fetch("/admin/idps", form({}))).status, 401);
  const created = await admin(ours, "POST", "/admin/idps", body);
  assert.equal(created.status, 201);
  const view = await created.json();
  assert.equal(view.client_secret_set, true);
  assert.ok(!JSON.stringify(view).includes("s3cret-value"));
  assert.equal((await admin(ours, "POST", "/admin/idps", body)).status, 409);
  const listed = await (await admin(ours, "GET", "/admin/idps")).json();
  assert.ok(listed.idps.some((p) => p.id === "api"));
  assert.ok(!JSON.stringify(listed).includes("s3cret-value"));
  // A PUT without the secret keeps it.
  const { client_secret, ...rest } = body;
  const put = await admin(ours, "PUT", "/admin/idps/api", { ...rest, name: "Renamed" });
  assert.equal(put.status, 200);
  assert.deepEqual([(await put.json()).name, (await (await admin(ours, "GET", "/admin/idps/api")).json()).client_secret_set], ["Renamed", true]);
  for (const bad of [
    { ...body, id: "Bad Id" },
    { ...body, id: "plain", issuer: "http://upstream.example" },
    { ...body, id: "typo", clientid: "x" },
    { ...body, id: "nosecret", client_secret: undefined },
    { id: "gh", name: "GH", kind: "oauth2", client_id: "c", client_secret: "s", authorization_endpoint: "https://a.example/auth", token_endpoint: "https://a.example/token", userinfo_endpoint: "https://a.example/user" },
  ]) {
    const res = await admin(ours, "POST", "/admin/idps", bad);
    assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${await res.clone().text()}`);
    assert.equal((await res.json()).error, "invalid_request");
  }
  assert.equal((await admin(ours, "DELETE", "/admin/idps/api")).status, 204);
  assert.equal((await admin(ours, "GET", "/admin/idps/api")).status, 404);
});

test("a first sign-in makes a local account; the next one finds it by its link", async () => {
  await addUpstream("up");
  const alice = await createUser(up, `alice${randomBytes(3).toString("hex")}`, { name: "Alice Upstream", email_verified: false });
  const first = await signInThrough("up", alice);
  const upstreamSub = alice.sub;
  assert.notEqual(first.claims.sub, upstreamSub, "a fresh local sub, not the upstream's");
  assert.equal(first.claims.idp, "up");
  assert.deepEqual(first.claims.amr, ["pwd"], "the upstream's own amr");
  const info = await oidc.fetchUserInfo(first.config, first.tokens.access_token, first.claims.sub);
  assert.equal(info.name, "Alice Upstream");
  assert.equal(info.email, `${alice.username}@example.com`);
  // The upstream's session is still live (same upstream jar); ours is new.
  const again = await signInThrough("up", alice, { ours: new Jar(), up: first.jars.up });
  assert.equal(again.claims.sub, first.claims.sub);
  // Claims are copied at each sign-in.
  await admin(up, "PUT", `/admin/users/${alice.username}`, { claims: { name: "Alice Renamed", email: `${alice.username}@example.com` } });
  const third = await signInThrough("up", alice);
  assert.equal(third.claims.sub, first.claims.sub);
  assert.equal((await oidc.fetchUserInfo(third.config, third.tokens.access_token, third.claims.sub)).name, "Alice Renamed");
});

test("idp= and a login_hint at a provider's domain go straight to it", async () => {
  await addUpstream("hinted", { domains: ["hinted.example"] });
  const config = await rpConfig();
  for (const extra of [{ idp: "hinted" }, { login_hint: "someone@hinted.example" }]) {
    const { url } = await rpStart(config, extra);
    const res = await get(ours, new Jar(), url);
    assert.equal(res.status, 302, JSON.stringify(extra));
    const to = new URL(res.headers.get("location"));
    assert.equal(to.origin, up.url);
    assert.equal(to.searchParams.get("redirect_uri"), `${ours.url}/federation/hinted/callback`);
    assert.equal(to.searchParams.get("code_challenge_method"), "S256");
    assert.ok(to.searchParams.get("nonce") && to.searchParams.get("state"));
    if (extra.login_hint) assert.equal(to.searchParams.get("login_hint"), extra.login_hint);
  }
  // An unknown idp is no shortcut: the login page.
  const { url } = await rpStart(config, { idp: "nope" });
  assert.equal((await get(ours, new Jar(), url)).status, 200);
});

/** Starts a sign-in through `idp` and returns the upstream's redirect back to us, not followed. */
async function callbackFor(idp, user, jars = person()) {
  const { url } = await rpStart(await rpConfig());
  const html = await (await get(ours, jars.ours, url)).text();
  return { callback: await atUpstream(await post(ours, jars.ours, html, "federation", { idp }), jars, user), jars };
}

test("the round trip cannot be altered, replayed, moved to another browser or provider", async () => {
  await addUpstream("strict");
  await addUpstream("other");
  const bob = await createUser(up, `bob${randomBytes(3).toString("hex")}`);
  const refused = async (res, why) => {
    assert.equal(res.status, 400, why);
    assert.match(await res.text(), /expired|already|another|browser/i, why);
  };

  // An altered state.
  const { callback, jars } = await callbackFor("strict", bob);
  const altered = new URL(callback);
  const state = altered.searchParams.get("state");
  altered.searchParams.set("state", state.slice(0, -2) + (state.endsWith("AA") ? "BB" : "AA"));
  await refused(await get(ours, jars.ours, altered), "altered state");
  // Another browser (no federation cookie) with the genuine answer.
  await refused(await get(ours, new Jar(), callback), "another browser");
  // The answer delivered to another provider's callback.
  const moved = new URL(callback);
  moved.pathname = "/federation/other/callback";
  await refused(await get(ours, jars.ours, moved), "another provider's callback");
  // A foreign iss (RFC 9207): refused, and the person is back on the login page.
  const foreign = new URL(callback);
  foreign.searchParams.set("iss", "https://evil.example");
  const mixUp = await get(ours, jars.ours, foreign);
  assert.equal(mixUp.status, 400);
  assert.match(await mixUp.text(), /Sign in/);
  // The genuine answer, after all that, is used up (the mix-up attempt used it).
  await refused(await get(ours, jars.ours, callback), "replayed");

  // A genuine answer works once, and only once.
  const fresh = await callbackFor("strict", bob, { ours: new Jar(), up: jars.up });
  const ok = await get(ours, fresh.jars.ours, fresh.callback);
  assert.ok([200, 302, 303].includes(ok.status));
  await refused(await get(ours, fresh.jars.ours, fresh.callback), "replayed");
});

test("an account with the same e-mail is linked only once the person proves it", async () => {
  await addUpstream("prove");
  const name = `carol${randomBytes(3).toString("hex")}`;
  const local = await createUser(ours, `${name}-here`, { email: `${name}@example.com` });
  const remote = await createUser(up, name, { email: `${name}@example.com`, email_verified: true });
  const jars = person();
  const relyingParty = await rpConfig();
  const { url, checks } = await relyingParty.start();
  const html = await (await get(ours, jars.ours, url)).text();
  const callback = await atUpstream(await post(ours, jars.ours, html, "federation", { idp: "prove" }), jars, remote);
  const page = await get(ours, jars.ours, callback);
  assert.equal(page.status, 400);
  const login = await page.text();
  assert.match(login, /already uses the e-mail address of your Upstream prove account/);
  assert.ok(!login.includes(local.username), "the page does not say which account");
  const signedIn = await post(ours, jars.ours, login, "login", { username: local.username, password: local.password });
  const back = await toRp(signedIn, jars);
  const tokens = await oidc.authorizationCodeGrant(relyingParty.config, back, checks);
  assert.equal(tokens.claims().sub, local.sub);
  // From now on the upstream signs in to that account directly.
  const next = await signInThrough("prove", remote, { ours: new Jar(), up: jars.up });
  assert.equal(next.claims.sub, local.sub);
  assert.equal(next.claims.idp, "prove");
});

test("link_by_verified_email links a verified address to a verified one at once, never otherwise", async () => {
  await addUpstream("auto", { link_by_verified_email: true });
  const name = `dave${randomBytes(3).toString("hex")}`;
  const local = await createUser(ours, `${name}-here`, { email: `${name}@example.com` });
  const verified = await createUser(up, name, { email: `${name}@example.com`, email_verified: true });
  const linked = await signInThrough("auto", verified);
  assert.equal(linked.claims.sub, local.sub);

  const other = `erin${randomBytes(3).toString("hex")}`;
  await createUser(ours, `${other}-here`, { email: `${other}@example.com` });
  const unverified = await createUser(up, other, { email: `${other}@example.com`, email_verified: false });
  const jars = person();
  const { url } = await rpStart(await rpConfig());
  const html = await (await get(ours, jars.ours, url)).text();
  const callback = await atUpstream(await post(ours, jars.ours, html, "federation", { idp: "auto" }), jars, unverified);
  const page = await get(ours, jars.ours, callback);
  assert.equal(page.status, 400);
  assert.match(await page.text(), /already uses the e-mail address/);

  // Nor when the account's own address is unverified: whoever signed up
  // with someone's address first must not receive their later sign-ins.
  const third = `fay${randomBytes(3).toString("hex")}`;
  await createUser(ours, `${third}-here`, { email: `${third}@example.com`, email_verified: false });
  const owner = await createUser(up, third, { email: `${third}@example.com`, email_verified: true });
  const jars3 = person();
  const { url: url3 } = await rpStart(await rpConfig());
  const html3 = await (await get(ours, jars3.ours, url3)).text();
  const back3 = await get(ours, jars3.ours, await atUpstream(await post(ours, jars3.ours, html3, "federation", { idp: "auto" }), jars3, owner));
  assert.equal(back3.status, 400);
  assert.match(await back3.text(), /already uses the e-mail address/);
});

test("an unreachable provider gives the login page again, never a 5xx", async () => {
  const res = await admin(ours, "POST", "/admin/idps", {
    id: "down", name: "Down", kind: "oidc", issuer: "http://127.0.0.1:9", client_id: "c", client_secret: "s",
  });
  assert.equal(res.status, 201);
  const jars = person();
  const { url } = await rpStart(await rpConfig());
  const html = await (await get(ours, jars.ours, url)).text();
  const page = await post(ours, jars.ours, html, "federation", { idp: "down" });
  assert.equal(page.status, 400);
  const text = await page.text();
  assert.match(text, /could not be reached/);
  assert.match(text, /name="password"/, "the person can sign in another way");
  assert.equal((await admin(ours, "DELETE", "/admin/idps/down")).status, 204);
});

/** Our account page's form that links or unlinks provider `idp`, posted. */
async function postLinkForm(jars, idp) {
  const page = await get(ours, jars.ours, "/account");
  assert.equal(page.status, 200);
  const html = await page.text();
  const chosen = html.split("<form").slice(1).find((f) => f.includes(`name="idp" value="${idp}"`));
  assert.ok(chosen, `no link form for ${idp}`);
  const body = { step: "links", idp, action: field(chosen, "action"), handle: field(chosen, "handle"), csrf: field(chosen, "csrf") };
  return jars.ours.take(await ours.fetch("/account/links", form(body, { cookie: jars.ours.header() })));
}

test("the account page links and unlinks a provider, never the last way in", async () => {
  await addUpstream("acct");
  const local = await createUser(ours, `frank${randomBytes(3).toString("hex")}`);
  const remote = await createUser(up, `frank${randomBytes(3).toString("hex")}`);
  const jars = person();
  const login = await (await get(ours, jars.ours, "/account/login")).text();
  assert.match(login, /Continue with Upstream acct/, "the account's sign-in page has the buttons too");
  assert.equal((await post(ours, jars.ours, login, "login", { username: local.username, password: local.password })).status, 303);
  const callback = await atUpstream(await postLinkForm(jars, "acct"), jars, remote);
  const linked = await get(ours, jars.ours, callback);
  assert.equal(linked.status, 303);
  assert.equal(linked.headers.get("location"), "/account?done=linked");
  assert.match(await (await get(ours, jars.ours, "/account?done=linked")).text(), /has been linked[\s\S]*Unlink Upstream acct/);
  // The upstream account now signs in to this one.
  const through = await signInThrough("acct", remote, { ours: new Jar(), up: jars.up });
  assert.equal(through.claims.sub, local.sub);
  // Unlinked, it no longer does. (The account has the upstream's e-mail
  // address now, copied at sign-in: a sign-in through it asks to prove it.)
  const unlinked = await postLinkForm(jars, "acct");
  assert.equal(unlinked.headers.get("location"), "/account?done=unlinked");
  const retry = person();
  retry.up = jars.up;
  const { url: again } = await rpStart(await rpConfig());
  const start = await (await get(ours, retry.ours, again)).text();
  const back = await get(ours, retry.ours, await atUpstream(await post(ours, retry.ours, start, "federation", { idp: "acct" }), retry, remote));
  assert.equal(back.status, 400);
  assert.match(await back.text(), /already uses the e-mail address/);

  // An account made by a first sign-in has no password and no passkey: its only link stays.
  const newcomer = await createUser(up, `hank${randomBytes(3).toString("hex")}`);
  const only = person();
  const { url } = await rpStart(await rpConfig());
  const page = await (await get(ours, only.ours, url)).text();
  await toRp(await get(ours, only.ours, await atUpstream(await post(ours, only.ours, page, "federation", { idp: "acct" }), only, newcomer)), only);
  const refused = await postLinkForm(only, "acct");
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /only way you can sign in/);
});

test("deleting an account releases its links: the upstream identity then makes a new one", async () => {
  await addUpstream("del");
  const remote = await createUser(up, `gina${randomBytes(3).toString("hex")}`);
  const first = await signInThrough("del", remote);
  // The account a first sign-in makes is named after the provider and the upstream's subject.
  const username = `del.${remote.sub}`;
  const view = await (await admin(ours, "GET", `/admin/users/${username}`)).json();
  assert.equal(view.sub, first.claims.sub);
  assert.equal(view.has_password, false);
  assert.deepEqual(view.links.map((l) => l.idp), ["del"]);
  assert.equal((await admin(ours, "DELETE", `/admin/users/${username}`)).status, 204);
  const again = await signInThrough("del", remote);
  assert.notEqual(again.claims.sub, first.claims.sub, "never the deleted account");
});

test("a form_post answer is sent on as a GET of the callback, where the browser's cookies come along", async () => {
  await addUpstream("posted");
  const remote = await createUser(up, `ivy${randomBytes(3).toString("hex")}`);
  const { callback, jars } = await callbackFor("posted", remote);
  // As the upstream's auto-submitting page would post it (cross-site: no cookies).
  const posted = await ours.fetch(callback.pathname, form(Object.fromEntries(callback.searchParams)));
  assert.equal(posted.status, 303);
  const onward = new URL(posted.headers.get("location"), ours.url);
  assert.equal(onward.pathname, callback.pathname);
  assert.deepEqual(Object.fromEntries(onward.searchParams), Object.fromEntries(callback.searchParams));
  assert.equal(posted.headers.get("set-cookie"), null, "nothing was used or set by the post");
  const signedIn = await get(ours, jars.ours, onward);
  assert.ok([200, 302, 303].includes(signedIn.status));
  assert.ok(jars.ours.cookies.has("oidc_session"));
});

test("upstream tokens are kept only when the provider says so, sealed, for the admin", async () => {
  await addUpstream("kept", { keep_tokens: true });
  await addUpstream("notkept");
  const remote = await createUser(up, `jo${randomBytes(3).toString("hex")}`);
  await signInThrough("kept", remote);
  const path = `/admin/users/kept.${remote.sub}/idp-tokens/kept`;
  assert.equal((await ours.fetch(path)).status, 401, "admin only");
  const res = await admin(ours, "GET", path);
  assert.equal(res.status, 200);
  const kept = await res.json();
  assert.equal(kept.token_type.toLowerCase(), "bearer");
  assert.ok(kept.id_token && kept.obtained_at && kept.expires_at > kept.obtained_at);
  // It is the upstream's own access token: it works there.
  const info = await up.fetch("/userinfo", { headers: { authorization: `Bearer ${kept.access_token}` } });
  assert.equal(info.status, 200);
  assert.equal((await info.json()).sub, remote.sub);
  // Stored sealed: the KV value holds no token.
  const kv = await ours.mf.getKVNamespace("OIDC_KV");
  const { keys } = await kv.list({ prefix: "idp_tokens:" });
  assert.ok(keys.length > 0);
  for (const { name } of keys) assert.ok(!(await kv.get(name)).includes(kept.access_token));

  const other = await createUser(up, `kim${randomBytes(3).toString("hex")}`);
  await signInThrough("notkept", other);
  assert.equal((await admin(ours, "GET", `/admin/users/notkept.${other.sub}/idp-tokens/notkept`)).status, 404);
});
