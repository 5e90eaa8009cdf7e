// The token endpoint for the authorization code grant (issue 3): RFC 6749
// §4.1.3 / §5.1 / §5.2, client authentication (§2.3.1), PKCE (RFC 7636),
// single use under concurrency, the tokens' claims and signatures, and the
// refresh token policy.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPublicKey, verify } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { startWorker } from "./helpers.mjs";
import {
  registerClient, createUser, obtainCode, exchange, token, basicAuth, decodeJwt, form, authorize, authParams, REDIRECT_URI,
} from "./flow.mjs";

let worker, client, postClient, publicClient, user;
before(async () => {
  worker = await startWorker();
  client = await registerClient(worker);
  postClient = await registerClient(worker, { token_endpoint_auth_method: "client_secret_post" });
  publicClient = await registerClient(worker, { token_endpoint_auth_method: "none" });
  user = await createUser(worker, "token-alice");
});
after(async () => { await worker?.stop(); });

const json = (body, headers = {}) => ({
  method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body),
});
const codeBody = (got, extra = {}) => ({
  grant_type: "authorization_code", code: got.code, redirect_uri: REDIRECT_URI, code_verifier: got.verifier, ...extra,
});

/** RFC 6749 §5.1 / §5.2: every token response is JSON and never cached. */
function assertNoStore(res, what) {
  assert.equal(res.headers.get("cache-control"), "no-store", `${what}: cache-control`);
  assert.equal(res.headers.get("pragma"), "no-cache", `${what}: pragma`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, `${what}: content-type`);
}

/** An RFC 6749 §5.2 error: status, error code, a description, the headers. */
async function assertTokenError(res, status, error, what) {
  const body = await res.json();
  assert.equal(res.status, status, `${what}: status (${JSON.stringify(body)})`);
  assert.equal(body.error, error, `${what}: error`);
  assert.equal(typeof body.error_description, "string", `${what}: error_description`);
  assertNoStore(res, what);
  return body;
}

async function assertTokens(res, what) {
  const text = await res.text();
  assert.equal(res.status, 200, `${what}: ${text}`);
  assertNoStore(res, what);
  const body = JSON.parse(text);
  assert.equal(body.token_type, "Bearer");
  assert.ok(body.access_token);
  return body;
}

