// Grant cleanup: each grant's Durable Object sets an alarm for the moment
// nothing in it can be used any more (Grant::ends_at) and then deletes its
// storage. Observed by talking to the object directly: {"ok":...} while
// alive, {"refused":{"refusal":"expired"|"revoked"}} before cleanup,
// {"refused":{"refusal":"not_found"}} once deleted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker } from "./helpers.mjs";
import { registerClient, createUser, obtainCode, exchange, decodeJwt, REDIRECT_URI } from "./flow.mjs";
import { signIn, refresh, revoke, assertError, userinfoStatus, grantObject, grantId, eventually, clientPost, sleep } from "./lifecycle.mjs";

const state = async (w, gid) => {
  const r = await grantObject(w, gid);
  return r.ok ? "alive" : r.refused.refusal;
};
/** The grant objects' SQLite files under a persisted state directory. */
async function grantFiles(dir) {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((e) => e.includes("GrantObject") && e.endsWith(".sqlite") && !e.endsWith("metadata.sqlite"));
}
const deleted = (w, gid) => eventually(async () => (await state(w, gid)) === "not_found");

async function withWorker(vars, fn) {
  const w = await startWorker({ vars });
  try { await fn(w); } finally { await w.stop(); }
}

test("the grant object answers get with the grant while alive", async () => {
  await withWorker({}, async (w) => {
    const { client, user, tokens } = await signIn(w);
    const gid = grantId(tokens.refresh_token);
    assert.equal(decodeJwt(tokens.access_token).payload.gid, gid);
    const { ok } = await grantObject(w, gid);
    assert.equal(ok.grant.client_id, client.client_id);
    assert.equal(ok.grant.sub, user.sub);
    assert.equal(ok.grant.revoked, false);
    // An id nobody created is simply not found.
    const ns = await w.mf.getDurableObjectNamespace("GRANTS");
    assert.equal(await state(w, ns.newUniqueId().toString()), "not_found");
  });
});

test("a code stores nothing until it is redeemed: refused or expired, it leaves no grant", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "edge-oidc-codes-"));
  const w = await startWorker({ persistDir: dir, vars: { CODE_TTL: "2" } });
  try {
    const client = await registerClient(w);
    const user = await createUser(w);
    const [kept, lapsed] = [await obtainCode(w, client, user), await obtainCode(w, client, user)];
    assert.deepEqual(await grantFiles(dir), [], "/authorize reached no grant object");
    const redeem = (got, verifier = got.verifier) => clientPost(w, "/token", client, {
      grant_type: "authorization_code", code: got.code, redirect_uri: REDIRECT_URI, code_verifier: verifier,
    });
    // Refused before it is consumed: no grant is made, and the code still works.
    await assertError(await redeem(kept, "x".repeat(43)), 400, "invalid_grant");
    assert.equal(await state(w, grantId(kept.code)), "not_found");
    const tokens = await (await redeem(kept)).json();
    assert.equal(await state(w, grantId(kept.code)), "alive");
    assert.equal(await userinfoStatus(w, tokens.access_token), 200);
    // Expired: refused, and nothing was ever stored for it.
    await sleep(2100);
    await assertError(await redeem(lapsed), 400, "invalid_grant");
    assert.equal(await state(w, grantId(lapsed.code)), "not_found");
  } finally {
    await w.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a redeemed grant without refresh token lives as long as its access token, then is deleted", async () => {
  // CODE_TTL long, so only the access token's expiry can end the grant.
  await withWorker({ CODE_TTL: "600", ACCESS_TOKEN_TTL: "2" }, async (w) => {
    const client = await registerClient(w, { grant_types: ["authorization_code"] });
    const got = await obtainCode(w, client, await createUser(w));
    const tokens = await exchange(w, client, got);
    assert.equal(tokens.refresh_token, undefined);
    const gid = grantId(got.code);
    assert.equal(await userinfoStatus(w, tokens.access_token), 200);
    assert.ok(await deleted(w, gid), "the redeemed grant was never deleted (the used code's CODE_TTL must not keep it)");
    assert.equal(await userinfoStatus(w, tokens.access_token), 401);
  });
});

