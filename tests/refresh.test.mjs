// The refresh token grant (RFC 6749 §6): rotation and reuse detection
// (RFC 9700 §4.14.2), client binding, scope narrowing, the ID token on
// refresh (OIDC Core §12.2), idle and absolute expiry, and persistence
// across a restart of the runtime.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker } from "./helpers.mjs";
import { registerClient, createUser, decodeJwt, basicAuth, obtainCode, form, REDIRECT_URI } from "./flow.mjs";
import { signIn, refresh, assertError, userinfoStatus, introspect, sleep, eventually } from "./lifecycle.mjs";

let worker;
before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

const ok = async (res) => {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
};

test("every refresh rotates the refresh token and returns a working access token", async () => {
  const { client, tokens } = await signIn(worker);
  assert.ok(tokens.refresh_token, "offline_access yields a refresh token");
  const seen = new Set([tokens.refresh_token]);
  let rt = tokens.refresh_token;
  for (let i = 0; i < 3; i++) {
    const res = await refresh(worker, client, rt);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(res.headers.get("pragma"), "no-cache");
    const body = await ok(res);
    assert.equal(body.token_type, "Bearer");
    assert.ok(body.refresh_token);
    assert.equal(body.refresh_token.split(".")[0], rt.split(".")[0], "same grant");
    assert.ok(!seen.has(body.refresh_token), "a new refresh token every time");
    seen.add(body.refresh_token);
    assert.equal(await userinfoStatus(worker, body.access_token), 200);
    rt = body.refresh_token;
  }
  // The first access token is still good: rotation alone revokes nothing.
  assert.equal(await userinfoStatus(worker, tokens.access_token), 200);
});

test("reusing a superseded refresh token fails and revokes the whole grant", async () => {
  const { client, tokens } = await signIn(worker);
  const first = await ok(await refresh(worker, client, tokens.refresh_token));
  const second = await ok(await refresh(worker, client, first.refresh_token));
  // Everything works before the replay.
  for (const at of [tokens.access_token, first.access_token, second.access_token]) {
    assert.equal(await userinfoStatus(worker, at), 200);
  }
  // The old token comes back (an attacker, or a confused client).
  const replay = await refresh(worker, client, tokens.refresh_token);
  const err = await replay.json();
  assert.equal(replay.status, 400);
  assert.equal(err.error, "invalid_grant");
  assert.match(err.error_description, /revoked/);
  // RFC 9700 §4.14.2: the active refresh token is revoked too ...
  await assertError(await refresh(worker, client, second.refresh_token), 400, "invalid_grant");
  // ... and every access token of the grant stops working.
  for (const at of [tokens.access_token, first.access_token, second.access_token]) {
    assert.equal(await userinfoStatus(worker, at), 401);
    assert.deepEqual(await (await introspect(worker, client, at)).json(), { active: false });
  }
  assert.deepEqual(await (await introspect(worker, client, second.refresh_token)).json(), { active: false });
});

test("a mangled or unknown refresh token is invalid_grant and harms nothing", async () => {
  const { client, tokens } = await signIn(worker);
  const [gid, secret] = tokens.refresh_token.split(".");
  for (const bad of ["garbage", `${gid}.wrong-secret`, `${gid}.`, `.${secret}`, `${"0".repeat(64)}.${secret}`, "x".repeat(5000)]) {
    await assertError(await refresh(worker, client, bad), 400, "invalid_grant");
  }
  await assertError(await refresh(worker, client, ""), 400, "invalid_request");
  // A wrong guess is not a reuse: the real token still rotates.
  await ok(await refresh(worker, client, tokens.refresh_token));
});

test("concurrent refreshes with one token: exactly one wins, and the losers' reuse revokes the grant", async () => {
  const { client, tokens } = await signIn(worker);
  const results = await Promise.all(Array.from({ length: 10 }, async () => {
    const res = await refresh(worker, client, tokens.refresh_token);
    return { status: res.status, body: await res.json() };
  }));
  const winners = results.filter((r) => r.status === 200);
  const losers = results.filter((r) => r.status !== 200);
  assert.equal(winners.length, 1, JSON.stringify(results.map((r) => r.status)));
  assert.equal(losers.length, 9);
  for (const l of losers) {
    assert.equal(l.status, 400);
    assert.equal(l.body.error, "invalid_grant");
  }
  // Each loser presented a token that had just been superseded: RFC 9700
  // §4.14.2 ("one of them will present an invalidated refresh token ... it
  // will revoke the active refresh token"). The server cannot tell the
  // legitimate client from a thief, so the winner's tokens die as well.
  assert.ok(losers.some((l) => /already used|revoked/.test(l.body.error_description)));
  const { refresh_token: newest, access_token: newestAt } = winners[0].body;
  await assertError(await refresh(worker, client, newest), 400, "invalid_grant");
  assert.equal(await userinfoStatus(worker, newestAt), 401);
  assert.equal(await userinfoStatus(worker, tokens.access_token), 401);
});

