// Provider metadata (OIDC Discovery 1.0 §3, RFC 8414 §2): both well-known
// paths, the issuer (request origin or ISSUER), and what is advertised.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./helpers.mjs";

const PATHS = [
  "/.well-known/openid-configuration",
  "/.well-known/oauth-authorization-server",
  "/.well-known/openid-configuration/",
  "/.well-known/oauth-authorization-server/",
];

// design.md's endpoint table, as metadata member → path under the issuer.
const ENDPOINTS = {
  authorization_endpoint: "/authorize",
  token_endpoint: "/token",
  userinfo_endpoint: "/userinfo",
  jwks_uri: "/jwks.json",
  registration_endpoint: "/register",
  revocation_endpoint: "/revoke",
  introspection_endpoint: "/introspect",
  end_session_endpoint: "/logout",
};

/** GET a discovery path; asserts a cacheable 200 JSON answer, returns the body. */
async function metadata(worker, path) {
  const res = await worker.fetch(path);
  assert.equal(res.status, 200, path);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json\b/, path);
  assert.match(res.headers.get("cache-control") ?? "", /max-age=\d+/, path);
  return res.json();
}

const sorted = (a) => [...a].sort();

let worker;
before(async () => { worker = await startWorker(); });
after(async () => { await worker?.stop(); });

test("both well-known paths and their trailing-slash variants serve the same document", async () => {
  const docs = [];
  for (const p of PATHS) docs.push(await metadata(worker, p));
  for (const d of docs.slice(1)) assert.deepEqual(d, docs[0]);
});

test("without ISSUER the issuer is the request origin and every endpoint hangs off it", async () => {
  const m = await metadata(worker, PATHS[0]);
  assert.equal(m.issuer, worker.url.replace(/\/$/, ""));
  for (const [member, path] of Object.entries(ENDPOINTS)) {
    assert.equal(m[member], `${m.issuer}${path}`, member);
  }
});

test("the issuer follows the origin the request came in on", async () => {
  const res = await worker.mf.dispatchFetch("http://id.localhost:1234/.well-known/openid-configuration");
  assert.equal(res.status, 200);
  const m = await res.json();
  assert.equal(m.issuer, "http://id.localhost:1234");
  assert.equal(m.token_endpoint, "http://id.localhost:1234/token");
});

test("advertised capabilities", async () => {
  const m = await metadata(worker, PATHS[1]);
  assert.deepEqual(m.response_types_supported, ["code"]);
  assert.deepEqual(sorted(m.grant_types_supported), ["authorization_code", "client_credentials", "refresh_token"]);
  assert.deepEqual(sorted(m.token_endpoint_auth_methods_supported), ["client_secret_basic", "client_secret_post", "none"]);
  assert.deepEqual(m.code_challenge_methods_supported, ["S256"]);
  assert.deepEqual(sorted(m.id_token_signing_alg_values_supported), ["ES256", "EdDSA", "RS256"]);
  assert.deepEqual(m.subject_types_supported, ["public"]);
  assert.equal(m.authorization_response_iss_parameter_supported, true);
  for (const s of ["openid", "profile", "email", "offline_access"]) assert.ok(m.scopes_supported.includes(s), s);
  for (const c of ["sub", "iss", "aud", "exp", "iat", "name", "email", "email_verified", "amr", "acr"]) {
    assert.ok(m.claims_supported.includes(c), c);
  }
  assert.deepEqual(m.acr_values_supported, ["phr"]);
});

test("POST (and other methods) → 405 method_not_allowed", async () => {
  for (const p of PATHS.slice(0, 2)) {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const res = await worker.fetch(p, { method });
      assert.equal(res.status, 405, `${method} ${p}`);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json\b/);
      assert.equal((await res.json()).error, "method_not_allowed");
    }
  }
});

test("with ISSUER set, the issuer and every endpoint hang off it, whatever the request origin", async () => {
  const w = await startWorker({ vars: { ISSUER: "https://id.example.com/" } });
  try {
    for (const p of PATHS) {
      const m = await metadata(w, p);
      assert.equal(m.issuer, "https://id.example.com", p);
      for (const [member, path] of Object.entries(ENDPOINTS)) {
        assert.equal(m[member], `https://id.example.com${path}`, `${p} ${member}`);
      }
    }
  } finally {
    await w.stop();
  }
});

test("a document answered again from the isolate's copy is the same answer, with no internal header", async () => {
  const w = await startWorker({ vars: { ISSUER: "https://op.example" } });
  try {
    for (const path of ["/.well-known/openid-configuration", "/jwks.json"]) {
      const answers = [];
      for (let i = 0; i < 3; i++) {
        const res = await w.fetch(path);
        answers.push({ status: res.status, headers: [...res.headers].filter(([k]) => k !== "date"), body: await res.text() });
      }
      assert.equal(answers[0].status, 200);
      assert.deepEqual(answers[1], answers[0], path);
      assert.deepEqual(answers[2], answers[0], path);
      const names = answers[0].headers.map(([k]) => k);
      assert.ok(!names.some((k) => k.startsWith("x-edge-oidc")), `${path}: ${names}`);
      for (const h of ["cache-control", "content-type", "access-control-allow-origin", "strict-transport-security", "x-content-type-options"]) {
        assert.ok(names.includes(h), `${path} keeps ${h}`);
      }
    }
  } finally {
    await w.stop();
  }
});