/** Verifies a compact JWS against our published JWKS with node:crypto. */
async function verifyJws(jwt) {
  const [h, p, s] = jwt.split(".");
  const { header } = decodeJwt(jwt);
  const { keys } = await (await worker.fetch("/jwks.json")).json();
  const jwk = keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} is published`);
  assert.equal(jwk.alg, header.alg);
  const key = createPublicKey({ key: jwk, format: "jwk" });
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, "base64url");
  const ok = {
    RS256: () => verify("sha256", data, key, sig),
    ES256: () => verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, sig),
    EdDSA: () => verify(null, data, key, sig),
  }[header.alg]();
  assert.ok(ok, `${header.alg} signature verifies`);
}

/** A code for a request without PKCE (consent already remembered in `jar`). */
async function codeWithoutPkce(c, jar) {
  const { params } = authParams(c);
  delete params.code_challenge;
  delete params.code_challenge_method;
  const res = await authorize(worker, jar, params);
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get("location"));
  assert.equal(loc.searchParams.get("error"), null, loc.href);
  return { code: loc.searchParams.get("code"), verifier: undefined };
}

const left = (alg, token) => {
  const digest = createHash(alg === "EdDSA" ? "sha512" : "sha256").update(token).digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
};

test("a code redeemed with client_secret_basic: tokens, claims and signatures", async () => {
  const got = await obtainCode(worker, client, user);
  const res = await token(worker, client, codeBody(got));
  const body = await assertTokens(res, "basic");
  assert.equal(body.expires_in, 3600);
  assert.equal(body.scope, "openid email profile offline_access");
  assert.ok(body.refresh_token, "offline_access granted and the client has refresh_token");

  const at = decodeJwt(body.access_token);
  assert.equal(at.header.typ, "at+jwt");
  assert.equal(at.header.alg, "ES256");
  for (const claim of ["iss", "sub", "aud", "client_id", "scope", "iat", "exp", "jti"]) {
    assert.ok(at.payload[claim] !== undefined, `access token has ${claim}`);
  }
  assert.equal(at.payload.iss, worker.url);
  assert.equal(at.payload.sub, user.sub);
  assert.equal(at.payload.client_id, client.client_id);
  assert.equal(at.payload.exp - at.payload.iat, 3600);
  await verifyJws(body.access_token);

  const id = decodeJwt(body.id_token);
  assert.equal(id.header.alg, "RS256", "RS256 is the default ID token alg");
  assert.equal(id.payload.iss, worker.url);
  assert.equal(id.payload.sub, user.sub);
  assert.equal(id.payload.aud, client.client_id);
  assert.equal(id.payload.azp, client.client_id);
  assert.equal(id.payload.nonce, got.params.nonce);
  assert.equal(id.payload.at_hash, left("RS256", body.access_token));
  assert.equal(typeof id.payload.auth_time, "number");
  assert.ok(id.payload.auth_time <= id.payload.iat);
  assert.ok(id.payload.exp > id.payload.iat);
  assert.ok(id.payload.sid, "sid");
  assert.equal(id.payload.email, undefined, "scope claims are served by userinfo");
  await verifyJws(body.id_token);
});

test("ES256 and EdDSA ID tokens per client, with at_hash of the right hash", async () => {
  for (const alg of ["ES256", "EdDSA"]) {
    const c = await registerClient(worker, { id_token_signed_response_alg: alg });
    const got = await obtainCode(worker, c, user);
    const body = await exchange(worker, c, got);
    const id = decodeJwt(body.id_token);
    assert.equal(id.header.alg, alg);
    assert.equal(id.payload.at_hash, left(alg, body.access_token), `${alg} at_hash`);
    await verifyJws(body.id_token);
  }
});

test("ACCESS_TOKEN_SIGNING_ALG chooses the access token's algorithm", async () => {
  const w = await startWorker({ vars: { ACCESS_TOKEN_SIGNING_ALG: "RS256" } });
  try {
    const c = await registerClient(w);
    const u = await createUser(w, "alg-bob");
    const body = await exchange(w, c, await obtainCode(w, c, u));
    assert.equal(decodeJwt(body.access_token).header.alg, "RS256");
    assert.equal(decodeJwt(body.access_token).header.typ, "at+jwt");
  } finally { await w.stop(); }
});

test("Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1)", async () => {
  const got = await obtainCode(worker, client, user);
  // Every character percent-encoded: the server must decode, not compare raw.
  const enc = (s) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
  const auth = `Basic ${Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret)}`).toString("base64")}`;
  const res = await worker.fetch("/token", form(codeBody(got), { authorization: auth }));
  await assertTokens(res, "percent-encoded Basic");
});

test("client_secret_post, and a JSON body", async () => {
  const got = await obtainCode(worker, postClient, user);
  const res = await worker.fetch("/token", form(codeBody(got, {
    client_id: postClient.client_id, client_secret: postClient.client_secret,
  })));
  await assertTokens(res, "client_secret_post");

  const got2 = await obtainCode(worker, client, user);
  const res2 = await worker.fetch("/token", json(codeBody(got2), { authorization: basicAuth(client) }));
  await assertTokens(res2, "JSON body");

  const got3 = await obtainCode(worker, postClient, user);
  const res3 = await worker.fetch("/token", json(codeBody(got3, {
    client_id: postClient.client_id, client_secret: postClient.client_secret,
  })));
  await assertTokens(res3, "JSON body with client_secret_post");
});

test("a public client redeems with PKCE and no secret", async () => {
  const got = await obtainCode(worker, publicClient, user);
  // No verifier: refused, and the code survives for the rightful client.
  const bare = codeBody(got);
  delete bare.code_verifier;
  const noVerifier = await token(worker, publicClient, bare);
  await assertTokenError(noVerifier, 400, "invalid_grant", "public, no verifier");
  const res = await token(worker, publicClient, codeBody(got));
  const body = await assertTokens(res, "public");
  assert.equal(decodeJwt(body.access_token).payload.client_id, publicClient.client_id);
});

