// Token revocation (RFC 7009) and introspection (RFC 7662) of every kind of
// token: code-grant access and refresh tokens, client_credentials access
// tokens, ID tokens, garbage and expired tokens.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { registerClient, decodeJwt, form, obtainCode, token, authorize, authParams, field, REDIRECT_URI } from "./flow.mjs";
import { signIn, refresh, assertError, userinfoStatus, introspect, revoke, clientPost, eventually } from "./lifecycle.mjs";

let worker;
before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

const INACTIVE = { active: false };

async function inspect(client, token, extra) {
  const res = await introspect(worker, client, token, extra);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get("content-type"), /^application\/json/);
  return JSON.parse(text);
}

async function revoked(client, token, extra) {
  const res = await revoke(worker, client, token, extra);
  const text = await res.text();
  assert.equal(res.status, 200, text);
}

test("introspecting an active access token: RFC 7662 §2.2 members", async () => {
  const { client, user, tokens } = await signIn(worker);
  const at = decodeJwt(tokens.access_token).payload;
  const info = await inspect(client, tokens.access_token);
  assert.deepEqual(info, {
    active: true,
    scope: "openid email profile offline_access",
    client_id: client.client_id,
    sub: user.sub,
    exp: at.exp,
    iat: at.iat,
    iss: worker.url,
    aud: at.aud,
    jti: at.jti,
    token_type: "Bearer",
  });
});

test("introspecting an active refresh token: token_type refresh_token", async () => {
  const { client, user, tokens } = await signIn(worker);
  const info = await inspect(client, tokens.refresh_token);
  assert.equal(info.active, true);
  assert.equal(info.token_type, "refresh_token");
  assert.equal(info.client_id, client.client_id);
  assert.equal(info.sub, user.sub);
  assert.equal(info.scope, "openid email profile offline_access");
  assert.equal(info.iss, worker.url);
  assert.ok(info.exp > Date.now() / 1000);
  // token_type_hint is only a hint: a wrong one changes nothing.
  assert.equal((await inspect(client, tokens.refresh_token, { token_type_hint: "access_token" })).active, true);
  assert.equal((await inspect(client, tokens.access_token, { token_type_hint: "refresh_token" })).active, true);
  // Introspection does not rotate (or spend) the refresh token.
  assert.equal((await refresh(worker, client, tokens.refresh_token)).status, 200);
});

test("a superseded refresh token introspects inactive, and introspecting it revokes nothing", async () => {
  const { client, tokens } = await signIn(worker);
  const next = await (await refresh(worker, client, tokens.refresh_token)).json();
  assert.deepEqual(await inspect(client, tokens.refresh_token), INACTIVE);
  assert.equal((await inspect(client, next.refresh_token)).active, true);
  assert.equal((await refresh(worker, client, next.refresh_token)).status, 200);
});

test("garbage, ID tokens and unknown tokens introspect as exactly {active: false}", async () => {
  const { client, tokens } = await signIn(worker);
  const [gid] = tokens.refresh_token.split(".");
  const header = tokens.access_token.split(".")[0];
  for (const t of [
    "garbage", "a.b.c", `${gid}.nope`, `${"f".repeat(64)}.nope`, "x".repeat(3000),
    tokens.id_token, // a JWT from us, but not an access token
    `${header}.${Buffer.from(JSON.stringify({ sub: "x" })).toString("base64url")}.sig`, // forged
    tokens.access_token.slice(0, -4) + "AAAA", // bad signature
  ]) {
    assert.deepEqual(await inspect(client, t), INACTIVE, t.slice(0, 40));
  }
  await assertError(await clientPost(worker, "/introspect", client, {}), 400, "invalid_request");
});

test("a client introspects only its own tokens, unless the admin registered it as a resource server (RFC 7662 §2.2)", async () => {
  const { client, tokens } = await signIn(worker);
  const other = await registerClient(worker);
  const rs = await registerClient(worker, { resource_server: true });
  for (const t of [tokens.access_token, tokens.refresh_token]) {
    assert.deepEqual(await inspect(other, t), INACTIVE);
    const seen = await inspect(rs, t);
    assert.equal(seen.active, true);
    assert.equal(seen.client_id, client.client_id);
    assert.equal((await inspect(client, t)).active, true);
  }
  // The flag is the admin's to give: a client cannot set it on itself.
  const self = await worker.fetch(`/register/${other.client_id}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${other.registration_access_token}` },
    body: JSON.stringify({ ...other, resource_server: true }),
  });
  await assertError(self, 400, "invalid_client_metadata");
  assert.deepEqual(await inspect(other, tokens.access_token), INACTIVE);
});

test("introspection needs an authenticated confidential client", async () => {
  const { client, tokens } = await signIn(worker);
  const none = await worker.fetch("/introspect", form({ token: tokens.access_token }));
  assert.equal(none.status, 401);
  assert.equal((await none.json()).error, "invalid_client");
  const wrong = await introspect(worker, { ...client, client_secret: "wrong" }, tokens.access_token);
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get("www-authenticate") ?? "", /^Basic/);
  assert.equal((await wrong.json()).error, "invalid_client");
  // A public client proves nothing about itself: 401 even with a valid client_id.
  const pub = await registerClient(worker, { token_endpoint_auth_method: "none" });
  await assertError(await introspect(worker, pub, tokens.access_token), 401, "invalid_client");
});

