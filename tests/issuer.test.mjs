// The issuer and transport: with an https issuer every response (JSON,
// errors, pages, redirects, empty answers) carries Strict-Transport-Security;
// with ISSUER unset the issuer follows the request's host, and a host other
// than loopback gets a warning in the log, once per isolate.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { form, basicAuth, REDIRECT_URI } from "./flow.mjs";

const HSTS = "max-age=63072000; includeSubDomains";
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const NO_ISSUER = /ISSUER is not set/;

/** A worker whose log lines (console.* of the worker) are kept in `logs`. */
async function loggedWorker(vars = {}) {
  const logs = [];
  const worker = await startWorker({ vars, miniflare: { handleStructuredLogs: (l) => logs.push(l) } });
  return { worker, logs, warnings: () => logs.filter((l) => NO_ISSUER.test(l.message)) };
}

/** Requests of every kind of answer; `base` is the origin they are sent to. */
async function everyKindOfAnswer(worker, base = worker.url) {
  const go = (p, init = {}) => worker.mf.dispatchFetch(new URL(p, base), { redirect: "manual", ...init });
  const client = await (await go("/register", {
    method: "POST", headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ redirect_uris: [REDIRECT_URI], grant_types: ["authorization_code", "client_credentials"] }),
  })).json();
  return [
    ["discovery", await go("/.well-known/openid-configuration"), 200],
    ["jwks", await go("/jwks.json"), 200],
    ["token", await go("/token", form({ grant_type: "client_credentials" }, { authorization: basicAuth(client) })), 200],
    ["token error", await go("/token", { method: "POST" }), 400],
    ["userinfo 401", await go("/userinfo"), 401],
    ["revoke (empty 200)", await go("/revoke", form({ token: "x" }, { authorization: basicAuth(client) })), 200],
    ["404", await go("/nope"), 404],
    ["405", await go("/token"), 405],
    ["415", await go("/register", { method: "POST", headers: ADMIN, body: "x" }), 415],
    ["error page", await go("/authorize?client_id=nobody&response_type=code"), 400],
    ["login page", await go(`/authorize?${new URLSearchParams({ client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: "code", scope: "openid" })}`), 200],
    ["redirect", await go(`/authorize?${new URLSearchParams({ client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: "code", scope: "openid", prompt: "none" })}`), 302],
    ["logout page", await go("/logout"), 200],
    ["204", await go(`/register/${client.client_id}`, { method: "DELETE", headers: ADMIN }), 204],
  ];
}

test("an https ISSUER: every response carries Strict-Transport-Security", async () => {
  const { worker, warnings } = await loggedWorker({ ISSUER: "https://id.example.com" });
  try {
    for (const [what, res, status] of await everyKindOfAnswer(worker)) {
      await res.arrayBuffer();
      assert.equal(res.status, status, what);
      assert.equal(res.headers.get("strict-transport-security"), HSTS, what);
    }
    assert.deepEqual(warnings(), [], "ISSUER is set: no warning");
  } finally {
    await worker.stop();
  }
});

test("an http issuer (local development): no Strict-Transport-Security, no warning", async () => {
  const { worker, warnings } = await loggedWorker();
  try {
    for (const [what, res] of await everyKindOfAnswer(worker)) {
      await res.arrayBuffer();
      assert.equal(res.headers.get("strict-transport-security"), null, what);
    }
    for (const host of ["http://localhost:8787", "http://[::1]:8787"]) {
      const doc = await (await worker.mf.dispatchFetch(`${host}/.well-known/openid-configuration`)).json();
      assert.equal(doc.issuer, host, "the issuer follows the request");
    }
    assert.deepEqual(warnings(), [], "loopback hosts are local development");
  } finally {
    await worker.stop();
  }
});

test("ISSUER unset behind a public host: the issuer follows Host, with a warning once per isolate", async () => {
  const { worker, warnings } = await loggedWorker();
  try {
    for (const host of ["https://id.example.com", "https://id.example.com", "https://other.example.net"]) {
      const res = await worker.mf.dispatchFetch(`${host}/.well-known/openid-configuration`);
      assert.equal((await res.json()).issuer, host);
      assert.equal(res.headers.get("strict-transport-security"), HSTS, "an https issuer, even from Host");
    }
    const warned = warnings();
    assert.equal(warned.length, 1, JSON.stringify(warned));
    assert.equal(warned[0].level, "warn");
    assert.match(warned[0].message, /https:\/\/id\.example\.com/);
    assert.match(warned[0].message, /Set ISSUER under \[vars\] in wrangler\.toml/);
  } finally {
    await worker.stop();
  }
});

test("refused settings: the 500 still carries Strict-Transport-Security over https", async () => {
  const worker = await startWorker({ vars: { ACCESS_TOKEN_TTL: "1h" } });
  try {
    const res = await worker.mf.dispatchFetch("https://id.example.com/jwks.json");
    assert.equal(res.status, 500);
    assert.match((await res.json()).error_description, /ACCESS_TOKEN_TTL/);
    assert.equal(res.headers.get("strict-transport-security"), HSTS);
    const local = await worker.fetch("/jwks.json");
    await local.arrayBuffer();
    assert.equal(local.headers.get("strict-transport-security"), null);
  } finally {
    await worker.stop();
  }
});