test("a client must use its registered authentication method, and is told which it is", async () => {
  const registeredFor = (registered, used) =>
    `the client is registered for token_endpoint_auth_method ${registered} but used ${used}: `;
  // Basic client posting its secret in the body.
  let got = await obtainCode(worker, client, user);
  let res = await worker.fetch("/token", form(codeBody(got, { client_id: client.client_id, client_secret: client.client_secret })));
  let body = await assertTokenError(res, 401, "invalid_client", "basic client via post");
  assert.equal(res.headers.get("www-authenticate"), null, "no Basic challenge when Basic was not used");
  assert.equal(body.error_description,
    `${registeredFor("client_secret_basic", "client_secret_post")}send client_id and client_secret in an HTTP Basic Authorization header`);
  // Basic client passing itself off as public.
  res = await worker.fetch("/token", form(codeBody(got, { client_id: client.client_id })));
  body = await assertTokenError(res, 401, "invalid_client", "basic client as public");
  assert.ok(body.error_description.startsWith(registeredFor("client_secret_basic", "none")), body.error_description);
  // Post client using Basic.
  const got2 = await obtainCode(worker, postClient, user);
  res = await worker.fetch("/token", form(codeBody(got2), { authorization: basicAuth(postClient) }));
  body = await assertTokenError(res, 401, "invalid_client", "post client via basic");
  assert.match(res.headers.get("www-authenticate") ?? "", /^Basic /);
  assert.equal(body.error_description,
    `${registeredFor("client_secret_post", "client_secret_basic")}send client_id and client_secret in the request body`);
  // Public client inventing a secret.
  const got3 = await obtainCode(worker, publicClient, user);
  res = await worker.fetch("/token", form(codeBody(got3, { client_id: publicClient.client_id, client_secret: "x" })));
  body = await assertTokenError(res, 401, "invalid_client", "public client with a secret");
  assert.equal(body.error_description,
    `${registeredFor("none", "client_secret_post")}it is a public client: send client_id only, with no secret`);
  // A wrong secret, or an unknown client, says nothing more.
  res = await worker.fetch("/token", form(codeBody(got), { authorization: basicAuth({ ...client, client_secret: "wrong" }) }));
  assert.equal((await assertTokenError(res, 401, "invalid_client", "wrong secret")).error_description, "client authentication failed");
  res = await worker.fetch("/token", form(codeBody(got, { client_id: "no-such-client", client_secret: "x" })));
  assert.equal((await assertTokenError(res, 401, "invalid_client", "unknown client")).error_description, "client authentication failed");
  // None of these consumed the codes.
  await assertTokens(await token(worker, client, codeBody(got)), "basic code still good");
});

