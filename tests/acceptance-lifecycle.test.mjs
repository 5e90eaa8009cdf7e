// The grant lifecycle through an unmodified real client library,
// openid-client v6 (panva): discovery, the code flow (we play the person at
// the login and consent forms), then the library's own refresh, revocation,
// introspection, client credentials and end-session URL.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as oidc from "openid-client";
import { startWorker } from "./helpers.mjs";
import { registerClient, createUser, field, submit, Jar, REDIRECT_URI } from "./flow.mjs";

const LOGGED_OUT = "http://127.0.0.1:9/logged-out";
let worker, rp, user, config;

before(async () => {
  worker = await startWorker();
  rp = await registerClient(worker, {
    token_endpoint_auth_method: "client_secret_basic",
    post_logout_redirect_uris: [LOGGED_OUT],
  });
  user = await createUser(worker, "lifecycle-alice", { name: "Alice" });
  config = await oidc.discovery(new URL(worker.url), rp.client_id, { redirect_uris: [REDIRECT_URI] },
    oidc.ClientSecretBasic(rp.client_secret), { execute: [oidc.allowInsecureRequests] });
});
after(async () => { await worker?.stop(); });

/** Walks the library's authorization URL through the login and consent forms; returns the callback URL. */
async function frontChannel(url, jar = new Jar()) {
  let res = jar.take(await worker.fetch(url.pathname + url.search, { headers: { cookie: jar.header() } }));
  for (let step = 0; step < 3 && res.status !== 302 && res.status !== 303; step++) {
    const html = await res.text();
    assert.ok(field(html, "step"), `expected a form, got ${res.status}: ${html.slice(0, 200)}`);
    res = await submit(worker, jar, html, field(html, "step") === "login"
      ? { username: user.username, password: user.password }
      : { decision: "allow" });
  }
  return new URL(res.headers.get("location"));
}

/** The code flow with the library: PKCE, state, nonce; returns the token response. */
async function codeFlow(cfg = config, scope = "openid email profile offline_access") {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(cfg, {
    redirect_uri: REDIRECT_URI, scope, state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });
  const callback = await frontChannel(url);
  return oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
}

test("discovery exposes the lifecycle endpoints", () => {
  const m = config.serverMetadata();
  assert.equal(m.issuer, worker.url);
  for (const k of ["revocation_endpoint", "introspection_endpoint", "end_session_endpoint"]) assert.ok(m[k], k);
  assert.ok(m.grant_types_supported.includes("refresh_token"));
  assert.ok(m.grant_types_supported.includes("client_credentials"));
});

test("refreshTokenGrant rotates the refresh token; the new ID token keeps sub and auth_time", async () => {
  const tokens = await codeFlow();
  assert.ok(tokens.refresh_token);
  const claims = tokens.claims();
  assert.equal(claims.sub, user.sub);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.access_token);
  assert.ok(refreshed.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, "rotated");
  assert.notEqual(refreshed.access_token, tokens.access_token);
  const newClaims = refreshed.claims();
  assert.ok(newClaims, "a new ID token");
  assert.equal(newClaims.sub, claims.sub);
  assert.equal(newClaims.auth_time, claims.auth_time);
  assert.equal(newClaims.nonce, undefined);
  const info = await oidc.fetchUserInfo(config, refreshed.access_token, user.sub);
  assert.equal(info.name, "Alice");
  // The old refresh token is spent; using it again is reuse and revokes the grant.
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === "invalid_grant");
  await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token), (e) => e.error === "invalid_grant");
  await assert.rejects(oidc.fetchUserInfo(config, refreshed.access_token, user.sub));
});

test("refreshTokenGrant with a narrower scope", async () => {
  const tokens = await codeFlow();
  const narrowed = await oidc.refreshTokenGrant(config, tokens.refresh_token, { scope: "openid email" });
  assert.equal(narrowed.scope, "openid email");
  await assert.rejects(oidc.refreshTokenGrant(config, narrowed.refresh_token, { scope: "openid phone" }), (e) => e.error === "invalid_scope");
});