test("a code redeemed into a refresh chain outlives the alarm set for the code's expiry", async () => {
  // The alarm is set for the code's end when the grant is made; redeeming
  // moves the end later without touching the alarm, which then moves itself.
  await withWorker({ CODE_TTL: "2" }, async (w) => {
    const { client, tokens } = await signIn(w);
    const gid = grantId(tokens.refresh_token);
    await new Promise((r) => setTimeout(r, 4500)); // past the code's end + the alarm's 1 s margin
    assert.equal(await state(w, gid), "alive");
    assert.equal((await refresh(w, client, tokens.refresh_token)).status, 200);
  });
});

test("a redeemed grant with a refresh chain is deleted after the chain and its access tokens expire", async () => {
  await withWorker({ ACCESS_TOKEN_TTL: "2", REFRESH_TOKEN_ABSOLUTE_TTL: "3" }, async (w) => {
    const { client, tokens } = await signIn(w);
    const gid = grantId(tokens.refresh_token);
    // A refresh moves the end to its new access token's expiry when that is later.
    const next = await refresh(w, client, tokens.refresh_token);
    assert.equal(next.status, 200);
    const { refresh_token } = await next.json();
    assert.ok(await deleted(w, gid), "the expired grant was never deleted");
    await assertError(await refresh(w, client, refresh_token), 400, "invalid_grant");
  });
});

test("an idle refresh chain's grant is deleted after its idle lifetime, long before its absolute one", async () => {
  await withWorker({ ACCESS_TOKEN_TTL: "1", REFRESH_TOKEN_IDLE_TTL: "2", REFRESH_TOKEN_ABSOLUTE_TTL: "600" }, async (w) => {
    const { client, tokens } = await signIn(w);
    const gid = grantId(tokens.refresh_token);
    assert.ok(await deleted(w, gid), "the idle grant was kept until its absolute end");
    await assertError(await refresh(w, client, tokens.refresh_token), 400, "invalid_grant");
  });
});

test("an access token outliving the refresh chain keeps the grant until it expires", async () => {
  await withWorker({ ACCESS_TOKEN_TTL: "6", REFRESH_TOKEN_ABSOLUTE_TTL: "1" }, async (w) => {
    const { client, tokens } = await signIn(w);
    const gid = grantId(tokens.refresh_token);
    // The chain is over ... (each success rotates: follow the chain, or reuse would revoke)
    let rt = tokens.refresh_token;
    assert.ok(await eventually(async () => {
      const res = await refresh(w, client, rt);
      const body = await res.json();
      if (res.status === 200) rt = body.refresh_token;
      else assert.match(body.error_description, /expired/);
      return res.status === 400;
    }));
    // ... but the access token is not, and the grant must still vouch for it.
    const exp = decodeJwt(tokens.access_token).payload.exp;
    if (Math.floor(Date.now() / 1000) < exp - 1) {
      assert.equal(await state(w, gid), "alive");
      assert.equal(await userinfoStatus(w, tokens.access_token), 200);
    }
    assert.ok(await deleted(w, gid));
  });
});

test("a revoked grant is deleted promptly, and its tokens stay refused afterwards", async () => {
  await withWorker({}, async (w) => {
    const { client, tokens } = await signIn(w);
    const keep = await signIn(w, { client });
    const gid = grantId(tokens.refresh_token);
    assert.equal((await revoke(w, client, tokens.refresh_token)).status, 200);
    assert.ok(["revoked", "not_found"].includes(await state(w, gid)));
    assert.ok(await deleted(w, gid), "the revoked grant was never deleted");
    // Absent and revoked are refused alike: the unexpired access token stays dead.
    assert.equal(await userinfoStatus(w, tokens.access_token), 401);
    await assertError(await refresh(w, client, tokens.refresh_token), 400, "invalid_grant");
    // The other grant (default lifetimes) was not touched by any of this.
    assert.equal(await state(w, grantId(keep.tokens.refresh_token)), "alive");
  });
});

test("grants revoked by refresh token reuse or code replay are deleted promptly too", async () => {
  await withWorker({}, async (w) => {
    const { client, tokens } = await signIn(w);
    const next = await (await refresh(w, client, tokens.refresh_token)).json();
    await assertError(await refresh(w, client, tokens.refresh_token), 400, "invalid_grant");
    assert.ok(await deleted(w, grantId(tokens.refresh_token)));
    await assertError(await refresh(w, client, next.refresh_token), 400, "invalid_grant");

    const got = await obtainCode(w, client, await createUser(w));
    await exchange(w, client, got);
    await assert.rejects(exchange(w, client, got), /invalid_grant/);
    assert.ok(await deleted(w, grantId(got.code)));
  });
});
