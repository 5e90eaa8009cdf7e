// Faults: with a Durable Object namespace or the KV namespace unreachable
// (injected through src/entry.mjs's test-only FAULTS binding), every
// endpoint answers 503 `temporarily_unavailable` with `Retry-After`, as
// RFC 6749 JSON or, for a person's page, as a page saying so; never a 500
// and never internals. Once the binding is back nothing was lost and
// nothing works twice: a code redeems exactly once, a refresh token still
// rotates, a superseded one still revokes the grant.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ADMIN_TOKEN, Faults, startWorker } from "./helpers.mjs";
import { authParams, authorize, createUser, exchange, field, Jar, obtainCode, registerClient, REDIRECT_URI, submit, token } from "./flow.mjs";
import { assertError, introspect, refresh, revoke, signIn, userinfoStatus } from "./lifecycle.mjs";

const faults = new Faults();
let dir;
let worker;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "edge-oidc-faults-"));
  worker = await startWorker({ persistDir: dir, faults });
});
after(async () => {
  await worker?.stop();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => faults.up());

/**
 * A new runtime on the same storage: every isolate cache (clients,
 * revocations, keys) is cold. `samePort` keeps the origin, and with it the
 * issuer of tokens issued before.
 */
async function restart({ samePort = false } = {}) {
  const port = Number(new URL(worker.url).port);
  await worker.stop();
  worker = await startWorker({ persistDir: dir, faults, miniflare: samePort ? { port } : {} });
}

/** `send()`'s response and the binding calls the worker made for it. */
async function traced(send) {
  const from = faults.calls.length;
  const res = await send();
  return { res, calls: faults.calls.slice(from) };
}

/** The grant operation of a call to GRANTS (`redeem_code`, `rotate_refresh`, ...). */
const grantOp = (c) => c.binding === "GRANTS" && c.op === "run" && JSON.parse(c.call).op.op;

// What the injected failure says, and what the platform's errors look like:
// none of it may reach a client.
const INTERNALS = /network connection|OIDC_KV|GRANTS|KEYRING|THROTTLES|durable object|kv:|key ring|store error|panicked|RuntimeError/;

async function assertUnavailable(res) {
  const text = await res.text();
  assert.equal(res.status, 503, text);
  assert.equal(res.headers.get("retry-after"), "5");
  assert.match(res.headers.get("content-type"), /^application\/json/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  // RFC 6750 §3: a challenge answers a request without a usable token,
  // which a 503 does not say.
  assert.equal(res.headers.get("www-authenticate"), null);
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body).sort(), ["error", "error_description"]);
  assert.equal(body.error, "temporarily_unavailable");
  assert.doesNotMatch(text, INTERNALS);
}

async function assertUnavailablePage(res) {
  const html = await res.text();
  assert.equal(res.status, 503, html);
  assert.equal(res.headers.get("retry-after"), "5");
  assert.match(res.headers.get("content-type"), /^text\/html/);
  assert.match(html, /<h1>Briefly unavailable<\/h1>/);
  assert.doesNotMatch(html, INTERNALS);
  assert.doesNotMatch(html, /temporarily_unavailable/);
}

const ok = async (res) => {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
};

const codeRequest = ({ code, verifier }) =>
  ({ grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier });

/** The code redeems now, and exactly once: a second redemption is a replay, which revokes what the first got. */
async function redeemsOnce(client, got) {
  const tokens = await exchange(worker, client, got);
  assert.equal(await userinfoStatus(worker, tokens.access_token), 200);
  await assertError(await token(worker, client, codeRequest(got)), 400, "invalid_grant");
  assert.equal(await userinfoStatus(worker, tokens.access_token), 401, "the replay revoked the grant");
}

/** `rt` rotates now, exactly once: presented again afterwards it revokes the grant. */
async function rotatesOnce(client, rt) {
  const next = await ok(await refresh(worker, client, rt));
  assert.equal(await userinfoStatus(worker, next.access_token), 200);
  await assertError(await refresh(worker, client, rt), 400, "invalid_grant");
  assert.equal(await userinfoStatus(worker, next.access_token), 401, "the reuse revoked the grant");
  await assertError(await refresh(worker, client, next.refresh_token), 400, "invalid_grant");
}

test("code exchange with the grant's object down: 503; back, the code redeems exactly once", async () => {
  const client = await registerClient(worker);
  const got = await obtainCode(worker, client, await createUser(worker));
  faults.down("GRANTS");
  await assertUnavailable(await token(worker, client, codeRequest(got)));
  faults.up();
  await redeemsOnce(client, got);
});

