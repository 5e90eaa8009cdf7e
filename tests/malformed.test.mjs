// Malformed requests get precise 4xx answers and never a 5xx: broken JSON,
// wrong content types, oversized and non-UTF-8 bodies, unknown paths, wrong
// methods, over-long identifiers, and a batch of garbage at every endpoint.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { registerClient, createUser, basicAuth } from "./flow.mjs";

const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const JSON_CT = { "content-type": "application/json" };
const FORM_CT = { "content-type": "application/x-www-form-urlencoded" };

let worker, client, user;
before(async () => {
  worker = await startWorker();
  client = await registerClient(worker, { grant_types: ["authorization_code", "refresh_token", "client_credentials"] });
  user = await createUser(worker, "malformed-user");
});
after(async () => { await worker?.stop(); });

/**
 * The body-taking endpoints: `json` ones take JSON only, `form` ones a form
 * (and JSON too when `alsoJson`). Each carries the credentials it needs to
 * get as far as reading its body.
 */
const endpoints = () => [
  { kind: "json", method: "POST", path: "/register", headers: ADMIN },
  { kind: "json", method: "POST", path: "/admin/users", headers: ADMIN },
  { kind: "json", method: "PUT", path: `/register/${client.client_id}`, headers: ADMIN },
  { kind: "json", method: "PUT", path: `/admin/users/${user.username}`, headers: ADMIN },
  { kind: "form", alsoJson: true, method: "POST", path: "/token", headers: { authorization: basicAuth(client) } },
  { kind: "form", alsoJson: true, method: "POST", path: "/revoke", headers: { authorization: basicAuth(client) } },
  { kind: "form", alsoJson: true, method: "POST", path: "/introspect", headers: { authorization: basicAuth(client) } },
  { kind: "form", alsoJson: false, method: "POST", path: "/authorize", headers: {} },
  { kind: "json", method: "POST", path: "/admin/registration-tokens", headers: ADMIN },
];

const call = (ep, contentType, body) => worker.fetch(ep.path, {
  method: ep.method,
  headers: { ...ep.headers, ...(contentType ? { "content-type": contentType } : {}) },
  body,
});

