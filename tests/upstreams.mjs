// Upstream identity providers for the federation tests, in plain Node:
// - startOAuthUpstream: a plain OAuth 2.0 provider of GitHub's kind (its
//   authorize, token and user endpoints, answering as GitHub does);
// - startProxy: a reverse proxy in front of a real upstream (a second
//   edge-oidc in miniflare) that lets a test alter chosen responses.
// A worker in miniflare reaches both over plain http://127.0.0.1:<port>:
// workerd's network in miniflare allows loopback (tried with miniflare 5).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";
import * as oidc from "openid-client";
import { ADMIN_TOKEN } from "./helpers.mjs";
import { Jar, field, form, REDIRECT_URI } from "./flow.mjs";

const listen = async (server) => {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${server.address().port}`;
};

const close = (server) => new Promise((resolve) => {
  server.close(resolve);
  server.closeAllConnections();
});

const readBody = (req) => new Promise((resolve, reject) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => resolve(Buffer.concat(chunks)));
  req.on("error", reject);
});

const token = (prefix) => prefix + randomBytes(20).toString("hex");

/** Client credentials from an HTTP Basic header (RFC 6749 §2.3.1: each part form-encoded), or null. */
function basicCredentials(header) {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? "");
  if (!m) return null;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  const part = (s) => decodeURIComponent(s.replace(/\+/g, " "));
  return { id: part(decoded.slice(0, colon)), secret: part(decoded.slice(colon + 1)) };
}

export const GITHUB_CLIENT = { id: "gh-client-id", secret: "gh-client-secret" };

export const GITHUB_USERS = [
  { id: 583231, login: "octocat", name: "The Octocat", email: "octocat@example.com",
    avatar_url: "https://avatars.example.com/u/583231" },
  { id: 9919, login: "hubot", name: "Hubot", email: null, avatar_url: "https://avatars.example.com/u/9919" },
];

/**
 * A plain OAuth 2.0 provider of GitHub's kind:
 * - `GET /login/oauth/authorize?client_id&redirect_uri&state&scope&code_challenge&code_challenge_method`
 *   signs in a user at once (the one named by `login=` on the URL, else the
 *   current one, see setUser) and redirects to redirect_uri with `code` and
 *   `state`; `deny=1` redirects with `error=access_denied` instead.
 * - `POST /login/oauth/access_token` (client_id + client_secret in the form or
 *   HTTP Basic; code single-use and 10 minutes; redirect_uri equal to the
 *   authorize one when sent; PKCE S256 when a challenge was sent): JSON only
 *   with `Accept: application/json`, else form-encoded; errors are 200s with
 *   `error` (bad_verification_code, incorrect_client_credentials,
 *   redirect_uri_mismatch), as GitHub answers.
 * - `GET /user` with `Authorization: Bearer <token>` (or `token <token>`):
 *   `{id, login, name, email, avatar_url}`; 401 for a bad token and 403
 *   without a User-Agent, as GitHub's API does.
 *
 * Returns { url, stop(), requests, setUser(login, changes) }. `requests` logs
 * every request: { method, path, query, headers, body, form }. `setUser`
 * makes `login` the one signed in next (creating it when new) and merges
 * `changes` into its record: the same account with a new name, say.
 */
export async function startOAuthUpstream({ users = GITHUB_USERS, client = GITHUB_CLIENT, now = () => Date.now() } = {}) {
  const accounts = new Map(users.map((u) => [u.login, { ...u }]));
  let current = users[0]?.login;
  const codes = new Map();
  const tokens = new Map();
  const requests = [];

  const send = (res, status, headers, body) => {
    res.writeHead(status, headers);
    res.end(body);
  };
  const json = (res, status, value) => send(res, status, { "content-type": "application/json; charset=utf-8" }, JSON.stringify(value));

  function authorize(res, query) {
    const redirect = (params) => {
      const to = new URL(query.redirect_uri);
      for (const [k, v] of Object.entries(params)) to.searchParams.set(k, v);
      send(res, 302, { location: to.href }, "");
    };
    if (query.client_id !== client.id) return send(res, 404, { "content-type": "text/plain" }, "unknown client_id");
    if (!URL.canParse(query.redirect_uri ?? "")) return send(res, 400, { "content-type": "text/plain" }, "bad redirect_uri");
    const state = query.state === undefined ? {} : { state: query.state };
    if (query.deny) return redirect({ error: "access_denied", error_description: "The user has denied your application access.", ...state });
    const login = query.login ?? current;
    if (!accounts.has(login)) return send(res, 404, { "content-type": "text/plain" }, `no user ${login}`);
    if (query.code_challenge && (query.code_challenge_method ?? "plain") !== "S256") {
      return send(res, 400, { "content-type": "text/plain" }, "only S256 challenges here");
    }
    const code = token("");
    codes.set(code, {
      login, redirectUri: query.redirect_uri, challenge: query.code_challenge, scope: query.scope ?? "",
      expiresAt: now() + 600_000,
    });
    redirect({ code, ...state });
  }

  function accessToken(req, res, form) {
    // GitHub answers JSON only when asked; form-encoded otherwise.
    const wantsJson = /application\/json/.test(req.headers.accept ?? "");
    const answer = (value) => wantsJson
      ? json(res, 200, value)
      : send(res, 200, { "content-type": "application/x-www-form-urlencoded; charset=utf-8" }, new URLSearchParams(value).toString());
    const error = (error, error_description) => answer({ error, error_description });
    const creds = basicCredentials(req.headers.authorization) ?? { id: form.client_id, secret: form.client_secret };
    if (creds.id !== client.id || creds.secret !== client.secret) {
      return error("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
    }
    const grant = codes.get(form.code);
    codes.delete(form.code); // single use, whatever follows
    if (!grant || grant.expiresAt <= now()) return error("bad_verification_code", "The code passed is incorrect or expired.");
    if (form.redirect_uri !== undefined && form.redirect_uri !== grant.redirectUri) {
      return error("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.");
    }
    if (grant.challenge) {
      const verifier = form.code_verifier ?? "";
      if (createHash("sha256").update(verifier).digest("base64url") !== grant.challenge) {
        return error("bad_verification_code", "The code_verifier does not match the code_challenge.");
      }
    }
    const access = token("gho_");
    tokens.set(access, grant.login);
    answer({ access_token: access, token_type: "bearer", scope: grant.scope.split(/[ ,]+/).filter(Boolean).join(",") });
  }

  function user(req, res) {
    if (!req.headers["user-agent"]) {
      return json(res, 403, { message: "Request forbidden by administrative rules. Please make sure your request has a User-Agent header." });
    }
    const m = /^(?:Bearer|token)\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    const login = m && tokens.get(m[1]);
    if (!login) return json(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });
    const { id, name, email, avatar_url } = accounts.get(login);
    json(res, 200, { id, login, name, email, avatar_url });
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://upstream");
    const body = (await readBody(req)).toString("utf8");
    const query = Object.fromEntries(url.searchParams);
    const form = /x-www-form-urlencoded/.test(req.headers["content-type"] ?? "") ? Object.fromEntries(new URLSearchParams(body)) : {};
    requests.push({ method: req.method, path: url.pathname, query, headers: req.headers, body, form });
    const route = `${req.method} ${url.pathname}`;
    if (route === "GET /login/oauth/authorize") return authorize(res, query);
    if (route === "POST /login/oauth/access_token") return accessToken(req, res, form);
    if (route === "GET /user") return user(req, res);
    json(res, 404, { message: "Not Found" });
  });
  const url = await listen(server);
  return {
    url,
    requests,
    stop: () => close(server),
    setUser(login, changes = {}) {
      const known = accounts.get(login) ?? { id: 100_000 + accounts.size, login, name: null, email: null, avatar_url: null };
      accounts.set(login, { ...known, ...changes, login });
      current = login;
    },
  };
}

/**
 * A reverse proxy in front of `targetUrl` (say, a second edge-oidc). Every
 * request is forwarded unchanged, with its Host header (so an upstream whose
 * issuer follows Host, ISSUER unset, names the proxy as its issuer and every
 * endpoint in its discovery document, and all its traffic passes here), but
 * without Accept-Encoding, so that bodies reach `rewrite` uncompressed.
 * Responses are buffered and handed to `rewrite(req, res)` before they go
 * back: req = { method, path (pathname), url (path and query), headers, body
 * (text) }, res = { status, headers (lower-case names), body (text) }; the
 * hook alters res in place (Content-Length is set afterwards). Redirects pass
 * through unfollowed. `rewriteRequest(req, out)`, before the request goes
 * on, may alter what is forwarded: out = { headers, body (text) }, copies,
 * so `requests` keeps what arrived (a token request's client secret
 * swapped for another, say).
 *
 * Returns { url, fetch(path, init) (a request through the proxy, redirects
 * not followed: the shape of helpers' workers), stop(), requests (each req
 * as above), setRewrite(fn) }.
 */
export async function startProxy(targetUrl, { rewrite = () => {}, rewriteRequest = () => {} } = {}) {
  const target = new URL(targetUrl);
  const requests = [];
  let hook = rewrite;
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url, "http://proxy");
    const seen = { method: req.method, path: url.pathname, url: req.url, headers: req.headers, body: body.toString("utf8") };
    requests.push(seen);
    const out = { headers: { ...req.headers }, body: seen.body };
    try {
      await rewriteRequest(seen, out);
    } catch (e) {
      return send502(res, e);
    }
    const headers = { ...out.headers };
    delete headers["accept-encoding"];
    const altered = out.body !== seen.body;
    if (altered) {
      delete headers["transfer-encoding"];
      headers["content-length"] = String(Buffer.byteLength(out.body));
    }
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers });
    upstream.on("error", (e) => send502(res, e));
    upstream.on("response", async (up) => {
      try {
        const out = { status: up.statusCode, headers: { ...up.headers }, body: (await readBody(up)).toString("utf8") };
        await hook(seen, out);
        delete out.headers["transfer-encoding"];
        out.headers["content-length"] = String(Buffer.byteLength(out.body));
        res.writeHead(out.status, out.headers);
        res.end(out.body);
      } catch (e) {
        send502(res, e);
      }
    });
    upstream.end(altered ? out.body : body);
  });
  const send502 = (res, e) => {
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`proxy: ${e.message}`);
  };
  const url = await listen(server);
  return {
    url,
    requests,
    fetch: (p, init = {}) => fetch(new URL(p, url), { redirect: "manual", ...init }),
    stop: () => close(server),
    setRewrite: (fn) => { hook = fn; },
  };
}

// A person and a relying party around a federated sign-in, for the
// federation_*.test.mjs files. A "site" is anything with `url` and
// `fetch(path, init)` that does not follow redirects: a worker from
// helpers.mjs, or a proxy above.

/** A call to `site`'s admin API with the admin token; `body` as JSON. */
export const adminCall = (site, method, path, body) =>
  site.fetch(path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** A person: one cookie jar per site, as a browser keeps them. */
export const person = () => ({ ours: new Jar(), up: new Jar() });

/** GET `url` (absolute, or a path) at `site` as the browser with `jar`. */
export async function visit(site, jar, url) {
  const u = new URL(url, site.url);
  return jar.take(await site.fetch(u.pathname + u.search, { headers: { cookie: jar.header() } }));
}

/** Posts the form of `html` whose hidden `step` is `step` (its own fields plus `extra`) to its action. */
export async function postStep(site, jar, html, step, extra = {}) {
  const chosen = html.split("<form").slice(1).find((f) => f.includes(`name="step" value="${step}"`));
  assert.ok(chosen, `no ${step} form on the page`);
  const action = chosen.match(/action="([^"]*)"/)[1];
  const body = { step, handle: field(chosen, "handle"), csrf: field(chosen, "csrf"), ...extra };
  return jar.take(await site.fetch(action, form(body, { cookie: jar.header() })));
}

/**
 * At an upstream edge-oidc (`up`: a worker, or a proxy in front of one),
 * from our redirect `res` to it: its login page (as `user`, unless the
 * session in `jar` is live) and consent page (allowed), up to its redirect
 * back to our callback. Returns that URL, not followed.
 */
export async function throughUpstream(up, jar, res, user) {
  assert.equal(res.status, 303, `expected the redirect to the upstream, got ${res.status}`);
  const to = new URL(res.headers.get("location"));
  assert.equal(to.origin, up.url);
  let r = await visit(up, jar, to);
  for (let i = 0; i < 3 && r.status === 200; i++) {
    const html = await r.text();
    r = html.includes('name="step" value="login"')
      ? await postStep(up, jar, html, "login", { username: user.username, password: user.password })
      : await postStep(up, jar, html, "consent", { decision: "allow" });
  }
  assert.ok([302, 303].includes(r.status), `upstream: expected a redirect, got ${r.status}`);
  return new URL(r.headers.get("location"));
}

/**
 * The relying party: the unmodified openid-client, configured against
 * `ours` ({ url }) as `client`. `start(extra)` gives an authorization URL
 * and the checks openid-client's authorizationCodeGrant takes for it.
 */
export async function openidRp(ours, client, redirectUri = REDIRECT_URI) {
  const config = await oidc.discovery(new URL(ours.url), client.client_id, { redirect_uris: [redirectUri] },
    oidc.ClientSecretBasic(client.client_secret), { execute: [oidc.allowInsecureRequests] });
  oidc.enableNonRepudiationChecks(config);
  return {
    config,
    async start(extra = {}) {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri, scope: "openid email profile", state, nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256", ...extra,
      });
      return { url, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true } };
    },
  };
}

/** Ours after the callback: its consent page (allowed) until the redirect to the RP; that URL. */
export async function backToRp(ours, jar, res, redirectUri = REDIRECT_URI) {
  for (let i = 0; i < 2 && res.status === 200; i++) {
    res = await postStep(ours, jar, await res.text(), "consent", { decision: "allow" });
  }
  assert.ok([302, 303].includes(res.status), `expected the redirect to the RP, got ${res.status}: ${res.status === 400 ? await res.text() : ""}`);
  const location = new URL(res.headers.get("location"));
  assert.equal(`${location.origin}${location.pathname}`, redirectUri);
  assert.ok(location.searchParams.get("code"), `no code: ${location}`);
  return location;
}

/**
 * Asserts that the browser with `jar` has no session at `ours`: no session
 * cookie, and `prompt=none` comes back to the RP with login_required.
 */
export async function assertSignedOut(ours, rp, jar) {
  assert.ok(!jar.cookies.has("oidc_session"), "no session cookie");
  const { url } = await rp.start({ prompt: "none" });
  const res = await visit(ours, jar, url);
  assert.equal(res.status, 302, "prompt=none answers with a redirect");
  assert.equal(new URL(res.headers.get("location")).searchParams.get("error"), "login_required");
}
