// Federated sign-in in a real browser (headless Debian chromium through
// playwright-core), with the keyboard only: from an unmodified
// openid-client relying party to our login page, Tab to "Continue with …"
// and Enter, type the username and password at the upstream (a second
// edge-oidc), allow at its consent page and at ours, and land at the RP's
// redirect URI with a code that openid-client redeems.
//
// Ours is at http://localhost:<port> and the upstream at
// http://127.0.0.1:<port>: two hosts, so their cookies do not collide (a
// cookie is per host, not per port). Both issuers follow the Host header.
// A screenshot of our login page with the provider button is written to a
// temporary directory (named in the test's diagnostics).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import * as oidc from "openid-client";
import { startWorker, startRp, launchChromium, CHROMIUM, focused, tabTo } from "./helpers.mjs";
import { registerClient, createUser } from "./flow.mjs";
import { adminCall, openidRp } from "./upstreams.mjs";

const skip = CHROMIUM ? false : "no chromium (set CHROMIUM_PATH or install Debian's chromium)";

let up, ours, origin, rpServer, rp, browser;
before(async () => {
  if (skip) return;
  [up, ours] = await Promise.all([startWorker(), startWorker()]);
  origin = ours.url.replace("127.0.0.1", "localhost");
  // Ours as the browser and the RP see it: at localhost.
  const site = { url: origin, fetch: (p, init = {}) => fetch(new URL(p, origin), { redirect: "manual", ...init }) };
  rpServer = await startRp();
  rp = await openidRp(site, await registerClient(site, { redirect_uris: [rpServer.url], client_name: "Keyboard RP" }), rpServer.url);
  const client = await registerClient(up, { redirect_uris: [`${origin}/federation/up/callback`], client_name: "ours" });
  const res = await adminCall(site, "POST", "/admin/idps", {
    id: "up", name: "Upstream", kind: "oidc", issuer: up.url, client_id: client.client_id, client_secret: client.client_secret,
  });
  assert.equal(res.status, 201, await res.clone().text());
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await rpServer?.close();
  await Promise.all([up?.stop(), ours?.stop()]);
});

test("keyboard only: Continue with the upstream, sign in there, allow, back at the RP with a code", { skip }, async (t) => {
  const user = await createUser(up, `kb${randomBytes(3).toString("hex")}`, { name: "Kay Board" });
  const { url, checks } = await rp.start();
  const context = await browser.newContext({ colorScheme: "light" });
  const page = await context.newPage();
  try {
    await page.goto(url.href);
    assert.equal(await page.title(), "Sign in – edge-oidc");
    assert.equal(new URL(page.url()).origin, origin);
    const button = page.getByRole("button", { name: "Continue with Upstream" });
    assert.ok(await button.isVisible(), "the provider button is shown");

    const dir = mkdtempSync(path.join(tmpdir(), "edge-oidc-federation-"));
    const shot = path.join(dir, "login-light.png");
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);

    // The username field has the focus as the page opens; the provider
    // button comes before it in the Tab order (it is first on the page),
    // so Shift+Tab reaches it, and Tab goes on from it to the username.
    assert.equal(await focused(page), "INPUT#username");
    await tabTo(page, "BUTTON:Continue with Upstream", { key: "Shift+Tab", max: 1 });
    await tabTo(page, "INPUT#username", { max: 1 });
    await tabTo(page, "BUTTON:Continue with Upstream", { key: "Shift+Tab", max: 1 });
    const focusShot = path.join(dir, "login-light-button-focused.png");
    await page.screenshot({ path: focusShot, fullPage: true });
    t.diagnostic(`screenshot: ${focusShot}`);
    await Promise.all([page.waitForURL((u) => u.origin === up.url, { timeout: 15000 }), page.keyboard.press("Enter")]);

    // At the upstream: its login page, typed.
    assert.equal(await page.title(), "Sign in – edge-oidc");
    assert.equal(await focused(page), "INPUT#username");
    await page.keyboard.type(user.username);
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "INPUT#password");
    await page.keyboard.type(user.password);
    await Promise.all([page.waitForURL((u) => u.origin === up.url && u.pathname === "/authorize" && !u.search, { timeout: 15000 }),
      page.keyboard.press("Enter")]);
    // Its consent page: Tab to Allow.
    await page.getByRole("heading", { name: "ours wants to access your account" }).waitFor();
    await tabTo(page, "BUTTON:Allow");
    await Promise.all([page.waitForURL((u) => u.origin === origin, { timeout: 15000 }), page.keyboard.press("Enter")]);

    // Back here: our consent page for the RP.
    await page.getByRole("heading", { name: "Keyboard RP wants to access your account" }).waitFor();
    await tabTo(page, "BUTTON:Allow");
    await Promise.all([page.waitForURL((u) => u.href.startsWith(rpServer.url), { timeout: 15000 }), page.keyboard.press("Enter")]);

    const back = new URL(page.url());
    assert.ok(back.searchParams.get("code"), `a code: ${back}`);
    const tokens = await oidc.authorizationCodeGrant(rp.config, back, checks);
    const claims = tokens.claims();
    assert.equal(claims.iss, origin);
    assert.equal(claims.idp, "up");
    assert.deepEqual(claims.amr, ["pwd"], "the upstream's amr");
    assert.notEqual(claims.sub, user.sub, "a local sub, not the upstream's");
    assert.equal((await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub)).name, "Kay Board");

    // Two hosts, two cookie jars: each site's session cookie stayed its own.
    const cookies = await context.cookies();
    const hosts = (name) => cookies.filter((c) => c.name === name).map((c) => c.domain).sort();
    assert.deepEqual(hosts("oidc_session"), ["127.0.0.1", "localhost"]);
  } finally {
    await context.close();
  }
});
