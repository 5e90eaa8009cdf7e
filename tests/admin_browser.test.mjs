// The admin console in a real browser (headless Debian chromium through
// playwright-core), keyboard first: an administrator signs in, registers a
// confidential client and copies its secret with the copy button; an
// unmodified openid-client relying party then completes a code flow with
// it; the administrator edits its redirect URIs (the old one is refused
// at once), creates a user who then signs in, and ends that user's
// session; an ordinary user is refused. Every page is screenshotted (light,
// dark and a phone's width) into a temporary directory named in the
// test's diagnostics.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { startWorker, startRp, launchChromium, CHROMIUM, focused, tabTo } from "./helpers.mjs";
import * as oidc from "openid-client";
import { createUser } from "./flow.mjs";
import { createAdmin } from "./console.mjs";

const skip = CHROMIUM ? false : "no chromium (set CHROMIUM_PATH or install Debian's chromium)";

let worker, rpServer, browser, shots;
before(async () => {
  if (skip) return;
  worker = await startWorker();
  rpServer = await startRp();
  browser = await launchChromium();
  shots = mkdtempSync(path.join(tmpdir(), "edge-oidc-admin-"));
});
after(async () => {
  await browser?.close();
  await rpServer?.close();
  await worker?.stop();
});

/** Screenshots of the page as it is, in light and dark, and at a phone's width. */
async function shoot(t, page, name) {
  const size = page.viewportSize();
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    const file = path.join(shots, `${name}-${scheme}.png`);
    await page.screenshot({ path: file, fullPage: true });
    t.diagnostic(`screenshot: ${file}`);
  }
  await page.setViewportSize({ width: 390, height: 844 });
  const phone = path.join(shots, `${name}-phone.png`);
  await page.screenshot({ path: phone, fullPage: true });
  t.diagnostic(`screenshot: ${phone}`);
  // Nothing wider than the phone's screen: no sideways scrolling.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name}: ${overflow}px wider than a phone`);
  await page.setViewportSize(size);
  await page.emulateMedia({ colorScheme: "light" });
}

/** Signs in at /admin/login with the keyboard only. */
async function signIn(page, user) {
  await page.goto(`${worker.url}/admin`);
  assert.equal(new URL(page.url()).pathname, "/admin/login");
  assert.equal(await focused(page), "INPUT#username");
  await page.keyboard.type(user.username);
  await page.keyboard.press("Tab");
  await page.keyboard.type(user.password);
  await Promise.all([page.waitForURL(`${worker.url}/admin`), page.keyboard.press("Enter")]);
}