test("a refresh token is bound to its client", async () => {
  const { client, tokens } = await signIn(worker);
  const other = await registerClient(worker);
  const res = await refresh(worker, other, tokens.refresh_token);
  await assertError(res, 400, "invalid_grant");
  // Another client's attempt neither rotated nor revoked the grant.
  assert.equal(await userinfoStatus(worker, tokens.access_token), 200);
  await ok(await refresh(worker, client, tokens.refresh_token));
});

test("a refresh with a wrong client secret is invalid_client and does not rotate", async () => {
  const { client, tokens } = await signIn(worker);
  const wrong = { ...client, client_secret: "not-the-secret" };
  const res = await refresh(worker, wrong, tokens.refresh_token);
  assert.equal(res.status, 401);
  assert.match(res.headers.get("www-authenticate") ?? "", /^Basic/);
  assert.equal((await res.json()).error, "invalid_client");
  await ok(await refresh(worker, client, tokens.refresh_token));
});

test("scope may be narrowed, never widened; a refused refresh does not rotate", async () => {
  const user = await createUser(worker, undefined, { name: "Narrow Nancy" });
  const { client, tokens } = await signIn(worker, { user });
  assert.equal(tokens.scope, "openid email profile offline_access");

  const narrowed = await ok(await refresh(worker, client, tokens.refresh_token, { scope: "openid email" }));
  assert.equal(narrowed.scope, "openid email");
  assert.equal(decodeJwt(narrowed.access_token).payload.scope, "openid email");
  const info = await (await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${narrowed.access_token}` } })).json();
  assert.equal(info.sub, user.sub);
  assert.ok(info.email);
  assert.equal(info.name, undefined, "profile was not in the narrowed scope");

  // Wider than granted: invalid_scope, and the same token still works afterwards.
  await assertError(await refresh(worker, client, narrowed.refresh_token, { scope: "openid phone" }), 400, "invalid_scope");
  await assertError(await refresh(worker, client, narrowed.refresh_token, { scope: "openid email profile offline_access address" }), 400, "invalid_scope");
  // RFC 6749 §6: omitted scope = the scope originally granted, not the last narrowed one.
  const full = await ok(await refresh(worker, client, narrowed.refresh_token));
  assert.equal(full.scope, "openid email profile offline_access");
  // A blank scope narrows nothing (it does not ask for a token without scope).
  const blank = await ok(await refresh(worker, client, full.refresh_token, { scope: " " }));
  assert.equal(blank.scope, "openid email profile offline_access");
  assert.ok(blank.id_token);
  full.refresh_token = blank.refresh_token;
  // Narrowing without openid: no ID token.
  const noOpenid = await ok(await refresh(worker, client, full.refresh_token, { scope: "email offline_access" }));
  assert.equal(noOpenid.id_token, undefined);
  assert.equal(noOpenid.scope, "email offline_access");
});

test("refresh with an application/json body and client_secret_post", async () => {
  const client = await registerClient(worker, { token_endpoint_auth_method: "client_secret_post" });
  const got = await obtainCode(worker, client, await createUser(worker));
  const post = { client_id: client.client_id, client_secret: client.client_secret };
  const tokens = await ok(await worker.fetch("/token", form({
    grant_type: "authorization_code", code: got.code, redirect_uri: REDIRECT_URI, code_verifier: got.verifier, ...post,
  })));
  const res = await worker.fetch("/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...post }),
  });
  const body = await ok(res);
  assert.notEqual(body.refresh_token, tokens.refresh_token);
  // The client is registered for client_secret_post: Basic is refused (per-client method).
  const basic = await worker.fetch("/token", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth(client) },
    body: JSON.stringify({ grant_type: "refresh_token", refresh_token: body.refresh_token }),
  });
  await assertError(basic, 401, "invalid_client");
});

test("a public client (PKCE, no secret) can refresh with its client_id", async () => {
  const { client, tokens } = await signIn(worker, { metadata: { token_endpoint_auth_method: "none" } });
  assert.equal(client.client_secret, undefined);
  assert.ok(tokens.refresh_token);
  const body = await ok(await refresh(worker, client, tokens.refresh_token));
  assert.notEqual(body.refresh_token, tokens.refresh_token);
});

test("the ID token on refresh: same sub, auth_time, aud; new iat; no nonce (OIDC Core §12.2)", async () => {
  const { client, user, tokens, got } = await signIn(worker);
  const original = decodeJwt(tokens.id_token).payload;
  assert.equal(original.nonce, got.params.nonce);
  await sleep(1100); // so that iat moves on
  const body = await ok(await refresh(worker, client, tokens.refresh_token));
  assert.ok(body.id_token, "openid in scope: a new ID token");
  const { header, payload } = decodeJwt(body.id_token);
  assert.equal(header.typ ?? "JWT", "JWT");
  assert.equal(payload.iss, original.iss);
  assert.equal(payload.sub, user.sub);
  assert.equal(payload.sub, original.sub);
  assert.deepEqual(payload.aud, original.aud);
  assert.equal(payload.auth_time, original.auth_time);
  assert.ok(payload.iat > original.iat, `${payload.iat} > ${original.iat}`);
  assert.ok(payload.exp > payload.iat);
  assert.equal(payload.nonce, undefined);
  if (payload.azp !== undefined) assert.equal(payload.azp, client.client_id);
  assert.ok(payload.at_hash, "at_hash binds the new access token");
  // The new access token keeps the grant's identity.
  const at = decodeJwt(body.access_token).payload;
  assert.equal(at.sub, user.sub);
  assert.equal(at.client_id, client.client_id);
  assert.equal(at.auth_time, original.auth_time);
});

test("idle expiry: a refresh token unused for REFRESH_TOKEN_IDLE_TTL expires; each use resets the clock", async () => {
  const w = await startWorker({ vars: { REFRESH_TOKEN_IDLE_TTL: "4" } });
  try {
    const { client, tokens } = await signIn(w);
    let rt = tokens.refresh_token;
    // Four uses 1.3 s apart: more than the idle TTL in total, never idle that long
    // (whole seconds: at most 2 s apart by the server's clock, plus latency).
    for (let i = 0; i < 4; i++) {
      await sleep(1300);
      rt = (await ok(await refresh(w, client, rt))).refresh_token;
    }
    assert.equal((await (await introspect(w, client, rt)).json()).active, true);
    await sleep(5200);
    assert.deepEqual(await (await introspect(w, client, rt)).json(), { active: false });
    const res = await refresh(w, client, rt);
    const err = await res.json();
    assert.equal(res.status, 400);
    assert.equal(err.error, "invalid_grant");
    assert.match(err.error_description, /expired/);
  } finally {
    await w.stop();
  }
});

test("absolute expiry: the chain ends REFRESH_TOKEN_ABSOLUTE_TTL after the grant, however often it is used", async () => {
  const w = await startWorker({ vars: { REFRESH_TOKEN_ABSOLUTE_TTL: "4" } });
  try {
    const { client, tokens } = await signIn(w);
    let rt = tokens.refresh_token;
    await sleep(1100);
    rt = (await ok(await refresh(w, client, rt))).refresh_token;
    // Keep using it (never idle): it still stops working.
    let last;
    const stopped = await eventually(async () => {
      const res = await refresh(w, client, rt);
      last = await res.json();
      if (res.status === 200) { rt = last.refresh_token; return false; }
      return true;
    });
    assert.ok(stopped, "the refresh chain never expired");
    assert.equal(last.error, "invalid_grant");
    assert.match(last.error_description, /expired/);
  } finally {
    await w.stop();
  }
});

test("refresh tokens issued before a restart still work after it", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "edge-oidc-refresh-"));
  // A fixed issuer: without ISSUER it is the request's origin, whose port changes.
  const vars = { ISSUER: "http://edge-oidc.test" };
  try {
    let w = await startWorker({ persistDir: dir, vars });
    let signedIn;
    try {
      signedIn = await signIn(w);
    } finally {
      await w.stop();
    }
    w = await startWorker({ persistDir: dir, vars });
    try {
      const { client, tokens } = signedIn;
      assert.equal(await userinfoStatus(w, tokens.access_token), 200, "access token (and signing keys) survive");
      const body = await ok(await refresh(w, client, tokens.refresh_token));
      assert.equal(await userinfoStatus(w, body.access_token), 200);
      // Reuse detection survives too.
      await assertError(await refresh(w, client, tokens.refresh_token), 400, "invalid_grant");
      await assertError(await refresh(w, client, body.refresh_token), 400, "invalid_grant");
    } finally {
      await w.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
