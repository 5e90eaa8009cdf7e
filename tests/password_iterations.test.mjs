// PASSWORD_ITERATIONS: new password hashes use the setting, and every stored
// hash keeps verifying with its own count when the setting changes (the
// same state directory, restarted under another value). The counts are read
// from the user records in KV: the admin API never shows the hash.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { createUser, exchange, obtainCode, registerClient } from "./flow.mjs";

/** The iteration count stored in `username`'s record in KV. */
async function storedIterations(worker, username) {
  const kv = await worker.mf.getKVNamespace("OIDC_KV");
  return (await kv.get(`user:${username}`, "json")).password.iterations;
}

/** The whole sign-in and a code exchange: throws unless the password is accepted. */
async function signsIn(worker, client, user) {
  const tokens = await exchange(worker, client, await obtainCode(worker, client, user));
  assert.ok(tokens.id_token);
}

async function setPassword(worker, user, password) {
  const res = await worker.fetch(`/admin/users/${user.username}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ password }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.ok(!/iterations|pbkdf2|salt|hash/.test(text), text);
  return { ...user, password };
}

test("hashes keep their own count across a change of PASSWORD_ITERATIONS; new ones use the setting", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "edge-oidc-iterations-"));
  const under = async (iterations, run) => {
    const worker = await startWorker({ persistDir: dir, vars: iterations ? { PASSWORD_ITERATIONS: iterations } : {} });
    try { await run(worker); } finally { await worker.stop(); }
  };
  try {
    let client, old, fewer;
    await under(null, async (w) => {
      client = await registerClient(w);
      old = await createUser(w, "made-at-default");
      assert.equal(await storedIterations(w, old.username), 100000, "the default");
    });
    await under("20000", async (w) => {
      await signsIn(w, client, old);
      // Signing in does not rewrite the record (KV cannot compare-and-set: a
      // stale copy written back could undo a password change made elsewhere).
      assert.equal(await storedIterations(w, old.username), 100000, "a stored hash keeps its count");
      fewer = await createUser(w, "made-at-20000");
      assert.equal(await storedIterations(w, fewer.username), 20000);
      await signsIn(w, client, fewer);
      // A password set again is hashed under the setting.
      old = await setPassword(w, old, "a new password at 20000");
      assert.equal(await storedIterations(w, old.username), 20000);
      await signsIn(w, client, old);
    });
    await under("100000", async (w) => {
      await signsIn(w, client, fewer);
      await signsIn(w, client, old);
      assert.equal(await storedIterations(w, fewer.username), 20000);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a PASSWORD_ITERATIONS outside 10000 to 100000 is refused", async () => {
  for (const bad of ["5000", "200000"]) {
    const worker = await startWorker({ vars: { PASSWORD_ITERATIONS: bad } });
    try {
      const res = await worker.fetch("/.well-known/openid-configuration");
      assert.equal(res.status, 500, "a malformed setting is refused, not defaulted");
      assert.equal((await res.json()).error_description, "PASSWORD_ITERATIONS must be a whole number from 10000 to 100000");
    } finally {
      await worker.stop();
    }
  }
});
