// A browser-based app in real Chromium (playwright-core, Debian's chromium):
// a single-page app on its own origin, built on oidc-client-ts as a public
// client, signs in through our login and consent pages, reads the profile,
// calls /userinfo from the page, renews with its refresh token, revokes and
// signs out; every call to /token, /revoke and /userinfo is a cross-origin
// fetch that only CORS lets the page read. A page of an origin the client
// did not register cannot read /token's answer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFileSync } from "node:fs";
import path from "node:path";
import { startWorker, freePort, launchChromium, CHROMIUM, ROOT } from "./helpers.mjs";
import { registerClient, createUser } from "./flow.mjs";

const skip = CHROMIUM ? false : "no chromium (set CHROMIUM_PATH or install Debian's chromium)";
const LIBRARY = path.join(ROOT, "node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js");

/** A static server on 127.0.0.1: `/oidc-client-ts.js`, and `page` for every other path. */
async function serve(page) {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    if (req.url === "/oidc-client-ts.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      return res.end(readFileSync(LIBRARY));
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page());
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

let worker, spa, foreign, browser, client, user;
before(async () => {
  if (skip) return;
  worker = await startWorker({ vars: { REFRESH_TOKEN_POLICY: "always" } });
  user = await createUser(worker, "spa-sam", { name: "Sam Spa" });
  // The app: one page that sets up its UserManager, and finishes the sign-in on /cb.
  spa = await serve(() => `<!DOCTYPE html><meta charset="utf-8"><title>SPA</title>
<script src="/oidc-client-ts.js"></script>
<script>
  const settings = ${JSON.stringify({ authority: worker.url, client_id: client.client_id })};
  window.mgr = new oidc.UserManager({
    ...settings,
    redirect_uri: location.origin + "/cb",
    post_logout_redirect_uri: location.origin + "/logged-out",
    scope: "openid profile email",
    loadUserInfo: true,
    automaticSilentRenew: false,
  });
  if (location.pathname === "/cb") window.signedIn = mgr.signinRedirectCallback();
</script>`);
  client = await registerClient(worker, {
    client_name: "Browser SPA",
    token_endpoint_auth_method: "none",
    redirect_uris: [`${spa.origin}/cb`],
    post_logout_redirect_uris: [`${spa.origin}/logged-out`],
  });
  foreign = await serve(() => "<!DOCTYPE html><title>Elsewhere</title>");
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await spa?.close();
  await foreign?.close();
  await worker?.stop();
});

/** fetch() from the page: the status, body and a header as the page can read them, or the error. */
const pageFetch = (page, url, init, header) => page.evaluate(async ([url, init, header]) => {
  try {
    const r = await fetch(url, init);
    return { status: r.status, body: await r.json(), header: header && r.headers.get(header) };
  } catch (e) {
    return { error: e.name };
  }
}, [url, init, header]);

test("an oidc-client-ts SPA signs in, reads the profile and /userinfo, renews, revokes and signs out", { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${spa.origin}/`);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${worker.url}/authorize`)), page.evaluate(() => { void mgr.signinRedirect(); })]);
    assert.equal(await page.title(), "Sign in – edge-oidc");
    await page.locator("#username").fill(user.username);
    await page.locator("#password").fill(user.password);
    await Promise.all([page.waitForURL((u) => u.pathname === "/authorize" && !u.search), page.locator("#password").press("Enter")]);
    await page.getByRole("heading", { name: /Browser SPA wants to access your account/ }).waitFor();
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${spa.origin}/cb?`)), page.getByRole("button", { name: "Allow" }).click()]);

    // The callback redeemed the code at /token and read /userinfo, both from the page.
    const signedIn = await page.evaluate(async () => {
      const u = await window.signedIn;
      return { profile: u.profile, access_token: u.access_token, refresh_token: u.refresh_token, scope: u.scope };
    });
    assert.equal(signedIn.profile.sub, user.sub);
    assert.equal(signedIn.profile.email, `${user.username}@example.com`);
    assert.equal(signedIn.profile.name, "Sam Spa");
    assert.ok(signedIn.access_token && signedIn.refresh_token);

    // The page calls /userinfo itself: with an Authorization header, which
    // the browser sends only once the preflight allowed it.
    const info = await pageFetch(page, `${worker.url}/userinfo`, { headers: { authorization: `Bearer ${signedIn.access_token}` } });
    assert.equal(info.status, 200, JSON.stringify(info));
    assert.equal(info.body.email, signedIn.profile.email);

    // Silent renewal: oidc-client-ts uses the refresh token at /token.
    const renewed = await page.evaluate(async () => {
      const u = await mgr.signinSilent();
      return { access_token: u.access_token, refresh_token: u.refresh_token, sub: u.profile.sub };
    });
    assert.equal(renewed.sub, user.sub);
    assert.notEqual(renewed.access_token, signedIn.access_token);
    assert.notEqual(renewed.refresh_token, signedIn.refresh_token, "the refresh token rotated");

    // Revocation from the page; the page then reads why /userinfo refuses the token.
    await page.evaluate(() => mgr.revokeTokens(["access_token", "refresh_token"]));
    const refused = await pageFetch(page, `${worker.url}/userinfo`, { headers: { authorization: `Bearer ${renewed.access_token}` } }, "www-authenticate");
    assert.equal(refused.status, 401, JSON.stringify(refused));
    assert.equal(refused.body.error, "invalid_token");
    assert.match(refused.header, /^Bearer .*invalid_token/, "WWW-Authenticate is exposed");
    const reuse = await pageFetch(page, `${worker.url}/token`, {
      method: "POST", body: new URLSearchParams({ grant_type: "refresh_token", client_id: client.client_id, refresh_token: renewed.refresh_token }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, "invalid_grant", "errors are readable too");

    // Sign-out: RP-initiated logout back to the app.
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${spa.origin}/logged-out`)), page.evaluate(() => { void mgr.signoutRedirect(); })]);
    assert.equal(await page.evaluate(() => mgr.getUser()), null);
    const session = (await context.cookies(worker.url)).find((c) => c.name === "oidc_session");
    assert.equal(session, undefined, "the login session ended");
  } finally {
    await context.close();
  }
});

test("a page of an origin the client did not register cannot read /token", { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const body = new URLSearchParams({ grant_type: "refresh_token", client_id: client.client_id, refresh_token: "x.y" }).toString();
    const init = { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } };
    await page.goto(`${spa.origin}/`);
    const own = await pageFetch(page, `${worker.url}/token`, init);
    assert.deepEqual([own.status, own.body?.error], [400, "invalid_grant"], "the app's own origin reads the answer");

    await page.goto(`${foreign.origin}/`);
    const failed = page.waitForEvent("requestfailed", (r) => r.url() === `${worker.url}/token`);
    const theirs = await pageFetch(page, `${worker.url}/token`, init);
    assert.deepEqual(theirs, { error: "TypeError" }, "the browser keeps the answer from the page");
    assert.match((await failed).failure().errorText, /ERR_FAILED/);
  } finally {
    await context.close();
  }
});
