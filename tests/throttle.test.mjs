// Sign-in throttling (OWASP ASVS 2.2.1, RFC 6819 §4.4.3.6): failures are
// counted per account and per client address in Durable Objects; after five
// failures an account's next attempt waits (1 s, 2 s, 4 s …), refused with
// 429 + Retry-After and no password check, and the owner gets in after the
// wait. Unknown usernames are throttled exactly like known ones.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./helpers.mjs";
import { registerClient, createUser, authorize, authParams, field, form, Jar } from "./flow.mjs";

let worker, client;
before(async () => {
  worker = await startWorker();
  client = await registerClient(worker);
});
after(async () => { await worker?.stop(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A fresh login form (a new browser), ready to be posted from `address`. */
async function loginForm() {
  const jar = new Jar();
  const page = await authorize(worker, jar, authParams(client).params);
  const html = await page.text();
  assert.equal(field(html, "step"), "login");
  return { jar, html };
}

/** One sign-in attempt from `address`; returns the response (body read into `.html`). */
async function attempt(username, password, address = "198.51.100.7", prepared) {
  const { jar, html } = prepared ?? await loginForm();
  const body = { step: "login", handle: field(html, "handle"), csrf: field(html, "csrf"), username, password };
  const res = jar.take(await worker.fetch("/authorize", form(body, { cookie: jar.header(), "cf-connecting-ip": address })));
  res.html = await res.text();
  return res;
}

const statuses = async (n, username, password, address) => {
  const out = [];
  for (let i = 0; i < n; i++) out.push((await attempt(username, password, address)).status);
  return out;
};

test("five failures, then a wait refused with 429 + Retry-After; after it the owner signs in", async () => {
  const user = await createUser(worker);
  assert.deepEqual(await statuses(5, user.username, "wrong password", "198.51.100.1"), [401, 401, 401, 401, 401]);
  // During the wait even the right password is refused, unchecked.
  const refused = await attempt(user.username, user.password, "198.51.100.1");
  assert.equal(refused.status, 429);
  const wait = Number(refused.headers.get("retry-after"));
  assert.ok(wait >= 1 && wait <= 2, `Retry-After ${wait}: at least the first wait of 1 s`);
  assert.match(refused.html, /Too many sign-in attempts\. Try again in \d+ seconds?\./);
  assert.equal(field(refused.html, "step"), "login", "the form comes back for the next try");
  assert.equal(refused.headers.getSetCookie().some((c) => c.startsWith("oidc_session=") && !/max-age=0/i.test(c)), false);
  await sleep(wait * 1000 + 100);
  const ok = await attempt(user.username, user.password, "198.51.100.1");
  assert.equal(ok.status, 200, "signed in: the consent page");
  assert.equal(field(ok.html, "step"), "consent");
  // Success reset the count: five more failures are allowed again.
  assert.deepEqual(await statuses(5, user.username, "wrong again", "198.51.100.1"), [401, 401, 401, 401, 401]);
  assert.equal((await attempt(user.username, "wrong again", "198.51.100.1")).status, 429);
});

test("the waits double: the attempt after the wait that fails makes the next wait longer", async () => {
  const user = await createUser(worker);
  await statuses(5, user.username, "wrong", "198.51.100.2");
  let res = await attempt(user.username, "wrong", "198.51.100.2");
  assert.equal(res.status, 429);
  await sleep(Number(res.headers.get("retry-after")) * 1000 + 100);
  assert.equal((await attempt(user.username, "wrong", "198.51.100.2")).status, 401);
  res = await attempt(user.username, "wrong", "198.51.100.2");
  assert.equal(res.status, 429);
  assert.ok(Number(res.headers.get("retry-after")) >= 2, `second wait ${res.headers.get("retry-after")}`);
});

test("an unknown username is throttled exactly like a known one", async () => {
  const known = await createUser(worker);
  const a = await statuses(7, known.username, "wrong", "198.51.100.3");
  const b = await statuses(7, "no-such-user", "wrong", "198.51.100.4");
  assert.deepEqual(a, [401, 401, 401, 401, 401, 429, 429]);
  assert.deepEqual(b, a);
});

test("usernames are counted without case", async () => {
  const user = await createUser(worker);
  for (let i = 0; i < 5; i++) {
    const spelling = i % 2 ? user.username.toUpperCase() : user.username;
    assert.equal((await attempt(spelling, "wrong", "198.51.100.5")).status, 401);
  }
  assert.equal((await attempt(user.username.toUpperCase(), "wrong", "198.51.100.5")).status, 429);
});

test("concurrent guesses cannot slip past the count", async () => {
  const user = await createUser(worker);
  const forms = await Promise.all(Array.from({ length: 12 }, loginForm));
  const results = await Promise.all(forms.map((f) => attempt(user.username, "wrong", "198.51.100.6", f)));
  const evaluated = results.filter((r) => r.status === 401).length;
  assert.equal(evaluated, 5, results.map((r) => r.status).join(","));
  assert.equal(results.filter((r) => r.status === 429).length, 7);
});

test("one address cannot spray guesses over many accounts; another address is not held back", async () => {
  const spray = "203.0.113.50";
  for (let i = 0; i < 20; i++) assert.equal((await attempt(`victim${i}`, "Winter2026!", spray)).status, 401, `attempt ${i}`);
  const user = await createUser(worker);
  const refused = await attempt(user.username, user.password, spray);
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  const elsewhere = await attempt(user.username, user.password, "192.0.2.77");
  assert.equal(field(elsewhere.html, "step"), "consent", "the owner, from their own address, signs in");
});
