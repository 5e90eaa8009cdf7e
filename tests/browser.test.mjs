// A real person in a real browser: headless Debian chromium (playwright-core)
// signs in with the keyboard only, mistypes the password once, consents, and
// lands on the relying party's callback with a code that redeems.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWorker, startRp, launchChromium, CHROMIUM } from "./helpers.mjs";
import { registerClient, createUser, pkce, token } from "./flow.mjs";

const skip = CHROMIUM ? false : "no chromium (set CHROMIUM_PATH or install Debian's chromium)";

let worker, rp, rpUrl, browser;
before(async () => {
  if (skip) return;
  worker = await startWorker();
  // The relying party's redirect URI: a tiny local server.
  rp = await startRp();
  rpUrl = rp.url;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await rp?.close();
  await worker?.stop();
});

const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  return el ? { tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute("name"), value: el.value ?? null, text: el.textContent.trim() } : null;
});

test("keyboard-only sign-in with one wrong password, consent, back to the RP", { skip }, async () => {
  const client = await registerClient(worker, { redirect_uris: [rpUrl], client_name: "Browser RP" });
  const user = await createUser(worker, "browser-heidi");
  const { verifier, challenge } = pkce();
  const state = randomBytes(8).toString("hex");
  const params = new URLSearchParams({
    client_id: client.client_id, redirect_uri: rpUrl, response_type: "code", scope: "openid email",
    state, nonce: randomBytes(8).toString("hex"), code_challenge: challenge, code_challenge_method: "S256",
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const first = await page.goto(`${worker.url}/authorize?${params}`);
    assert.equal(first.status(), 200);
    assert.equal(await page.title(), "Sign in – edge-oidc");
    assert.match(await page.locator("main").innerText(), /to continue to Browser RP/);
    // The username field has the focus on load.
    assert.deepEqual(await focused(page).then((f) => f?.id), "username");

    // Username, Tab, a wrong password, Enter.
    await page.keyboard.type(user.username);
    await page.keyboard.press("Tab");
    assert.equal((await focused(page)).id, "password");
    await page.keyboard.type("not my password");
    await Promise.all([page.waitForLoadState("load"), page.waitForResponse((r) => r.request().method() === "POST"), page.keyboard.press("Enter")]);
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /Incorrect username or password/);
    assert.equal(await page.locator("#password").inputValue(), "", "the password is never echoed back");

    // The username is kept and the focus waits in the password field: type it, Enter.
    assert.equal(await page.locator("#username").inputValue(), user.username);
    assert.equal((await focused(page)).id, "password");
    await page.keyboard.type(user.password);
    await Promise.all([page.waitForURL((u) => u.pathname === "/authorize" && !u.search), page.keyboard.press("Enter")]);
    await page.getByRole("heading", { name: /Browser RP wants to access your account/ }).waitFor();

    // Consent: Tab to Allow, Enter.
    let f;
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press("Tab");
      f = await focused(page);
      if (f?.tag === "button") break;
    }
    assert.deepEqual([f.tag, f.name, f.value, f.text], ["button", "decision", "allow", "Allow"], "the first button reached by Tab is Allow");
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${rpUrl}?`)), page.keyboard.press("Enter")]);

    // At the RP, with code, state and iss.
    const landed = new URL(page.url());
    assert.equal(`${landed.origin}${landed.pathname}`, rpUrl);
    assert.equal(landed.searchParams.get("state"), state);
    assert.equal(landed.searchParams.get("iss"), worker.url);
    assert.equal(landed.searchParams.get("error"), null);
    const code = landed.searchParams.get("code");
    assert.ok(code);
    assert.match(await page.locator("body").innerText(), /callback ok/);

    // The browser holds an HttpOnly, SameSite=Lax, non-Secure session on http.
    const session = (await context.cookies(worker.url)).find((c) => c.name === "oidc_session");
    assert.ok(session);
    assert.deepEqual([session.httpOnly, session.sameSite, session.secure], [true, "Lax", false]);

    // And the code redeems.
    const res = await token(worker, client, { grant_type: "authorization_code", code, redirect_uri: rpUrl, code_verifier: verifier });
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok((await res.json()).id_token);
  } finally {
    await context.close();
  }
});

test("pages refuse to be framed", { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const client = await registerClient(worker, { redirect_uris: [rpUrl] });
    const { challenge } = pkce();
    const params = new URLSearchParams({
      client_id: client.client_id, redirect_uri: rpUrl, response_type: "code", scope: "openid",
      state: "s", code_challenge: challenge, code_challenge_method: "S256",
    });
    // An RP page (another origin) that frames the login page. The page is
    // served (200) but the browser must refuse to show it in the frame.
    await page.goto(`${rpUrl}?frame`);
    const served = page.waitForResponse((r) => r.url().startsWith(`${worker.url}/authorize`));
    await page.setContent(`<iframe id="f" src="${worker.url}/authorize?${params}"></iframe>`);
    assert.equal((await served).status(), 200);
    const frame = await (await page.locator("#f").elementHandle()).contentFrame();
    await frame.waitForLoadState("load");
    assert.doesNotMatch(frame.url(), /\/authorize/, `the frame shows ${frame.url()}`);
    assert.equal(await frame.locator("#username").count(), 0, "the login form must not render inside a frame");
  } finally {
    await context.close();
  }
});
