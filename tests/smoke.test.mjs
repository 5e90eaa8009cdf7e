import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./helpers.mjs";

let worker;
before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

test("discovery document answers 200 JSON with an issuer", async () => {
  const res = await worker.fetch("/.well-known/openid-configuration");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body = await res.json();
  assert.equal(typeof body.issuer, "string");
  assert.ok(body.issuer.length > 0);
});
