// Upgrading keeps what earlier releases stored. tests/fixtures/rust-grant-object
// is the state a release whose grant Durable Object was Rust left behind (made
// by its make.mjs at 8f5c9d5): a client, a user, the key ring and one grant
// stored as a structured-clone object, with its clean-up alarm long overdue.
// Its tokens last a century, so the fixture does not age.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker, ROOT } from "./helpers.mjs";
import { REDIRECT_URI, decodeJwt, exchange, obtainCode, token } from "./flow.mjs";
import { refresh, assertError, grantObject, grantId, sleep } from "./lifecycle.mjs";

const FIXTURE = path.join(ROOT, "tests/fixtures/rust-grant-object");

async function userinfo(worker, accessToken) {
  const res = await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

test("grants stored by the Rust grant object keep working: userinfo, refresh, reuse detection, alarm", async () => {
  const { vars, client, tokens } = JSON.parse(await readFile(path.join(FIXTURE, "issued.json"), "utf8"));
  const dir = await mkdtemp(path.join(tmpdir(), "edge-oidc-upgrade-"));
  await cp(path.join(FIXTURE, "state"), dir, { recursive: true });
  const w = await startWorker({ persistDir: dir, vars });
  try {
    // The overdue alarm fires on start. Reading the old grant, it must find
    // it alive and move on rather than delete it.
    await sleep(1500);
    const claims = await userinfo(w, tokens.access_token);
    assert.equal(claims.sub, decodeJwt(tokens.id_token).payload.sub);
    assert.equal(claims.name, "Legacy User");

    // The old refresh token rotates; the grant is then stored in the new form
    // and read back from it.
    const res = await refresh(w, client, tokens.refresh_token);
    assert.equal(res.status, 200, await res.clone().text());
    const rotated = await res.json();
    // Stored before amr and acr were kept: a password sign-in (the only
    // kind there was), with no acr (none could be asked for).
    const idToken = decodeJwt(rotated.id_token).payload;
    assert.deepEqual(idToken.amr, ["pwd"]);
    assert.equal(idToken.acr, undefined);
    assert.equal((await userinfo(w, rotated.access_token)).email, "legacy@example.com");
    const { ok } = await grantObject(w, grantId(rotated.refresh_token));
    assert.equal(ok.grant.client_id, client.client_id);

    // The superseded token is still recognised: reuse revokes the grant.
    await assertError(await refresh(w, client, tokens.refresh_token), 400, "invalid_grant");
    await assertError(await refresh(w, client, rotated.refresh_token), 400, "invalid_grant");
  } finally {
    await w.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

// tests/fixtures/stored-code: the state of the last release whose /authorize
// stored each grant with its code's hash (made by its make.mjs at c492610):
// one code never redeemed, and one grant redeemed into a refresh chain.
const STORED_CODE = path.join(ROOT, "tests/fixtures/stored-code");

test("codes and grants stored at /authorize by the release before sealed codes keep working", async () => {
  const { vars, client, user, pending, tokens } = JSON.parse(await readFile(path.join(STORED_CODE, "issued.json"), "utf8"));
  const dir = await mkdtemp(path.join(tmpdir(), "edge-oidc-upgrade-"));
  await cp(path.join(STORED_CODE, "state"), dir, { recursive: true });
  const w = await startWorker({ persistDir: dir, vars });
  try {
    assert.equal(pending.code.split(".")[1].length, 43, "a stored code's secret, not a sealed grant");
    // The stored code redeems once; its replay revokes what it issued.
    const redeemed = await exchange(w, client, pending);
    assert.equal((await userinfo(w, redeemed.access_token)).email, "stored@example.com");
    await assertError(await token(w, client, {
      grant_type: "authorization_code", code: pending.code, redirect_uri: REDIRECT_URI, code_verifier: pending.verifier,
    }), 400, "invalid_grant");
    await assertError(await refresh(w, client, redeemed.refresh_token), 400, "invalid_grant");

    // The grant redeemed before the upgrade: its tokens work and its chain rotates.
    assert.equal((await userinfo(w, tokens.access_token)).name, "Stored Code");
    const res = await refresh(w, client, tokens.refresh_token);
    assert.equal(res.status, 200, await res.clone().text());
    const rotated = await res.json();
    await assertError(await refresh(w, client, tokens.refresh_token), 400, "invalid_grant");
    await assertError(await refresh(w, client, rotated.refresh_token), 400, "invalid_grant");

    // And a code issued now, by the same key ring, is a sealed one.
    const fresh = await obtainCode(w, client, user);
    assert.ok(fresh.code.split(".")[1].length > 43);
    assert.ok((await exchange(w, client, fresh)).access_token);
  } finally {
    await w.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