test("an empty POST /token (no body, no content type) is 400 invalid_request for grant_type, not 415", async () => {
  for (const [what, headers] of [["anonymous", {}], ["with Basic", { authorization: basicAuth(client) }]]) {
    const res = await worker.fetch("/token", { method: "POST", headers });
    const body = await assertTokenError(res, 400, "invalid_request", `empty POST, ${what}`);
    assert.match(body.error_description, /grant_type.*required/, what);
  }
  // An empty form or JSON body says the same; a body without a content type is still 415.
  const emptyForm = await worker.fetch("/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "" });
  await assertTokenError(emptyForm, 400, "invalid_request", "empty form");
  const untyped = await worker.fetch("/token", { method: "POST", body: new Uint8Array([0x67, 0x3d]) });
  await assertTokenError(untyped, 415, "invalid_request", "a body without a content type");
  // With grant_type, client authentication comes next, as before.
  const noClient = await worker.fetch("/token", form({ grant_type: "client_credentials" }));
  await assertTokenError(noClient, 401, "invalid_client", "grant_type without a client");
});

test("RFC 6749 §5.2 errors with their statuses and headers", async () => {
  const got = await obtainCode(worker, client, user);
  const wrongSecret = { ...client, client_secret: "not-the-secret" };
  const cases = [
    ["wrong secret (Basic)", () => token(worker, wrongSecret, codeBody(got)), 401, "invalid_client", /^Basic realm=/],
    ["unknown client (Basic)", () => token(worker, { client_id: "ghost", client_secret: "x" }, codeBody(got)), 401, "invalid_client", /^Basic realm=/],
    ["malformed Basic", () => worker.fetch("/token", form(codeBody(got), { authorization: "Basic !!!" })), 401, "invalid_client", /^Basic realm=/],
    ["no client authentication", () => worker.fetch("/token", form(codeBody(got))), 401, "invalid_client", null],
    ["wrong secret (post)", () => worker.fetch("/token", form(codeBody(got, { client_id: postClient.client_id, client_secret: "nope" }))), 401, "invalid_client", null],
    ["missing grant_type", () => token(worker, client, { code: got.code }), 400, "invalid_request", null],
    ["unknown grant_type", () => token(worker, client, { grant_type: "password", username: "a", password: "b" }), 400, "unsupported_grant_type", null],
    ["missing code", () => token(worker, client, { grant_type: "authorization_code", redirect_uri: REDIRECT_URI }), 400, "invalid_request", null],
    ["garbage code", () => token(worker, client, codeBody(got, { code: "garbage" })), 400, "invalid_grant", null],
    ["forged code secret", () => token(worker, client, codeBody(got, { code: `${got.code.split(".")[0]}.AAAA` })), 400, "invalid_grant", null],
    ["client_credentials not registered", () => token(worker, client, { grant_type: "client_credentials" }), 400, "unauthorized_client", null],
    ["two authentication methods", () => worker.fetch("/token", form(codeBody(got, { client_secret: client.client_secret }), { authorization: basicAuth(client) })), 400, "invalid_request", null],
    ["repeated code", () => worker.fetch("/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: basicAuth(client) }, body: `${new URLSearchParams(codeBody(got))}&code=${encodeURIComponent(got.code)}` }), 400, "invalid_request", null],
    ["repeated grant_type", () => worker.fetch("/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: basicAuth(client) }, body: `${new URLSearchParams(codeBody(got))}&grant_type=authorization_code` }), 400, "invalid_request", null],
  ];
  for (const [what, send, status, error, challenge] of cases) {
    const res = await send();
    await assertTokenError(res, status, error, what);
    const www = res.headers.get("www-authenticate");
    if (challenge) assert.match(www ?? "", challenge, `${what}: WWW-Authenticate`);
    else assert.equal(www, null, `${what}: no WWW-Authenticate`);
  }
  // Non-POST and other media types.
  const get = await worker.fetch("/token");
  assert.equal(get.status, 405);
  const xml = await worker.fetch("/token", { method: "POST", headers: { "content-type": "text/xml", authorization: basicAuth(client) }, body: "<x/>" });
  assert.equal(xml.status, 415);
  assert.equal((await xml.json()).error, "invalid_request");
  // None of the failures above spent the code.
  await assertTokens(await token(worker, client, codeBody(got)), "code still good");
});

test("redirect_uri must match the authorization request", async () => {
  const got = await obtainCode(worker, client, user);
  for (const [what, redirect_uri] of [["different", "http://127.0.0.1:9/other"], ["trailing slash", `${REDIRECT_URI}/`], ["missing", undefined]]) {
    const body = codeBody(got, { redirect_uri });
    if (redirect_uri === undefined) delete body.redirect_uri;
    await assertTokenError(await token(worker, client, body), 400, "invalid_grant", `redirect_uri ${what}`);
  }
  await assertTokens(await token(worker, client, codeBody(got)), "right redirect_uri");
});

test("PKCE: a wrong or missing verifier is invalid_grant", async () => {
  const got = await obtainCode(worker, client, user);
  const otherVerifier = "x".repeat(43);
  await assertTokenError(await token(worker, client, codeBody(got, { code_verifier: otherVerifier })), 400, "invalid_grant", "wrong verifier");
  const missing = codeBody(got);
  delete missing.code_verifier;
  await assertTokenError(await token(worker, client, missing), 400, "invalid_grant", "missing verifier");
  // The challenge itself is not a verifier.
  await assertTokenError(await token(worker, client, codeBody(got, { code_verifier: got.params.code_challenge })), 400, "invalid_grant", "challenge as verifier");
  // A verifier for a code issued without a challenge is a downgrade: refused.
  const noPkce = await codeWithoutPkce(client, got.jar);
  await assertTokenError(await token(worker, client, codeBody(noPkce, { code_verifier: "y".repeat(43) })), 400, "invalid_grant", "verifier without challenge");
  const plain = codeBody(noPkce);
  delete plain.code_verifier;
  await assertTokens(await token(worker, client, plain), "confidential client without PKCE");
});

test("a code of another client is invalid_grant", async () => {
  const other = await registerClient(worker);
  const got = await obtainCode(worker, client, user);
  await assertTokenError(await token(worker, other, codeBody(got)), 400, "invalid_grant", "foreign code");
  await assertTokens(await token(worker, client, codeBody(got)), "owner still redeems");
});

test("a code is single use: a replay is invalid_grant and revokes the grant's tokens", async () => {
  const got = await obtainCode(worker, client, user);
  const first = await assertTokens(await token(worker, client, codeBody(got)), "first");
  const info = () => worker.fetch("/userinfo", { headers: { authorization: `Bearer ${first.access_token}` } });
  assert.equal((await info()).status, 200);
  await assertTokenError(await token(worker, client, codeBody(got)), 400, "invalid_grant", "replay");
  const after = await info();
  assert.equal(after.status, 401);
  assert.match(after.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
  // The refresh token of that grant is dead too.
  const refresh = await token(worker, client, { grant_type: "refresh_token", refresh_token: first.refresh_token });
  await assertTokenError(refresh, 400, "invalid_grant", "refresh after replay");
});

test("20 parallel redemptions of one code: exactly one wins, and the replays revoke it", async () => {
  const got = await obtainCode(worker, client, user);
  const results = await Promise.all(Array.from({ length: 20 }, () =>
    token(worker, client, codeBody(got)).then(async (res) => ({ status: res.status, body: await res.json() }))));
  const winners = results.filter((r) => r.status === 200);
  const losers = results.filter((r) => r.status !== 200);
  assert.equal(winners.length, 1, `statuses: ${results.map((r) => r.status)}`);
  assert.equal(losers.length, 19);
  for (const l of losers) assert.deepEqual([l.status, l.body.error], [400, "invalid_grant"]);
  const info = await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${winners[0].body.access_token}` } });
  assert.equal(info.status, 401, "the replays revoked the winner's grant");
  assert.match(info.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
});

test("an expired code is invalid_grant (CODE_TTL)", async () => {
  const w = await startWorker({ vars: { CODE_TTL: "1" } });
  try {
    const c = await registerClient(w);
    const u = await createUser(w, "ttl-carol");
    const got = await obtainCode(w, c, u);
    await sleep(2100);
    const res = await token(w, c, codeBody(got));
    // The grant has expired (or its alarm has already deleted it): invalid_grant either way.
    await assertTokenError(res, 400, "invalid_grant", "expired");
  } finally { await w.stop(); }
});

test("refresh tokens: offline_access policy by default", async () => {
  const withOffline = await exchange(worker, client, await obtainCode(worker, client, user));
  assert.ok(withOffline.refresh_token);
  const without = await exchange(worker, client, await obtainCode(worker, client, user, { overrides: { scope: "openid email" } }));
  assert.equal(without.refresh_token, undefined);
  assert.equal(without.scope, "openid email");
  // A client without the refresh_token grant never gets one, and offline_access is dropped.
  const noRefresh = await registerClient(worker, { grant_types: ["authorization_code"] });
  const body = await exchange(worker, noRefresh, await obtainCode(worker, noRefresh, user));
  assert.equal(body.refresh_token, undefined);
  assert.equal(body.scope.split(" ").includes("offline_access"), false);
});

test("refresh tokens: REFRESH_TOKEN_POLICY=always", async () => {
  const w = await startWorker({ vars: { REFRESH_TOKEN_POLICY: "always" } });
  try {
    const c = await registerClient(w);
    const u = await createUser(w, "always-dave");
    const body = await exchange(w, c, await obtainCode(w, c, u, { overrides: { scope: "openid email" } }));
    assert.ok(body.refresh_token, "a refresh token without offline_access");
    const noRefresh = await registerClient(w, { grant_types: ["authorization_code"] });
    const body2 = await exchange(w, noRefresh, await obtainCode(w, noRefresh, u, { overrides: { scope: "openid" } }));
    assert.equal(body2.refresh_token, undefined, "still only for clients with the refresh_token grant");
  } finally { await w.stop(); }
});

test("/token/ works like /token", async () => {
  const got = await obtainCode(worker, client, user);
  const res = await worker.fetch("/token/", form(codeBody(got), { authorization: basicAuth(client) }));
  await assertTokens(res, "/token/");
  const err = await worker.fetch("/token/", form(codeBody(got), { authorization: basicAuth(client) }));
  await assertTokenError(err, 400, "invalid_grant", "/token/ replay");
});
