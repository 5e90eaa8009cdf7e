// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document):
// a client_id that is a URL is fetched from a small document server on
// 127.0.0.1 (CLIENT_ID_DOCUMENTS_ALLOW_HTTP_LOOPBACK on). A whole sign-in,
// code exchange and refresh; every refusal of a fetch (too big, slow, wrong
// client_id, a redirect, not JSON) and of a URL (http with the setting off,
// a private IP literal, a host not on CLIENT_ID_DOCUMENT_HOSTS, a
// redirect_uri the document does not list); caching per Cache-Control;
// the consent page's host and localhost warning; the discovery flag.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker } from "./helpers.mjs";
import { createUser, obtainCode, exchange, token, authorize, submit, authParams, field, Jar, REDIRECT_URI } from "./flow.mjs";

let docs, base, worker, user, changed = false;
const fetches = new Map();

/** A valid document for `path`, with `extra` members. */
const documentFor = (path, extra = {}) => ({
  client_id: `${base}${path}`,
  client_name: "Doc App",
  redirect_uris: [REDIRECT_URI],
  grant_types: ["authorization_code", "refresh_token"],
  token_endpoint_auth_method: "none",
  ...extra,
});

/** What the document server answers for each path. */
const routes = {
  "/good.json": (res, path) => json(res, documentFor(path), { "cache-control": "max-age=600" }),
  "/flow.json": (res, path) => json(res, documentFor(path)),
  "/consent-local.json": (res, path) => json(res, documentFor(path)),
  "/consent-web.json": (res, path) => json(res, documentFor(path, { redirect_uris: ["https://app.example/cb", REDIRECT_URI] })),
  "/big.json": (res, path) => json(res, documentFor(path, { padding: "x".repeat(6000) })),
  "/big-chunked.json": (res, path) => {
    res.writeHead(200, { "content-type": "application/json" }); // no Content-Length: chunked
    res.end(JSON.stringify(documentFor(path, { padding: "x".repeat(6000) })));
  },
  "/slow.json": (res, path) => { setTimeout(() => json(res, documentFor(path)), 5000); },
  "/wrong.json": (res) => json(res, documentFor("/other.json")),
  "/redirect.json": (res) => { res.writeHead(302, { location: `${base}/good.json` }); res.end(); },
  "/html.json": (res) => { res.writeHead(200, { "content-type": "text/html" }); res.end("<html>hi</html>"); },
  "/broken.json": (res) => { res.writeHead(200, { "content-type": "application/json" }); res.end("{not json"); },
  "/secret.json": (res, path) => json(res, documentFor(path, { client_secret: "s3cret" })),
  "/changing.json": (res, path) => json(res, changed ? documentFor("/elsewhere.json") : documentFor(path)),
  "/basic.json": (res, path) => json(res, documentFor(path, { token_endpoint_auth_method: "client_secret_basic" })),
};