test("an ordinary user is refused, and sees nothing of the console", { skip }, async (t) => {
  const user = await createUser(worker);
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${worker.url}/admin/login`);
    await page.getByLabel("Username").fill(user.username);
    await page.getByLabel("Password").fill(user.password);
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/admin/login") && r.request().method() === "POST"),
      page.getByRole("button", { name: "Sign in", exact: true }).click()]);
    assert.equal(res.status(), 403);
    await page.getByText("which is not an administrator").waitFor();
    assert.equal(await page.locator("nav, table").count(), 0);
    await shoot(t, page, "refused");
  } finally {
    await context.close();
  }
});

test("keyboard first: an administrator signs in, opens every section, rotates the keys", { skip }, async (t) => {
  const admin = await createAdmin(worker, `root${randomBytes(3).toString("hex")}`);
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  try {
    await page.goto(`${worker.url}/admin`);
    await shoot(t, page, "login");
    await signIn(page, admin);
    await page.getByRole("heading", { name: "Admin console", level: 1 }).waitFor();
    await shoot(t, page, "overview");
    // The skip link comes first, then the navigation in order.
    await tabTo(page, "A:Skip to content", { max: 1 });
    await tabTo(page, "A:Overview", { max: 1 });
    await tabTo(page, "A:Clients", { max: 1 });
    await tabTo(page, "A:Users", { max: 1 });
    await tabTo(page, "A:Signing keys", { max: 1 });
    await Promise.all([page.waitForURL(`${worker.url}/admin/signing-keys`), page.keyboard.press("Enter")]);
    assert.equal(await page.getByRole("link", { name: "Signing keys" }).getAttribute("aria-current"), "page");
    await shoot(t, page, "signing-keys");
    await tabTo(page, "BUTTON:Rotate (scheduled)");
    await Promise.all([page.waitForURL(/\/admin\/signing-keys\/rotate\?reason=scheduled$/), page.keyboard.press("Enter")]);
    await shoot(t, page, "rotate-confirm");
    await tabTo(page, "BUTTON:Replace the keys", { max: 12 });
    await Promise.all([page.waitForURL(`${worker.url}/admin/signing-keys?done=scheduled`), page.keyboard.press("Enter")]);
    await page.getByRole("status").getByText("The signing keys have been replaced").waitFor();
    await page.goto(`${worker.url}/admin/audit`);
    await page.getByRole("cell", { name: "keys.rotate scheduled" }).first().waitFor();
    await shoot(t, page, "audit");
    assert.deepEqual(errors, [], "no console errors (a CSP violation would be one)");
  } finally {
    await context.close();
  }
});

/** The person's side: an RP's authorization URL opened, signed in, allowed; back at the RP. */
async function signInAtRp(page, url, user, redirectUri) {
  await page.goto(url.href);
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("button", { name: "Allow" }).click();
  await page.waitForURL((u) => u.href.startsWith(redirectUri));
  return new URL(page.url());
}

test("an administrator creates a user and a confidential client, copies its secret; an unmodified RP signs that user in with it; an edit of its redirect URIs holds at once; the user's session is ended", { skip }, async (t) => {
  const admin = await createAdmin(worker, `ops${randomBytes(3).toString("hex")}`);
  const user = { username: `ada${randomBytes(3).toString("hex")}`, password: "a long pass phrase", name: "Ada Console" };
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: worker.url });
  const page = await context.newPage();
  const person = await (await browser.newContext()).newPage();
  const errors = [];
  // Console errors but the browser's notes of a failed load: those are
  // checked by their responses (only the form with a mistake, and the
  // favicon the browser asks for on its own, may fail).
  page.on("console", (m) => m.type() === "error" && !/^Failed to load resource/.test(m.text()) && errors.push(m.text()));
  page.on("response", (r) => r.status() >= 400 && !(r.status() === 400 && r.request().method() === "POST")
    && new URL(r.url()).pathname !== "/favicon.ico" && errors.push(`${r.status()} ${r.url()}`));
  try {
    await signIn(page, admin);
    // A user, made here.
    await page.getByRole("navigation").getByRole("link", { name: "Users" }).click();
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    await page.getByRole("link", { name: "New user" }).click();
    await page.getByLabel("Username").fill(user.username);
    await page.getByLabel("Password (optional)").fill(user.password);
    await page.getByLabel("Name", { exact: true }).fill(user.name);
    await page.getByLabel("E-mail address", { exact: true }).fill(`${user.username}@example.com`);
    await page.getByLabel("E-mail address verified").check();
    await shoot(t, page, "user-new");
    await page.getByRole("button", { name: "Create user" }).click();
    await page.getByRole("heading", { name: user.username, level: 1 }).waitFor();
    await shoot(t, page, "user");
    await page.getByRole("navigation").getByRole("link", { name: "Users" }).click();
    await page.getByRole("link", { name: user.username }).waitFor();
    await shoot(t, page, "users");

    await page.getByRole("navigation").getByRole("link", { name: "Clients" }).click();
    await page.getByRole("heading", { name: "Clients", level: 1 }).waitFor();
    await shoot(t, page, "clients-empty");
    await page.getByRole("link", { name: "Register a new client" }).click();
    await page.getByRole("heading", { name: "New client", level: 1 }).waitFor();
    await shoot(t, page, "client-new");
    // A mistake first: the error is next to its field, which is marked invalid.
    await page.getByLabel("Name", { exact: true }).fill("Console RP");
    await page.getByLabel("Redirect URIs", { exact: true }).fill("not a url");
    await page.getByRole("button", { name: "Register the client" }).click();
    await page.getByRole("alert").waitFor();
    const redirects = page.getByLabel("Redirect URIs", { exact: true });
    assert.equal(await redirects.getAttribute("aria-invalid"), "true");
    const described = await redirects.getAttribute("aria-describedby");
    assert.match(await page.locator(`#${described.split(" ").find((id) => id.endsWith("-error"))}`).innerText(), /redirect/i);
    await shoot(t, page, "client-new-error");
    await redirects.fill(rpServer.url);
    for (const grant of [/^authorization_code/, /^refresh_token/]) await page.getByLabel(grant).check();
    await page.getByLabel("Client authentication").selectOption("client_secret_basic");
    await page.getByRole("button", { name: "Register the client" }).click();
    await page.getByRole("heading", { name: /registered/i, level: 1 }).waitFor();
    const clientId = await page.getByLabel("Client ID").inputValue();
    await page.getByRole("button", { name: "Copy the secret" }).click();
    await page.getByRole("status").getByText("Copied").waitFor();
    const secret = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(secret, await page.getByLabel("Client secret").inputValue());
    assert.ok(secret.length >= 40, "a real secret");
    await shoot(t, page, "client-secret");

    // The RP, configured with what was copied, completes a code flow.
    const rp = await openidRpAt(clientId, secret, rpServer.url);
    const { url, checks } = await rp.start();
    const back = await signInAtRp(person, url, user, rpServer.url);
    const tokens = await oidc.authorizationCodeGrant(rp.config, back, checks);
    assert.equal(tokens.claims().aud, clientId);
    const info = await oidc.fetchUserInfo(rp.config, tokens.access_token, tokens.claims().sub);
    assert.deepEqual([info.name, info.email, info.email_verified], [user.name, `${user.username}@example.com`, true],
      "the claims set in the console");

    // Its redirect URIs edited: the old one is refused at /authorize at once.
    await page.goto(`${worker.url}/admin/clients/${encodeURIComponent(clientId)}`);
    await page.getByRole("heading", { name: "Console RP", level: 1 }).waitFor();
    await shoot(t, page, "client-view");
    const moved = `${rpServer.url}/moved`;
    await page.getByLabel("Redirect URIs", { exact: true }).fill(moved);
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("status").waitFor();
    const old = await rp.start();
    const refused = await person.goto(old.url.href);
    assert.equal(refused.status(), 400);
    assert.equal(new URL(person.url()).origin, worker.url, "no redirect to the old URI");
    await person.getByText(/redirect/i).first().waitFor();
    const rpMoved = await openidRpAt(clientId, secret, moved);
    const next = await rpMoved.start();
    await person.goto(next.url.href);
    await person.waitForURL((u) => u.href.startsWith(moved));
    assert.ok(new URL(person.url()).searchParams.get("code"), "the new URI gets a code (the session and consent stand)");

    await page.goto(`${worker.url}/admin/clients`);
    await page.getByRole("link", { name: "Console RP" }).waitFor();
    await shoot(t, page, "clients");

    // The user's session, seen and ended here: their browser is signed out.
    await person.goto(`${worker.url}/account`);
    await person.getByRole("heading", { name: "Your account" }).waitFor();
    await page.goto(`${worker.url}/admin/accounts/${user.username}`);
    const end = page.getByRole("button", { name: /^End the session signed in/ });
    assert.equal(await end.count(), 1, "one session");
    await shoot(t, page, "user-session");
    await end.click();
    await page.getByRole("status").waitFor();
    assert.equal(await page.getByRole("button", { name: /^End the session signed in/ }).count(), 0);
    await person.goto(`${worker.url}/account`);
    assert.equal(new URL(person.url()).pathname, "/account/login", "signed out");
    assert.deepEqual(errors, [], "no console errors (a CSP violation would be one)");
  } finally {
    await person.context().close();
    await context.close();
  }
});

/** An unmodified openid-client RP for this client at `redirectUri`. */
async function openidRpAt(clientId, secret, redirectUri) {
  const config = await oidc.discovery(new URL(worker.url), clientId, { redirect_uris: [redirectUri] },
    oidc.ClientSecretBasic(secret), { execute: [oidc.allowInsecureRequests] });
  return {
    config,
    async start() {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri, scope: "openid email profile", state, nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
      });
      return { url, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true } };
    },
  };
}