/** Asserts a JSON error answer with `status` and `error`. */
async function expectError(res, status, error, label) {
  const text = await res.text();
  assert.equal(res.status, status, `${label}: ${text.slice(0, 300)}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json\b/, label);
  const body = JSON.parse(text);
  assert.equal(body.error, error, `${label}: ${text}`);
  assert.equal(typeof body.error_description, "string", label);
}

const label = (ep, what) => `${ep.method} ${ep.path.replace(/\/[^/]{20,}$/, "/…")} ${what}`;

test("broken JSON → 400 invalid_request", async () => {
  const broken = ["{", '{"a":}', '{"a":1,}', "", "nul", "{'a':1}", '{"a":"\\x"}', "[1 2]", '{"a":1}}'];
  for (const ep of endpoints().filter((e) => e.kind === "json" || e.alsoJson)) {
    for (const body of broken) {
      await expectError(await call(ep, "application/json", body), 400, "invalid_request", label(ep, JSON.stringify(body)));
    }
  }
});

test("wrong content type → 415", async () => {
  for (const ep of endpoints()) {
    const wrong = ["text/plain", "application/xml", "multipart/form-data; boundary=x", null,
      ep.kind === "json" ? "application/x-www-form-urlencoded" : ep.alsoJson ? "application/jsonx" : "application/json"];
    for (const ct of wrong) {
      await expectError(await call(ep, ct, '{"a":"b"}'), 415, "invalid_request", label(ep, String(ct)));
    }
  }
});

test("media type parameters and case are accepted (not 415)", async () => {
  for (const ep of endpoints().filter((e) => e.kind === "json")) {
    const res = await call(ep, "Application/JSON; charset=utf-8", "[]");
    assert.equal(res.status, 400, label(ep, await res.text()));
  }
  const res = await call(endpoints()[4], "application/x-www-form-urlencoded; charset=UTF-8", "grant_type=nope");
  await expectError(res, 400, "unsupported_grant_type", "/token with charset");
});

/**
 * fetch, retried when the connection breaks while the body is still being
 * written: a body whose Content-Length is over the limit is refused unread,
 * and miniflare's loopback HTTP connection may close before undici has
 * written all of it (EPIPE). The answer, once one arrives, is what counts.
 */
async function fetchUnread(path, makeInit) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await worker.fetch(path, makeInit());
    } catch (e) {
      if (attempt >= 5 || !["EPIPE", "ECONNRESET", "UND_ERR_SOCKET"].includes(e.cause?.code)) {
        throw new Error(`${path}: ${e.message} (${e.cause?.code}: ${e.cause?.message})`);
      }
    }
  }
}

test("a 100 KiB body → 413, with or without Content-Length", async () => {
  const big = "a".repeat(100 * 1024);
  for (const ep of endpoints()) {
    const ct = ep.kind === "json" ? "application/json" : "application/x-www-form-urlencoded";
    const body = ep.kind === "json" ? JSON.stringify({ client_name: big }) : `x=${big}`;
    const headers = { ...ep.headers, "content-type": ct };
    const sized = await fetchUnread(ep.path, () => ({ method: ep.method, headers, body }));
    await expectError(sized, 413, "invalid_request", label(ep, "100 KiB"));
    const stream = () => new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(body)); c.close(); } });
    const chunked = await fetchUnread(ep.path, () => ({ method: ep.method, headers, body: stream(), duplex: "half" }));
    await expectError(chunked, 413, "invalid_request", label(ep, "100 KiB chunked"));
  }
});

test("invalid UTF-8 → 400 invalid_request", async () => {
  for (const ep of endpoints()) {
    const ct = ep.kind === "json" ? "application/json" : "application/x-www-form-urlencoded";
    await expectError(await call(ep, ct, Buffer.from([0xff, 0xfe])), 400, "invalid_request", label(ep, "bytes ff fe"));
    if (ep.kind === "json") {
      const inString = Buffer.concat([Buffer.from('{"client_name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
      await expectError(await call(ep, ct, inString), 400, "invalid_request", label(ep, "bad bytes in a string"));
    } else {
      for (const form of ["grant_type=%FF", "token=%C3%28", "client_id=%FF", "%FF=x"]) {
        await expectError(await call(ep, ct, form), 400, "invalid_request", label(ep, form));
      }
    }
  }
  const get = await worker.fetch("/authorize?client_id=%FF&response_type=code");
  assert.equal(get.status, 400);
});

test("unknown paths → 404 JSON not_found", async () => {
  // (`/admin` itself is the admin console, a page: admin.test.mjs.)
  const paths = ["/", "/nope", "/token/extra", "/register/a/b", "/admin/users/a/b", "/admin/keys", "/administrator",
    "/admin/registration-tokens/a/b",
    "/.well-known/foo", "/jwks", "/TOKEN", "/token.json", "//token/x", "/%FF", "/register%2Fx"];
  for (const p of paths) {
    for (const method of ["GET", "POST"]) {
      await expectError(await worker.fetch(p, { method }), 404, "not_found", `${method} ${p}`);
    }
  }
});

test("wrong methods → 405 method_not_allowed", async () => {
  const cases = [
    ["PUT", "/token"], ["GET", "/token"], ["DELETE", "/jwks.json"], ["POST", "/jwks.json"],
    ["POST", "/.well-known/openid-configuration"], ["PUT", "/.well-known/oauth-authorization-server"],
    ["PATCH", "/register/x"], ["POST", "/register/x"], ["GET", "/register"], ["DELETE", "/authorize"],
    ["PUT", "/userinfo"], ["GET", "/revoke"], ["GET", "/introspect"], ["DELETE", "/logout"],
    ["GET", "/admin/keys/rotate"], ["GET", "/admin/users"], ["PATCH", "/admin/users/x"], ["PUT", "/token/"],
    ["GET", "/admin/registration-tokens"], ["PUT", "/admin/registration-tokens/x"],
  ];
  for (const [method, p] of cases) {
    await expectError(await worker.fetch(p, { method }), 405, "method_not_allowed", `${method} ${p}`);
  }
});

test("over-long identifiers are unknown, not server errors", async () => {
  const long = "x".repeat(600);
  const basic = (id) => `Basic ${Buffer.from(`${id}:secret`).toString("base64")}`;
  await expectError(await worker.fetch(`/register/${long}`, { headers: ADMIN }), 401, "invalid_token", "GET /register/long");
  await expectError(await worker.fetch(`/register/${long}`, { method: "DELETE", headers: ADMIN }), 401, "invalid_token", "DELETE /register/long");
  await expectError(await worker.fetch(`/admin/users/${long}`, { headers: ADMIN }), 404, "not_found", "GET /admin/users/long");
  await expectError(await worker.fetch(`/admin/users/${"é".repeat(300)}`, { method: "DELETE", headers: ADMIN }), 404, "not_found", "DELETE /admin/users/long");
  for (const p of ["/token", "/revoke", "/introspect"]) {
    const res = await worker.fetch(p, { method: "POST", headers: { ...FORM_CT, authorization: basic(long) }, body: "grant_type=client_credentials&token=x" });
    await expectError(res, 401, "invalid_client", `${p} Basic long id`);
    const post = await worker.fetch(p, { method: "POST", headers: FORM_CT, body: `grant_type=client_credentials&token=x&client_id=${long}&client_secret=s` });
    await expectError(post, 401, "invalid_client", `${p} post long id`);
  }
  const authz = await worker.fetch(`/authorize?client_id=${long}&response_type=code&redirect_uri=https://a.example/cb`);
  assert.equal(authz.status, 400, "an unknown client gets an error page");
  assert.match(authz.headers.get("content-type") ?? "", /^text\/html\b/);
  const logout = await worker.fetch(`/logout?client_id=${long}`);
  assert.ok(logout.status < 500, `logout: ${logout.status}`);
});