test("revoking the access token revokes the grant: refresh fails, userinfo and introspection reject", async () => {
  const { client, tokens } = await signIn(worker);
  assert.equal(await userinfoStatus(worker, tokens.access_token), 200);
  await revoked(client, tokens.access_token, { token_type_hint: "access_token" });
  assert.equal(await userinfoStatus(worker, tokens.access_token), 401);
  assert.deepEqual(await inspect(client, tokens.access_token), INACTIVE);
  assert.deepEqual(await inspect(client, tokens.refresh_token), INACTIVE);
  await assertError(await refresh(worker, client, tokens.refresh_token), 400, "invalid_grant");
  // Revoking again is still 200 (§2.2: invalid tokens are not an error).
  await revoked(client, tokens.access_token);
});

test("revoking the refresh token: its access token goes inactive and /userinfo rejects it", async () => {
  const { client, tokens } = await signIn(worker);
  const next = await (await refresh(worker, client, tokens.refresh_token)).json();
  // A wrong hint is ignored.
  await revoked(client, next.refresh_token, { token_type_hint: "access_token" });
  await assertError(await refresh(worker, client, next.refresh_token), 400, "invalid_grant");
  for (const at of [tokens.access_token, next.access_token]) {
    assert.equal(await userinfoStatus(worker, at), 401);
    assert.deepEqual(await inspect(client, at), INACTIVE);
  }
  assert.deepEqual(await inspect(client, next.refresh_token), INACTIVE);
  await revoked(client, next.refresh_token);
});

test("revoking a superseded refresh token also revokes the grant", async () => {
  const { client, tokens } = await signIn(worker);
  const next = await (await refresh(worker, client, tokens.refresh_token)).json();
  await revoked(client, tokens.refresh_token);
  await assertError(await refresh(worker, client, next.refresh_token), 400, "invalid_grant");
  assert.equal(await userinfoStatus(worker, next.access_token), 401);
});

test("a public client can revoke its own refresh token with its client_id", async () => {
  const { client, tokens } = await signIn(worker, { metadata: { token_endpoint_auth_method: "none" } });
  await revoked(client, tokens.refresh_token);
  await assertError(await refresh(worker, client, tokens.refresh_token), 400, "invalid_grant");
});

test("unknown, garbage, ID and expired tokens revoke with 200", async () => {
  const { client, tokens } = await signIn(worker);
  const [gid] = tokens.refresh_token.split(".");
  for (const t of ["garbage", "a.b.c", `${gid}.nope`, `${"0".repeat(64)}.x`, "x".repeat(3000), tokens.id_token]) {
    await revoked(client, t);
  }
  // None of those touched the real grant (not even the ID token of it).
  assert.equal(await userinfoStatus(worker, tokens.access_token), 200);
  assert.equal((await refresh(worker, client, tokens.refresh_token)).status, 200);
  await assertError(await clientPost(worker, "/revoke", client, {}), 400, "invalid_request");
});

test("revocation needs client authentication", async () => {
  const { client, tokens } = await signIn(worker);
  const none = await worker.fetch("/revoke", form({ token: tokens.refresh_token }));
  assert.equal(none.status, 401);
  assert.equal((await none.json()).error, "invalid_client");
  const wrong = await revoke(worker, { ...client, client_secret: "wrong" }, tokens.refresh_token);
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get("www-authenticate") ?? "", /^Basic/);
  // Nothing was revoked.
  assert.equal((await refresh(worker, client, tokens.refresh_token)).status, 200);
});

test("another client's token: 400 on revoke, and it stays valid", async () => {
  const { client, tokens } = await signIn(worker);
  const other = await registerClient(worker);
  for (const t of [tokens.refresh_token, tokens.access_token]) {
    await assertError(await revoke(worker, other, t), 400, "invalid_request");
  }
  assert.equal(await userinfoStatus(worker, tokens.access_token), 200);
  assert.equal((await inspect(client, tokens.refresh_token)).active, true);
  assert.equal((await refresh(worker, client, tokens.refresh_token)).status, 200);
});

