// The code flow end to end through the forms, as the shared flow helpers
// drive it: login, consent, code, tokens, userinfo.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./helpers.mjs";
import { registerClient, createUser, obtainCode, exchange, decodeJwt, authorize, Jar } from "./flow.mjs";

let worker;
before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

test("login, consent, code, tokens, userinfo", async () => {
  const client = await registerClient(worker);
  const user = await createUser(worker, "flow-alice", { name: "Alice" });
  const got = await obtainCode(worker, client, user);
  assert.equal(got.state, got.params.state);
  assert.equal(got.location.searchParams.get("iss"), worker.url);
  const tokens = await exchange(worker, client, got);
  assert.equal(tokens.token_type, "Bearer");
  assert.equal(decodeJwt(tokens.access_token).header.typ, "at+jwt");
  assert.equal(decodeJwt(tokens.id_token).payload.nonce, got.params.nonce);
  const info = await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(info.status, 200);
  assert.deepEqual(await info.json(), { sub: user.sub, email: "flow-alice@example.com", email_verified: true, name: "Alice" });

  // Same browser, same scopes: straight back with a code (prompt=none works).
  const again = await authorize(worker, got.jar, { ...got.params, prompt: "none" });
  assert.equal(again.status, 302);
  assert.ok(new URL(again.headers.get("location")).searchParams.get("code"));
  // Another browser has no session.
  const other = await authorize(worker, new Jar(), { ...got.params, prompt: "none" });
  assert.equal(new URL(other.headers.get("location")).searchParams.get("error"), "login_required");
});
