// Acceptance: the unmodified openid-client v6 library is the relying party
// (discovery, authorization URL, callback validation incl. RFC 9207 `iss`,
// code exchange, ID token validation, userinfo); this test is only the person
// filling in the login and consent forms.
//
// openid-client validates the ID token's claims on its own but verifies its
// signature only with enableNonRepudiationChecks(), which we turn on so
// that the signature is checked against our jwks_uri.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as oidc from "openid-client";
import { startWorker } from "./helpers.mjs";
import { registerClient, createUser, submit, field, Jar, REDIRECT_URI } from "./flow.mjs";

let worker, user;
before(async () => {
  worker = await startWorker();
  user = await createUser(worker, "rp-grace", { name: "Grace Hopper", given_name: "Grace" });
});
after(async () => { await worker?.stop(); });

/** The RP's configuration for a registered client, via discovery. */
async function configure(registered, metadata, auth) {
  const config = await oidc.discovery(new URL(worker.url), registered.client_id, {
    redirect_uris: [REDIRECT_URI], ...metadata,
  }, auth, { execute: [oidc.allowInsecureRequests] });
  oidc.enableNonRepudiationChecks(config);
  return config;
}

/** The person: follows the URL, signs in, answers consent; returns the callback URL. */
async function person(authorizationUrl, { decision = "allow" } = {}) {
  const jar = new Jar();
  const url = new URL(authorizationUrl);
  assert.equal(url.origin, worker.url);
  let res = jar.take(await worker.fetch(url.pathname + url.search, { headers: { cookie: jar.header() } }));
  for (let i = 0; i < 3 && res.status === 200; i++) {
    const html = await res.text();
    res = await submit(worker, jar, html, field(html, "step") === "login"
      ? { username: user.username, password: user.password }
      : { decision });
  }
  assert.ok([302, 303].includes(res.status), `expected a redirect, got ${res.status}`);
  return new URL(res.headers.get("location"));
}

async function runFlow(config, { alg }) {
  const code_verifier = oidc.randomPKCECodeVerifier();
  const code_challenge = await oidc.calculatePKCECodeChallenge(code_verifier);
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: "openid profile email", code_challenge, code_challenge_method: "S256", state, nonce,
  });
  const callback = await person(authUrl);
  assert.equal(callback.searchParams.get("iss"), worker.url);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: code_verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true,
  });
  assert.equal(tokens.token_type, "bearer");
  const claims = tokens.claims();
  assert.equal(claims.sub, user.sub);
  assert.equal(claims.iss, worker.url);
  assert.equal(claims.nonce, nonce);
  assert.deepEqual(claims.amr, ["pwd"], "RFC 8176: a password sign-in");
  assert.equal(claims.acr, undefined, "no acr unless asked");
  assert.equal(JSON.parse(Buffer.from(tokens.id_token.split(".")[0], "base64url")).alg, alg);
  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.deepEqual(info, {
    sub: user.sub, name: "Grace Hopper", given_name: "Grace", email: "rp-grace@example.com", email_verified: true,
  });
  return tokens;
}

test("discovery through openid-client", async () => {
  const c = await registerClient(worker);
  const config = await configure(c, {}, oidc.ClientSecretBasic(c.client_secret));
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, worker.url);
  assert.ok(meta.supportsPKCE());
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
});

test("confidential client, client_secret_basic, RS256 ID token", async () => {
  const c = await registerClient(worker, { token_endpoint_auth_method: "client_secret_basic" });
  const config = await configure(c, { id_token_signed_response_alg: "RS256" }, oidc.ClientSecretBasic(c.client_secret));
  await runFlow(config, { alg: "RS256" });
});

test("confidential client, client_secret_post, ES256 ID token", async () => {
  const c = await registerClient(worker, { token_endpoint_auth_method: "client_secret_post", id_token_signed_response_alg: "ES256" });
  const config = await configure(c, { id_token_signed_response_alg: "ES256" }, oidc.ClientSecretPost(c.client_secret));
  await runFlow(config, { alg: "ES256" });
});

test("public client (auth none) with PKCE, EdDSA ID token", async () => {
  const c = await registerClient(worker, { token_endpoint_auth_method: "none", id_token_signed_response_alg: "EdDSA" });
  assert.equal(c.client_secret, undefined);
  const config = await configure(c, { id_token_signed_response_alg: "EdDSA" }, oidc.None());
  await runFlow(config, { alg: "EdDSA" });
});

test("openid-client rejects a tampered ID token signature (the check is real)", async () => {
  const c = await registerClient(worker, { id_token_signed_response_alg: "RS256" });
  const config = await configure(c, { id_token_signed_response_alg: "RS256" }, oidc.ClientSecretBasic(c.client_secret));
  // A fetch that flips a byte of the ID token's signature on its way to the RP.
  const realFetch = globalThis.fetch;
  config[oidc.customFetch] = async (url, init) => {
    const res = await realFetch(url, init);
    if (!String(url).endsWith("/token")) return res;
    const body = await res.json();
    const [h, p, s] = body.id_token.split(".");
    const sig = Buffer.from(s, "base64url");
    sig[10] ^= 1;
    body.id_token = `${h}.${p}.${sig.toString("base64url")}`;
    return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
  };
  await assert.rejects(() => runFlow(config, { alg: "RS256" }), (e) => {
    assert.match(`${e.message} ${e.cause?.message}`, /signature/i);
    return true;
  });
});

test("a denied request reaches the RP as access_denied, with iss validated", async () => {
  const c = await registerClient(worker);
  const config = await configure(c, {}, oidc.ClientSecretBasic(c.client_secret));
  const state = oidc.randomState();
  const code_verifier = oidc.randomPKCECodeVerifier();
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: "openid", state,
    code_challenge: await oidc.calculatePKCECodeChallenge(code_verifier), code_challenge_method: "S256",
  });
  const callback = await person(authUrl, { decision: "deny" });
  await assert.rejects(
    () => oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: code_verifier, expectedState: state }),
    (e) => e instanceof oidc.AuthorizationResponseError && e.error === "access_denied",
  );
  // A callback with a wrong iss is refused by the library (RFC 9207 mix-up defence).
  const forged = new URL(callback);
  forged.searchParams.set("iss", "https://evil.example");
  await assert.rejects(
    () => oidc.authorizationCodeGrant(config, forged, { pkceCodeVerifier: code_verifier, expectedState: state }),
    (e) => {
      assert.match(e.cause?.message ?? e.message, /"iss"/);
      return true;
    },
  );
});