function json(res, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

before(async () => {
  docs = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    fetches.set(path, (fetches.get(path) ?? 0) + 1);
    const route = routes[path];
    if (route) route(res, path);
    else { res.writeHead(404); res.end(); }
  });
  await new Promise((resolve) => docs.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${docs.address().port}`;
  worker = await startWorker({ vars: { CLIENT_ID_DOCUMENTS_ALLOW_HTTP_LOOPBACK: "true" } });
  user = await createUser(worker);
});
after(async () => {
  await worker?.stop();
  docs?.closeAllConnections();
  await new Promise((resolve) => docs?.close(resolve));
});

const client = (path) => ({ client_id: `${base}${path}` });

/** GET /authorize for `clientId`; asserts the error page and its reason. */
async function refusedAt(w, clientId, reason, overrides = {}) {
  const { params } = authParams({ client_id: clientId }, overrides);
  const res = await authorize(w, new Jar(), params);
  const html = await res.text();
  assert.equal(res.status, 400, html);
  assert.match(res.headers.get("content-type"), /text\/html/);
  assert.ok(!res.headers.get("location"), "never redirected");
  assert.ok(html.includes(reason), `${reason} not in ${html}`);
}

test("discovery advertises client_id_metadata_document_supported", async () => {
  const meta = await (await worker.fetch("/.well-known/oauth-authorization-server")).json();
  assert.equal(meta.client_id_metadata_document_supported, true);
  assert.ok(meta.token_endpoint_auth_methods_supported.includes("none"));
});

test("a document client signs in, exchanges its code and refreshes, as a public client", async () => {
  const c = client("/flow.json");
  const got = await obtainCode(worker, c, user);
  const tokens = await exchange(worker, c, got);
  assert.ok(tokens.access_token && tokens.id_token && tokens.refresh_token);
  const [, payload] = tokens.id_token.split(".");
  assert.equal(JSON.parse(Buffer.from(payload, "base64url")).aud, c.client_id);
  const res = await token(worker, c, { grant_type: "refresh_token", refresh_token: tokens.refresh_token });
  assert.equal(res.status, 200, await res.clone().text());
  assert.ok((await res.json()).refresh_token);
});

test("a document client must use PKCE", async () => {
  const { params } = authParams(client("/flow.json"));
  delete params.code_challenge;
  delete params.code_challenge_method;
  const res = await authorize(worker, new Jar(), params);
  const location = new URL(res.headers.get("location"));
  assert.equal(location.searchParams.get("error"), "invalid_request");
  assert.match(location.searchParams.get("error_description"), /PKCE/);
});

test("a document is fetched once while its max-age lasts", async () => {
  const c = client("/good.json");
  for (let i = 0; i < 3; i++) {
    const { params } = authParams(c);
    const res = await authorize(worker, new Jar(), params);
    assert.equal(res.status, 200);
    assert.ok((await res.text()).includes('name="step"'));
  }
  assert.equal(fetches.get("/good.json"), 1);
});

test("fetch failures are refused: too big, slow, a redirect", async () => {
  await refusedAt(worker, `${base}/big.json`, "larger than 5120 bytes");
  await refusedAt(worker, `${base}/big-chunked.json`, "larger than 5120 bytes");
  await refusedAt(worker, `${base}/redirect.json`, "redirect (302)");
  const started = Date.now();
  await refusedAt(worker, `${base}/slow.json`, "no answer within 3000 ms");
  assert.ok(Date.now() - started < 4500, "the time-out cut the wait short");
  await refusedAt(worker, `${base}/missing.json`, "answered HTTP 404");
});

test("failures are not cached: each request fetches again", async () => {
  const before = fetches.get("/wrong.json") ?? 0;
  await refusedAt(worker, `${base}/wrong.json`, "client_id is not exactly the document");
  await refusedAt(worker, `${base}/wrong.json`, "client_id is not exactly the document");
  assert.equal(fetches.get("/wrong.json"), before + 2);
});

test("invalid documents are refused: wrong client_id, not JSON, secrets", async () => {
  await refusedAt(worker, `${base}/wrong.json`, "client_id is not exactly the document");
  await refusedAt(worker, `${base}/html.json`, "not served as application/json");
  await refusedAt(worker, `${base}/broken.json`, "is not JSON");
  await refusedAt(worker, `${base}/secret.json`, "must not contain client_secret");
  await refusedAt(worker, `${base}/basic.json`, "token_endpoint_auth_method must be");
});

test("a redirect_uri the document does not list is refused on the page", async () => {
  await refusedAt(worker, `${base}/good.json`, "redirect_uri", { redirect_uri: "http://127.0.0.1:9/elsewhere" });
});

test("URLs that are never fetched: private addresses, fragments, no path", async () => {
  await refusedAt(worker, "https://10.0.0.1/client.json", "private, link-local and reserved addresses");
  await refusedAt(worker, "https://169.254.169.254/latest", "private, link-local and reserved addresses");
  await refusedAt(worker, `${base}/good.json#x`, "fragment");
  await refusedAt(worker, `${base}/`, "must have a path");
});

test("the token endpoint refuses a client whose document is refused", async () => {
  const res = await token(worker, client("/wrong.json"), { grant_type: "authorization_code", code: "x", code_verifier: "y", redirect_uri: REDIRECT_URI });
  assert.equal(res.status, 401);
  const body = await res.json();
  assert.equal(body.error, "invalid_client");
  assert.match(body.error_description, /client metadata document/);
});