test("tokenIntrospection and tokenRevocation of access and refresh tokens", async () => {
  const tokens = await codeFlow();
  const at = await oidc.tokenIntrospection(config, tokens.access_token);
  assert.equal(at.active, true);
  assert.equal(at.sub, user.sub);
  assert.equal(at.client_id, rp.client_id);
  assert.equal(at.token_type, "Bearer");
  const rt = await oidc.tokenIntrospection(config, tokens.refresh_token, { token_type_hint: "refresh_token" });
  assert.equal(rt.active, true);
  assert.equal(rt.token_type, "refresh_token");

  await oidc.tokenRevocation(config, tokens.refresh_token, { token_type_hint: "refresh_token" });
  assert.deepEqual(await oidc.tokenIntrospection(config, tokens.refresh_token), { active: false });
  assert.deepEqual(await oidc.tokenIntrospection(config, tokens.access_token), { active: false });
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === "invalid_grant");
  // Revoking again, or a token we never issued, is fine (RFC 7009 §2.2).
  await oidc.tokenRevocation(config, tokens.refresh_token);
  await oidc.tokenRevocation(config, "never-issued");

  const second = await codeFlow();
  await oidc.tokenRevocation(config, second.access_token, { token_type_hint: "access_token" });
  assert.equal((await oidc.tokenIntrospection(config, second.access_token)).active, false);
  await assert.rejects(oidc.refreshTokenGrant(config, second.refresh_token), (e) => e.error === "invalid_grant");
});

test("clientCredentialsGrant, introspected and revoked", async () => {
  const svc = await registerClient(worker, { grant_types: ["client_credentials"], scope: "api:read api:write", redirect_uris: [] });
  const cfg = await oidc.discovery(new URL(worker.url), svc.client_id, {}, oidc.ClientSecretBasic(svc.client_secret),
    { execute: [oidc.allowInsecureRequests] });
  const tokens = await oidc.clientCredentialsGrant(cfg, { scope: "api:read" });
  assert.equal(tokens.token_type.toLowerCase(), "bearer");
  assert.equal(tokens.scope, "api:read");
  assert.equal(tokens.refresh_token, undefined);
  assert.equal(tokens.id_token, undefined);
  const info = await oidc.tokenIntrospection(cfg, tokens.access_token);
  assert.equal(info.active, true);
  assert.equal(info.sub, svc.client_id);
  await oidc.tokenRevocation(cfg, tokens.access_token);
  assert.deepEqual(await oidc.tokenIntrospection(cfg, tokens.access_token), { active: false });
  await assert.rejects(oidc.clientCredentialsGrant(cfg, { scope: "api:admin" }), (e) => e.error === "invalid_scope");
  // The code-flow client is not registered for it.
  await assert.rejects(oidc.clientCredentialsGrant(config), (e) => e.error === "unauthorized_client");
});

test("buildEndSessionUrl: the library's logout URL signs the person out", async () => {
  const jar = new Jar();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: "openid", state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });
  const tokens = await oidc.authorizationCodeGrant(config, await frontChannel(url, jar), { pkceCodeVerifier: verifier, expectedState: state });
  const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: LOGGED_OUT, state: "bye" });
  const res = jar.take(await worker.fetch(end.pathname + end.search, { headers: { cookie: jar.header() } }));
  assert.equal(res.status, 302);
  assert.equal(new URL(res.headers.get("location")).searchParams.get("state"), "bye");
  // Back at /authorize with prompt=none: login_required, which the library reports as an error.
  const again = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: "openid", state, prompt: "none",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });
  const cb = await frontChannel(again, jar);
  await assert.rejects(
    oidc.authorizationCodeGrant(config, cb, { pkceCodeVerifier: verifier, expectedState: state }),
    (e) => e.error === "login_required",
  );
});