test("client_credentials access tokens: introspection, another client's revoke, revocation", async () => {
  const svc = await registerClient(worker, { grant_types: ["client_credentials"], scope: "api:read", redirect_uris: [] });
  const res = await clientPost(worker, "/token", svc, { grant_type: "client_credentials" });
  const { access_token } = await res.json();
  const info = await inspect(svc, access_token);
  assert.equal(info.active, true);
  assert.equal(info.sub, svc.client_id);
  assert.equal(info.client_id, svc.client_id);
  assert.equal(info.scope, "api:read");
  assert.equal(info.token_type, "Bearer");
  // Another client sees it inactive; a resource server sees it (it is a resource server's question).
  const { client: rp } = await signIn(worker);
  const rs = await registerClient(worker, { resource_server: true });
  assert.deepEqual(await inspect(rp, access_token), INACTIVE);
  assert.equal((await inspect(rs, access_token)).active, true);
  await assertError(await revoke(worker, rp, access_token), 400, "invalid_request");
  assert.equal((await inspect(svc, access_token)).active, true);
  // RFC 7009 §2.1: once revoked, "the token cannot be used again".
  await revoked(svc, access_token, { token_type_hint: "access_token" });
  assert.deepEqual(await inspect(svc, access_token), INACTIVE);
  assert.deepEqual(await inspect(rs, access_token), INACTIVE);
  assert.equal(await userinfoStatus(worker, access_token), 401, "revoked: invalid_token, no longer insufficient_scope");
  await revoked(svc, access_token);
  // Other client_credentials tokens of the same client are unaffected.
  const fresh = await (await clientPost(worker, "/token", svc, { grant_type: "client_credentials" })).json();
  assert.equal((await inspect(svc, fresh.access_token)).active, true);
});

test("expired access tokens introspect inactive, are rejected by /userinfo and revoke with 200", async () => {
  const w = await startWorker({ vars: { ACCESS_TOKEN_TTL: "1" } });
  try {
    const { client, tokens } = await signIn(w);
    const svc = await registerClient(w, { grant_types: ["client_credentials"], scope: "api:read", redirect_uris: [] });
    const cc = await (await clientPost(w, "/token", svc, { grant_type: "client_credentials" })).json();
    const inactive = async (c, t) => {
      const res = await introspect(w, c, t);
      return JSON.stringify(await res.json()) === JSON.stringify(INACTIVE);
    };
    assert.ok(await eventually(() => inactive(client, tokens.access_token)), "code-grant access token never expired");
    assert.ok(await eventually(() => inactive(svc, cc.access_token)), "client_credentials access token never expired");
    const ui = await w.fetch("/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(ui.status, 401);
    assert.match(ui.headers.get("www-authenticate") ?? "", /invalid_token/);
    assert.equal((await revoke(w, client, tokens.access_token)).status, 200);
    // The refresh token outlives its access tokens and still works.
    assert.equal((await introspect(w, client, tokens.refresh_token).then((r) => r.json())).active, true);
    const next = await refresh(w, client, tokens.refresh_token);
    assert.equal(next.status, 200);
    assert.equal(await userinfoStatus(w, (await next.json()).access_token), 200);
  } finally {
    await w.stop();
  }
});

test("deleting a client ends its tokens (RFC 7592 §2.3): userinfo, introspection, refresh", async () => {
  const resourceServer = await registerClient(worker, { resource_server: true });
  const { client, tokens } = await signIn(worker, {
    metadata: { grant_types: ["authorization_code", "refresh_token", "client_credentials"] },
  });
  const ccRes = await clientPost(worker, "/token", client, { grant_type: "client_credentials" });
  assert.equal(ccRes.status, 200, await ccRes.clone().text());
  const ccToken = (await ccRes.json()).access_token;
  const all = [tokens.access_token, tokens.refresh_token, ccToken];
  assert.equal(await userinfoStatus(worker, tokens.access_token), 200);
  for (const t of all) assert.equal((await inspect(resourceServer, t)).active, true);

  const del = await worker.fetch(`/register/${client.client_id}`, {
    method: "DELETE", headers: { authorization: `Bearer ${client.registration_access_token}` },
  });
  assert.equal(del.status, 204);

  assert.equal(await userinfoStatus(worker, tokens.access_token), 401);
  for (const t of all) assert.deepEqual(await inspect(resourceServer, t), INACTIVE);
  await assertError(await refresh(worker, client, tokens.refresh_token), 401, "invalid_client");
});

test("deleting a user ends what was issued to them: userinfo, introspection, refresh, a pending code", async () => {
  const resourceServer = await registerClient(worker, { resource_server: true });
  const { client, user, tokens, jar } = await signIn(worker);
  const pending = await obtainCode(worker, client, user, { jar });
  assert.equal(await userinfoStatus(worker, tokens.access_token), 200);
  for (const t of [tokens.access_token, tokens.refresh_token]) assert.equal((await inspect(resourceServer, t)).active, true);

  const del = await worker.fetch(`/admin/users/${user.username}`, {
    method: "DELETE", headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(del.status, 204);

  assert.equal(await userinfoStatus(worker, tokens.access_token), 401);
  for (const t of [tokens.access_token, tokens.refresh_token]) assert.deepEqual(await inspect(resourceServer, t), INACTIVE);
  await assertError(await refresh(worker, client, tokens.refresh_token), 400, "invalid_grant");
  await assertError(await token(worker, client, {
    grant_type: "authorization_code", code: pending.code, redirect_uri: REDIRECT_URI, code_verifier: pending.verifier,
  }), 400, "invalid_grant");
  // Their live session signs no one in: the login form again.
  const again = await authorize(worker, jar, authParams(client).params);
  assert.equal(again.status, 200);
  assert.equal(field(await again.text(), "step"), "login");
});