/** The consent page for `c`, after signing in. */
async function consentPage(c) {
  const jar = new Jar();
  const { params } = authParams(c);
  const login = await (await authorize(worker, jar, params)).text();
  const res = await submit(worker, jar, login, { username: user.username, password: user.password });
  const html = await res.text();
  assert.equal(field(html, "step"), "consent", html);
  return html;
}

test("the consent page names the document's host and warns when it redirects only to localhost", async () => {
  const local = await consentPage(client("/consent-local.json"));
  assert.ok(local.includes("Described by <strong>127.0.0.1</strong>"), local);
  assert.ok(local.includes("This app sends you back only to this computer"));
  const web = await consentPage(client("/consent-web.json"));
  assert.ok(web.includes("Described by <strong>127.0.0.1</strong>"));
  assert.ok(!web.includes("only to this computer"));
});

test("without the development setting, http and loopback documents are refused", async () => {
  const strict = await startWorker();
  try {
    await refusedAt(strict, `${base}/flow.json`, "must use https");
    await refusedAt(strict, "https://127.0.0.1/client.json", "loopback hosts are not fetched");
  } finally {
    await strict.stop();
  }
});

test("CLIENT_ID_DOCUMENT_HOSTS refuses documents on other hosts", async () => {
  const listed = await startWorker({ vars: { CLIENT_ID_DOCUMENTS_ALLOW_HTTP_LOOPBACK: "true", CLIENT_ID_DOCUMENT_HOSTS: "clients.example" } });
  try {
    const before = fetches.get("/flow.json");
    await refusedAt(listed, `${base}/flow.json`, "not one this server trusts");
    assert.equal(fetches.get("/flow.json"), before, "nothing fetched");
  } finally {
    await listed.stop();
  }
});

/**
 * Runs `before(worker)` with /changing.json valid, then changes the document
 * and runs `after(worker, state)` on a new isolate over the same storage: it
 * has no cached copy, so it fetches the changed document.
 */
async function acrossAChange(before, after) {
  const dir = await mkdtemp(path.join(tmpdir(), "edge-oidc-cimd-"));
  const vars = { CLIENT_ID_DOCUMENTS_ALLOW_HTTP_LOOPBACK: "true" };
  let w = await startWorker({ persistDir: dir, vars });
  try {
    const state = await before(w);
    await w.stop();
    changed = true;
    w = await startWorker({ persistDir: dir, vars });
    await after(w, state);
  } finally {
    changed = false;
    await w.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

test("a document that turned invalid ends its client: tokens at userinfo, refresh at the token endpoint", async () => {
  const c = client("/changing.json");
  const userinfo = (w, tokens) => w.fetch("/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } });
  await acrossAChange(async (w) => {
    const tokens = await exchange(w, c, await obtainCode(w, c, await createUser(w)));
    assert.equal((await userinfo(w, tokens)).status, 200);
    return tokens;
  }, async (w, tokens) => {
    const res = await userinfo(w, tokens);
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate"), /invalid_token/);
    const refresh = await token(w, c, { grant_type: "refresh_token", refresh_token: tokens.refresh_token });
    assert.equal(refresh.status, 401);
    assert.equal((await refresh.json()).error, "invalid_client");
  });
});

test("a document that turned invalid while its login form was open: the person gets the error page, not JSON", async () => {
  const c = client("/changing.json");
  await acrossAChange(async (w) => {
    const person = await createUser(w);
    const jar = new Jar();
    const login = await (await authorize(w, jar, authParams(c).params)).text();
    assert.equal(field(login, "step"), "login");
    return { person, jar, login };
  }, async (w, { person, jar, login }) => {
    const res = await submit(w, jar, login, { username: person.username, password: person.password });
    assert.equal(res.status, 400);
    assert.match(res.headers.get("content-type"), /^text\/html/);
    assert.equal(res.headers.get("location"), null);
    assert.match(await res.text(), /client metadata document/);
  });
});