/** Requests nobody should send. Each is [label, path suffix or init overrides]. */
function garbage() {
  const deepArray = "[".repeat(10_000) + "]".repeat(10_000);
  const deepObject = '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000);
  // Both under 64 KiB, as a body and as a URL (workerd's HTTP server refuses
  // longer request lines before the worker sees them).
  const manyParams = Array.from({ length: 10_000 }, (_, i) => `${i.toString(36)}=`).join("&");
  const repeated = "a=1&".repeat(10_000);
  const huge = "x".repeat(60_000);
  return [
    ["random bytes, no type", { body: randomBytes(2048) }],
    ["random bytes as JSON", { headers: JSON_CT, body: randomBytes(2048) }],
    ["random bytes as form", { headers: FORM_CT, body: randomBytes(2048) }],
    ["random bytes as octet-stream", { headers: { "content-type": "application/octet-stream" }, body: randomBytes(4096) }],
    ["10k-deep array", { headers: JSON_CT, body: deepArray }],
    ["10k-deep object", { headers: JSON_CT, body: deepObject }],
    ["10k-deep value in a member", { headers: JSON_CT, body: `{"redirect_uris":${deepArray},"client_id":"x"}` }],
    ["numbers out of range", { headers: JSON_CT, body: '{"client_id":1e400,"grant_type":-0,"token":123456789012345678901234567890}' }],
    ["lone surrogates", { headers: JSON_CT, body: '{"username":"\\ud800","password":"\\udfff\\ud800xxxxxxx","client_name":"\\ud800"}' }],
    ["NUL bytes", { headers: FORM_CT, body: "grant_type=%00&client_id=%00&token=%00&username=%00&step=login&handle=%00" }],
    ["10k form params", { headers: FORM_CT, body: manyParams }],
    ["10k repeated form params", { headers: FORM_CT, body: repeated }],
    ["10k query params", { query: manyParams }],
    ["10k repeated query params", { query: repeated }],
    ["huge authorization", { headers: { authorization: `Bearer ${huge}` } }],
    ["huge Basic", { headers: { authorization: `Basic ${huge}` } }],
    ["Basic of bytes", { headers: { authorization: `Basic ${randomBytes(300).toString("base64")}` } }],
    ["Basic with bad escapes", { headers: { authorization: `Basic ${Buffer.from("%ZZ:%FF%FE").toString("base64")}` } }],
    ["Latin-1 bearer", { headers: { authorization: "Bearer \u00ff\u00fe.\u00e9.x" } }],
    ["forged JWT", { headers: { authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from("{}").toString("base64url")}.` } }],
    ["huge cookie", { headers: { cookie: `__Host-session=${huge}; session=${huge}` } }],
    ["cookie garbage", { headers: { cookie: "=;;=;%FF=%FF; a" } }],
    ["huge content-type", { headers: { "content-type": `application/json; ${huge}` }, body: "{}" }],
    ["forged codes and tokens", {
      headers: FORM_CT,
      body: `grant_type=authorization_code&code=${"f".repeat(64)}.x&refresh_token=zz.yy&token=${"0".repeat(64)}.x&redirect_uri=%FF%FE&code_verifier=${"a".repeat(200)}`,
    }],
    ["authorize with a forged handle", {
      headers: FORM_CT,
      body: `step=consent&handle=${randomBytes(600).toString("base64url")}&csrf=x&decision=allow&username=${"x".repeat(600)}&password=x`,
    }],
    ["login with a long username", { headers: FORM_CT, body: `step=login&handle=x.y&csrf=x&username=${"x".repeat(600)}&password=x` }],
  ];
}

test("garbage at every endpoint never gets a 5xx", async () => {
  const targets = [
    ["GET", "/.well-known/openid-configuration"], ["GET", "/jwks.json"],
    ["GET", "/authorize"], ["POST", "/authorize"], ["POST", "/token"], ["GET", "/userinfo"], ["POST", "/userinfo"],
    ["POST", "/revoke"], ["POST", "/introspect"], ["GET", "/logout"], ["POST", "/logout"],
    ["POST", "/register"], ["GET", `/register/${client.client_id}`], ["PUT", `/register/${client.client_id}`],
    ["PUT", `/register/${"y".repeat(600)}`], ["DELETE", "/register/unknown"],
    ["POST", "/admin/users"], ["GET", `/admin/users/${user.username}`], ["PUT", `/admin/users/${user.username}`],
    ["PUT", `/admin/users/${"z".repeat(600)}`], ["POST", "/admin/keys/rotate"], ["POST", "/nope"],
    ["POST", "/admin/registration-tokens"], ["DELETE", "/admin/registration-tokens/x"],
    ["DELETE", `/admin/registration-tokens/${"t".repeat(600)}`],
  ];
  const failures = [];
  for (const [method, path] of targets) {
    for (const [name, g] of garbage()) {
      // With and without the admin token, so the admin endpoints read their bodies too.
      for (const auth of [{}, ADMIN]) {
        if (method === "POST" && path === "/admin/keys/rotate" && auth === ADMIN) continue;
        const url = g.query ? `${path}?${g.query}` : path;
        const hasBody = g.body !== undefined && method !== "GET";
        const what = `${method} ${path.slice(0, 40)} [${name}]`;
        try {
          const res = await worker.fetch(url, {
            method,
            headers: { ...auth, ...g.headers },
            ...(hasBody ? { body: g.body } : {}),
          });
          const text = await res.text();
          if (res.status >= 500) failures.push(`${res.status} ${what} ${text.slice(0, 120)}`);
        } catch (e) {
          failures.push(`${what}: ${e.message} (${e.cause?.message ?? e.cause})`);
        }
      }
    }
  }
  assert.deepEqual(failures, []);
  // And the worker is still healthy afterwards.
  const res = await worker.fetch("/jwks.json");
  assert.equal(res.status, 200);
});
