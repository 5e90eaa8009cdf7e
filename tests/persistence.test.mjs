// State survives a restart: clients and users (KV) and the signing keys (the
// key-ring Durable Object) are still there when a new worker starts on the
// same persisted state.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { registerClient, createUser, obtainCode, exchange, basicAuth, form } from "./flow.mjs";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function getJson(worker, p, headers = admin) {
  const res = await worker.fetch(p, { headers });
  const text = await res.text();
  assert.equal(res.status, 200, `${p}: ${text}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json\b/);
  return JSON.parse(text);
}

const kids = async (worker) => (await getJson(worker, "/jwks.json", {})).keys.map((k) => k.kid).sort();

test("clients, users and signing keys survive a restart on the same state directory", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "edge-oidc-persist-"));
  try {
    let worker = await startWorker({ persistDir: dir });
    let client, user, keysBefore, userBefore, refreshToken;
    try {
      client = await registerClient(worker, { client_name: "Survivor" });
      user = await createUser(worker, "persisted-user", { name: "Persisted" });
      userBefore = await getJson(worker, `/admin/users/${user.username}`);
      keysBefore = await kids(worker);
      assert.equal(keysBefore.length, 3);
      const tokens = await exchange(worker, client, await obtainCode(worker, client, user));
      refreshToken = tokens.refresh_token;
      assert.ok(refreshToken, "offline_access yields a refresh token");
    } finally {
      await worker.stop();
    }

    worker = await startWorker({ persistDir: dir });
    try {
      // The client (KV) with the same metadata, still able to authenticate.
      const c = await getJson(worker, `/register/${client.client_id}`);
      assert.equal(c.client_id, client.client_id);
      assert.equal(c.client_name, "Survivor");
      assert.deepEqual(c.redirect_uris, client.redirect_uris);
      assert.equal(c.client_id_issued_at, client.client_id_issued_at);
      // The user (KV), same sub, and the password still logs in.
      assert.deepEqual(await getJson(worker, `/admin/users/${user.username}`), userBefore);
      // The signing keys (Durable Object storage): same kids.
      assert.deepEqual(await kids(worker), keysBefore);
      // The grant (Durable Object) too: the refresh token still works.
      const res = await worker.fetch("/token", form(
        { grant_type: "refresh_token", refresh_token: refreshToken },
        { authorization: basicAuth(client) },
      ));
      assert.equal(res.status, 200, await res.clone().text());
      assert.ok((await res.json()).access_token);
      const again = await exchange(worker, client, await obtainCode(worker, client, user));
      assert.ok(again.id_token);
    } finally {
      await worker.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("without a persistDir every worker starts empty", async () => {
  let worker = await startWorker();
  let client, keysBefore;
  try {
    client = await registerClient(worker);
    keysBefore = await kids(worker);
  } finally {
    await worker.stop();
  }
  worker = await startWorker();
  try {
    const res = await worker.fetch(`/register/${client.client_id}`, { headers: admin });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error, "invalid_token");
    assert.notDeepEqual(await kids(worker), keysBefore);
  } finally {
    await worker.stop();
  }
});
