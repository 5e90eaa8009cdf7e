// Passkeys in a real browser: headless Debian chromium (playwright-core) with
// a virtual authenticator through the DevTools protocol (WebAuthn domain).
// A passkey-only account enrols through its one-time link, signs in to an
// unmodified openid-client relying party with no password typed (its ID
// token says amr hwk + user), adds a second passkey from the account page
// and removes the first, which then signs nobody in.
//
// WebAuthn needs a domain as its RP ID: everything here goes to
// http://localhost:<port> (a secure context), so the issuer, derived from
// the Host header, is that origin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as oidc from "openid-client";
import { startWorker, startRp, launchChromium, CHROMIUM, ADMIN_TOKEN, VIRTUAL_PASSKEY } from "./helpers.mjs";

const skip = CHROMIUM ? false : "no chromium (set CHROMIUM_PATH or install Debian's chromium)";

let worker, origin, rp, rpUrl, browser;
before(async () => {
  if (skip) return;
  worker = await startWorker();
  origin = worker.url.replace("127.0.0.1", "localhost");
  rp = await startRp();
  rpUrl = rp.url;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await rp?.close();
  await worker?.stop();
});

const admin = (path, body) =>
  fetch(new URL(path, origin), {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** A page with its own virtual authenticator (CTAP2, resident keys, user verification). */
async function withAuthenticator(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const add = async () =>
    (await cdp.send("WebAuthn.addVirtualAuthenticator", { options: VIRTUAL_PASSKEY })).authenticatorId;
  let authenticatorId = await add();
  return {
    page,
    credentials: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials,
    /** Swaps in a new, empty authenticator (a second device). */
    replace: async () => {
      await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
      authenticatorId = await add();
    },
    /** Puts a credential (from credentials()) into the current authenticator. */
    load: (credential) => cdp.send("WebAuthn.addCredential", { authenticatorId, credential }),
  };
}

/** Clicks `button` and waits for the navigation its form causes. */
const clickAndWait = (page, button, urlTest) =>
  Promise.all([page.waitForURL(urlTest, { timeout: 15000 }), button.click()]);

async function rpConfig() {
  const reg = await admin("/register", { redirect_uris: [rpUrl], client_name: "Passkey RP" });
  assert.equal(reg.status, 201);
  const client = await reg.json();
  const config = await oidc.discovery(new URL(origin), client.client_id, { redirect_uris: [rpUrl] },
    oidc.ClientSecretBasic(client.client_secret), { execute: [oidc.allowInsecureRequests] });
  return config;
}

/**
 * Runs an authorization code flow in `page`, signing in with a passkey,
 * through the button (`button`) or the autofill; the ID token's claims.
 */
async function passkeyFlow(page, config, { button = false } = {}) {
  // Signed in: on to the consent page, or back to the RP if consent is remembered.
  const signedIn = (u) => u.href.startsWith(rpUrl) || (u.pathname === "/authorize" && !u.search);
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: rpUrl, scope: "openid profile", nonce, state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });
  if (button) {
    await page.goto(url.href);
    assert.equal(await page.title(), "Sign in – edge-oidc");
    assert.equal(await page.locator("#password").inputValue(), "");
    await clickAndWait(page, page.getByRole("button", { name: "Sign in with a passkey" }), signedIn);
  } else {
    // Conditional mediation: the page asks for a passkey as it loads and the
    // browser offers it in the username's autofill, which the virtual
    // authenticator (user present, verified) answers at once.
    const sent = page.waitForRequest((r) => r.method() === "POST");
    await page.goto(url.href, { waitUntil: "commit" });
    const body = new URLSearchParams((await sent).postData());
    assert.equal(body.get("step"), "passkey");
    assert.equal(body.get("password"), null, "no password was sent");
    await page.waitForURL(signedIn, { timeout: 15000 });
  }
  if (!page.url().startsWith(rpUrl)) {
    await page.getByRole("heading", { name: /Passkey RP wants to access your account/ }).waitFor();
    await clickAndWait(page, page.getByRole("button", { name: "Allow" }), (u) => u.href.startsWith(rpUrl));
  }
  const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), {
    pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state,
  });
  return tokens.claims();
}

test("enrol through the link, sign in with the passkey, add a second, remove the first", { skip }, async () => {
  const username = `pk-${randomBytes(3).toString("hex")}`;
  const created = await admin("/admin/users", { username, claims: { name: "Ada Passkey" } });
  assert.equal(created.status, 201);
  const user = await created.json();
  assert.equal(user.has_password, false);
  assert.ok(user.enrollment_url.startsWith(`${origin}/account/enroll?token=`), user.enrollment_url);

  const context = await browser.newContext();
  const device = await withAuthenticator(context);
  const { page } = device;
  try {
    // Enrolment: the link's page creates the passkey and signs the person in.
    await page.goto(user.enrollment_url);
    assert.equal(await page.title(), "Create a passkey – edge-oidc");
    await page.getByLabel("Name this passkey").fill("Laptop");
    await clickAndWait(page, page.getByRole("button", { name: "Create a passkey" }), (u) => u.pathname === "/account");
    const [first] = await device.credentials();
    assert.ok(first?.isResidentCredential, "a discoverable credential");
    assert.equal(Buffer.from(first.userHandle, "base64").toString(), user.sub, "the user handle is the sub");
    assert.match(await page.locator("main").innerText(), /Laptop/);

    // The link works once: a second device cannot use it.
    const other = await withAuthenticator(await browser.newContext());
    await other.page.goto(user.enrollment_url);
    await clickAndWait(other.page, other.page.getByRole("button", { name: "Create a passkey" }), (u) => u.pathname === "/account/enroll" && !u.search);
    assert.match(await other.page.locator("main").innerText(), /cannot be used/);
    assert.equal((await other.credentials()).length, 1, "the authenticator made one, the server refused it");

    // An OpenID flow with the passkey from the autofill: no password typed, amr says so.
    await context.clearCookies();
    const config = await rpConfig();
    const claims = await passkeyFlow(page, config);
    assert.equal(claims.sub, user.sub);
    assert.deepEqual(claims.amr, ["hwk", "user"]);

    // A second passkey from the account page, on a second device.
    await device.replace();
    await page.goto(`${origin}/account`);
    await page.getByLabel("Name this passkey").fill("Phone");
    await clickAndWait(page, page.getByRole("button", { name: "Add a passkey" }), (u) => u.searchParams.get("done") === "passkey-added");
    const text = await page.locator("main").innerText();
    assert.match(text, /Laptop/);
    assert.match(text, /Phone/);

    // Remove the first.
    await clickAndWait(page, page.getByRole("button", { name: "Remove Laptop" }), (u) => u.searchParams.get("done") === "passkey-removed");
    assert.doesNotMatch(await page.locator("main").innerText(), /Laptop/);

    // A browser without conditional mediation: the button. The second
    // passkey signs in; the removed one signs nobody in.
    await context.addInitScript(() => { delete PublicKeyCredential.isConditionalMediationAvailable; });
    await context.clearCookies();
    const second = await passkeyFlow(page, config, { button: true });
    assert.equal(second.sub, user.sub);
    assert.deepEqual(second.amr, ["hwk", "user"]);
    await context.clearCookies();
    await device.replace();
    await device.load(first);
    await page.goto(`${origin}/account/login`);
    await clickAndWait(page, page.getByRole("button", { name: "Sign in with a passkey" }), (u) => u.pathname === "/account/login");
    assert.match(await page.getByRole("alert").innerText(), /not registered/);
  } finally {
    await context.close();
  }
});
