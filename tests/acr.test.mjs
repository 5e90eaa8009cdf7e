// How the person signed in (issue 12): ID tokens carry RFC 8176 `amr` from
// the code exchange through every refresh, and `acr` only when asked for;
// `acr_values=phr` (OpenID EAP ACR Values) or a client's
// `default_acr_values: ["phr"]` requires a passkey sign-in, so a password
// session is sent to sign in again, `prompt=none` gets `login_required`,
// and the login page offers only the passkey form (a password posted to it
// anyway is refused). The issuer is http://localhost, a name passkeys can
// have (browsers refuse an IP address as an RP ID). The passkey side is in
// tests/passkeys.test.mjs: a passkey session's amr and acr reach the ID token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { registerClient, createUser, obtainCode, exchange, authorize, authParams, submit, field, decodeJwt, Jar } from "./flow.mjs";
import { refresh } from "./lifecycle.mjs";

const PASSKEY_REQUIRED = /role="alert">This application requires signing in with a passkey\./;

let worker, client, strict, user;
before(async () => {
  worker = await startWorker({ vars: { ISSUER: "http://localhost" } });
  client = await registerClient(worker);
  strict = await registerClient(worker, { client_name: "Strict RP", default_acr_values: ["phr"] });
  user = await createUser(worker, "acr-ada");
});
after(async () => { await worker?.stop(); });

const idToken = (tokens) => decodeJwt(tokens.id_token).payload;
const hasSessionCookie = (res) => res.headers.getSetCookie().some((c) => c.startsWith("oidc_session="));

/** A browser signed in with a password, consent to `client` remembered. */
async function passwordSession() {
  const got = await obtainCode(worker, client, user);
  await exchange(worker, client, got);
  return got.jar;
}

/** A login page (`status`, not a redirect) saying that only a passkey will do, and offering only that. */
async function assertPasskeyLoginPage(res, what, status = 200) {
  assert.equal(res.status, status, what);
  const html = await res.text();
  assert.equal(field(html, "step"), "passkey", what);
  assert.doesNotMatch(html, /name="password"/, what);
  assert.match(html, PASSKEY_REQUIRED, what);
  return html;
}

/** Posts a password to a passkey-only login page, as a forged form would. */
const postPassword = (jar, html, password) => submit(worker, jar, html, { step: "login", username: user.username, password });

test("a password sign-in's ID token has amr [\"pwd\"] and no acr, at the code exchange and every refresh", async () => {
  const got = await obtainCode(worker, client, user);
  const tokens = await exchange(worker, client, got);
  const first = idToken(tokens);
  assert.deepEqual(first.amr, ["pwd"]);
  assert.equal(first.acr, undefined, "no acr unless asked");
  let rt = tokens.refresh_token;
  for (let i = 0; i < 2; i++) {
    const res = await refresh(worker, client, rt);
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    const claims = idToken(body);
    assert.deepEqual(claims.amr, ["pwd"], `refresh ${i}`);
    assert.equal(claims.acr, undefined, `refresh ${i}`);
    assert.equal(claims.auth_time, first.auth_time, `refresh ${i}`);
    rt = body.refresh_token;
  }
});

test("acr_values=phr sends a password session to the login page; prompt=none is login_required", async () => {
  const jar = await passwordSession();
  const phr = authParams(client, { acr_values: "urn:example:unknown phr" }).params;
  const html = await assertPasskeyLoginPage(await authorize(worker, jar, phr), "password session, phr asked");

  const refused = await postPassword(jar, html, user.password);
  assert.equal(hasSessionCookie(refused), false, "no new session");
  await assertPasskeyLoginPage(refused, "a password is refused for a client that requires a passkey", 403);
  // Refused unchecked, the form is not used up: the same post is refused alike, not "expired".
  const again = await postPassword(jar, html, "wrong");
  await assertPasskeyLoginPage(again, "the same form again", 403);

  const none = authParams(client, { acr_values: "phr", prompt: "none" }).params;
  const res = await authorize(worker, jar, none);
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get("location"));
  assert.equal(loc.searchParams.get("error"), "login_required");
  assert.match(loc.searchParams.get("error_description"), /passkey/);
  assert.equal(loc.searchParams.get("state"), none.state);

  // The password session itself still stands for requests that do not ask for phr.
  const plain = await authorize(worker, jar, authParams(client).params);
  assert.equal(plain.status, 302);
  assert.ok(new URL(plain.headers.get("location")).searchParams.get("code"));
});

test("without a session, acr_values=phr shows the login page saying a passkey is required", async () => {
  const html = await assertPasskeyLoginPage(
    await authorize(worker, new Jar(), authParams(client, { acr_values: "phr" }).params), "no session");
  assert.match(html, /data-webauthn="get"/, "the passkey form");
  const plain = await (await authorize(worker, new Jar(), authParams(client).params)).text();
  assert.doesNotMatch(plain, PASSKEY_REQUIRED);
  assert.match(plain, /name="password"/, "without phr the password form stays");
});

test("acr values we do not offer are ignored: no requirement and no acr claim", async () => {
  const jar = await passwordSession();
  const { params, verifier } = authParams(client, { acr_values: "urn:example:loa:2 urn:example:loa:1" });
  const res = await authorize(worker, jar, params);
  assert.equal(res.status, 302, "the password session serves");
  const code = new URL(res.headers.get("location")).searchParams.get("code");
  const claims = idToken(await exchange(worker, client, { code, verifier }));
  assert.deepEqual(claims.amr, ["pwd"]);
  assert.equal(claims.acr, undefined, "none of the requested values was achieved");
});

test("default_acr_values: [\"phr\"] requires a passkey the same way; the request's acr_values override it", async () => {
  const jar = await passwordSession();
  const html = await assertPasskeyLoginPage(await authorize(worker, jar, authParams(strict).params), "default phr");
  const refused = await postPassword(jar, html, user.password);
  assert.equal(hasSessionCookie(refused), false);
  await assertPasskeyLoginPage(refused, "default phr, password posted", 403);

  const none = authParams(strict, { prompt: "none" }).params;
  const res = await authorize(worker, jar, none);
  assert.equal(new URL(res.headers.get("location")).searchParams.get("error"), "login_required");

  // OIDC Registration §2: acr_values in the request override the defaults.
  const own = await authorize(worker, jar, authParams(strict, { acr_values: "urn:example:loa:1" }).params);
  assert.equal(own.status, 200);
  assert.equal(field(await own.text(), "step"), "consent", "no passkey needed, consent not yet given");
});

test("default_acr_values: registered, echoed, self-service, and validated as an array of strings", async () => {
  assert.deepEqual(strict.default_acr_values, ["phr"]);
  assert.equal(client.default_acr_values, undefined);
  for (const bad of ["phr", [1], [""], ["phr phrh"]]) {
    const res = await worker.fetch("/register", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ redirect_uris: client.redirect_uris, default_acr_values: bad }),
    });
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal((await res.json()).error, "invalid_client_metadata", JSON.stringify(bad));
  }
  // The client may set it with its own registration access token: it only makes it stricter.
  const own = await registerClient(worker);
  const { registration_access_token, registration_client_uri, ...info } = own;
  const res = await worker.fetch(new URL(registration_client_uri).pathname, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${registration_access_token}` },
    body: JSON.stringify({ ...info, default_acr_values: ["phr"] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual((await res.json()).default_acr_values, ["phr"]);
  await assertPasskeyLoginPage(await authorize(worker, new Jar(), authParams(own).params), "after the update");
});