test("code exchange with KV down before the grant is reached (client not cached): 503; back, it redeems once", async () => {
  const client = await registerClient(worker);
  const got = await obtainCode(worker, client, await createUser(worker));
  await restart();
  faults.down("OIDC_KV");
  const { res, calls } = await traced(() => token(worker, client, codeRequest(got)));
  await assertUnavailable(res);
  assert.ok(calls.some((c) => c.key === `client:${client.client_id}`), "the client was looked up");
  assert.ok(!calls.some(grantOp), "the grant was not reached");
  faults.up();
  await redeemsOnce(client, got);
});

// The grant's object consumes the code (or rotates the refresh token) and
// a later step fails: the client got no tokens, so its retry must work,
// once, and not count as a replay.
// (The key ring's other answer, the storage key that opens sealed codes,
// is read before the grant's object is reached: it stays up here.)
const LATER_STEPS = [
  ["the user's revocations (KV)", "OIDC_KV", (c) => c.key.startsWith("deleted_user:")],
  ["the signing keys (key ring)", "KEYRING", (c) => new URL(c.call).pathname === "/keys"],
];

for (const [step, binding, when] of LATER_STEPS) {
  test(`code exchange failing after the grant's object was reached, at ${step}: the retry redeems it, once`, async () => {
    const client = await registerClient(worker);
    const got = await obtainCode(worker, client, await createUser(worker));
    await restart();
    faults.down(binding, when);
    const { res, calls } = await traced(() => token(worker, client, codeRequest(got)));
    await assertUnavailable(res);
    const ops = calls.map(grantOp).filter(Boolean);
    assert.deepEqual(ops, ["redeem_code", "undo_redemption"], "consumed, then given back");
    assert.ok(calls.some((c) => c.binding === binding && when(c)), `${step} were asked for`);
    faults.up();
    await redeemsOnce(client, got);
  });

  test(`refresh failing after the grant's object was reached, at ${step}: the retry rotates it, once`, async () => {
    const { client, tokens } = await signIn(worker);
    await restart();
    faults.down(binding, when);
    const { res, calls } = await traced(() => refresh(worker, client, tokens.refresh_token));
    await assertUnavailable(res);
    const ops = calls.map(grantOp).filter(Boolean);
    assert.deepEqual(ops, ["rotate_refresh", "undo_rotation"], "rotated, then given back");
    assert.ok(calls.some((c) => c.binding === binding && when(c)), `${step} were asked for`);
    faults.up();
    await rotatesOnce(client, tokens.refresh_token);
  });
}

test("refresh with the grant's object down: 503; back, the token rotates once and the superseded one revokes", async () => {
  const { client, tokens } = await signIn(worker);
  faults.down("GRANTS");
  await assertUnavailable(await refresh(worker, client, tokens.refresh_token));
  faults.up();
  await rotatesOnce(client, tokens.refresh_token);
});

test("/userinfo with the grant's object down: 503 without a challenge; back, the claims", async () => {
  const { tokens } = await signIn(worker);
  faults.down("GRANTS");
  for (const init of [{ headers: { authorization: `Bearer ${tokens.access_token}` } }, {}]) {
    const url = init.headers ? "/userinfo" : `/userinfo?access_token=${tokens.access_token}`;
    await assertUnavailable(await worker.fetch(url, init));
  }
  faults.up();
  assert.equal(await userinfoStatus(worker, tokens.access_token), 200);
});

test("/introspect with the grant's object down: 503 for either token; back, both active", async () => {
  const { client, tokens } = await signIn(worker);
  faults.down("GRANTS");
  for (const t of [tokens.access_token, tokens.refresh_token]) {
    await assertUnavailable(await introspect(worker, client, t));
  }
  faults.up();
  for (const t of [tokens.access_token, tokens.refresh_token]) {
    assert.equal((await ok(await introspect(worker, client, t))).active, true);
  }
});

test("/revoke with the grant's object down: 503 and nothing revoked; back, the revocation takes", async () => {
  const { client, tokens } = await signIn(worker);
  faults.down("GRANTS");
  await assertUnavailable(await revoke(worker, client, tokens.refresh_token));
  await assertUnavailable(await revoke(worker, client, tokens.access_token));
  faults.up();
  assert.equal(await userinfoStatus(worker, tokens.access_token), 200, "nothing was revoked");
  const res = await revoke(worker, client, tokens.refresh_token);
  assert.equal(res.status, 200, await res.text());
  await assertError(await refresh(worker, client, tokens.refresh_token), 400, "invalid_grant");
  assert.equal(await userinfoStatus(worker, tokens.access_token), 401);
});

test("/authorize with the session store down: the person sees the 503 page; back, the same request gets its code", async () => {
  const { client, jar } = await signIn(worker);
  const { params } = authParams(client);
  faults.down("OIDC_KV");
  await assertUnavailablePage(await authorize(worker, jar, params));
  faults.up();
  const res = await authorize(worker, jar, params);
  assert.equal(res.status, 302, await res.text());
  const location = new URL(res.headers.get("location"));
  assert.equal(location.origin + location.pathname, REDIRECT_URI);
  assert.ok(location.searchParams.get("code"));
  assert.equal(location.searchParams.get("state"), params.state);
});

test("/authorize with storage down after the request is valid: back to the client with temporarily_unavailable, state and iss", async () => {
  const { client, jar } = await signIn(worker);
  const { params } = authParams(client);
  faults.down("OIDC_KV", (c) => c.key.startsWith("consent:"));
  const res = await authorize(worker, jar, params);
  assert.equal(res.status, 302, await res.text());
  const location = new URL(res.headers.get("location"));
  assert.equal(location.origin + location.pathname, REDIRECT_URI);
  assert.equal(location.searchParams.get("error"), "temporarily_unavailable");
  assert.equal(location.searchParams.get("state"), params.state);
  assert.equal(location.searchParams.get("iss"), worker.url);
  assert.equal(location.searchParams.get("code"), null);
  assert.doesNotMatch(location.search, INTERNALS);
  faults.up();
  const again = new URL((await authorize(worker, jar, params)).headers.get("location"));
  assert.ok(again.searchParams.get("code"), "the same request gets its code once storage is back");
});

test("logout with an id_token_hint and the key ring down: the 503 page, not \"not a valid ID token\"", async () => {
  const { tokens } = await signIn(worker);
  await restart({ samePort: true });
  faults.down("KEYRING");
  await assertUnavailablePage(await worker.fetch(`/logout?id_token_hint=${tokens.id_token}`));
  faults.up();
  const res = await worker.fetch(`/logout?id_token_hint=${tokens.id_token}`);
  assert.equal(res.status, 200, "with the keys back, the hint is valid");
});

test("sign-in with the throttles down: the 503 page, and the same form signs in once they are back", async () => {
  const client = await registerClient(worker);
  const user = await createUser(worker);
  const jar = new Jar();
  const login = await (await authorize(worker, jar, authParams(client).params)).text();
  assert.equal(field(login, "step"), "login");
  faults.down("THROTTLES");
  await assertUnavailablePage(await submit(worker, jar, login, { username: user.username, password: user.password }));
  faults.up();
  const consent = await submit(worker, jar, login, { username: user.username, password: user.password });
  const html = await consent.text();
  assert.equal(consent.status, 200, html);
  assert.equal(field(html, "step"), "consent", "the form was not used up by the failed attempt");
});

test("a person's other pages with KV down: the account page and logout answer the 503 page", async () => {
  const { jar } = await signIn(worker);
  faults.down("OIDC_KV");
  for (const p of ["/account", "/logout"]) {
    await assertUnavailablePage(await worker.fetch(p, { headers: { cookie: jar.header() } }));
  }
});

test("JWKS with the key ring down before any key was read: 503; discovery needs no key; back, the keys", async () => {
  await restart();
  faults.down("KEYRING");
  const down = await worker.fetch("/jwks.json", { headers: { origin: "https://rp.example" } });
  // A page reading the keys learns of the 503, not of a CORS failure.
  assert.equal(down.headers.get("access-control-allow-origin"), "*");
  assert.match(down.headers.get("access-control-expose-headers"), /Retry-After/);
  await assertUnavailable(down);
  const discovery = await worker.fetch("/.well-known/openid-configuration");
  assert.equal(discovery.status, 200, await discovery.text());
  faults.up();
  const jwks = await ok(await worker.fetch("/jwks.json"));
  assert.ok(jwks.keys.length >= 3);
});

test("/register and the admin JSON APIs with KV down: 503; back, they work", async () => {
  const admin = { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` };
  const post = (p, body) => worker.fetch(p, { method: "POST", headers: admin, body: JSON.stringify(body) });
  const client = { redirect_uris: [REDIRECT_URI], client_name: "Faulty" };
  const user = { username: "faulty", password: "correct horse battery", claims: { email: "faulty@example.com" } };
  faults.down("OIDC_KV");
  await assertUnavailable(await post("/register", client));
  await assertUnavailable(await post("/admin/users", user));
  await assertUnavailable(await worker.fetch("/admin/users/faulty", { headers: admin }));
  faults.up();
  assert.equal((await post("/register", client)).status, 201);
  assert.equal((await post("/admin/users", user)).status, 201);
});
