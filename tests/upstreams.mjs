// Upstream identity providers for the federation tests, in plain Node:
// - startOAuthUpstream: a plain OAuth 2.0 provider of GitHub's kind (its
//   authorize, token and user endpoints, answering as GitHub does);
// - startProxy: a reverse proxy in front of a real upstream (a second
//   edge-oidc in miniflare) that lets a test alter chosen responses.
// A worker in miniflare reaches both over plain http://127.0.0.1:<port>:
// workerd's network in miniflare allows loopback (tried with miniflare 5).
import { createHash, randomBytes } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";

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
 * through unfollowed.
 *
 * Returns { url, stop(), requests (each req as above), setRewrite(fn) }.
 */
export async function startProxy(targetUrl, { rewrite = () => {} } = {}) {
  const target = new URL(targetUrl);
  const requests = [];
  let hook = rewrite;
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url, "http://proxy");
    const seen = { method: req.method, path: url.pathname, url: req.url, headers: req.headers, body: body.toString("utf8") };
    requests.push(seen);
    const headers = { ...req.headers };
    delete headers["accept-encoding"];
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
    upstream.end(body);
  });
  const send502 = (res, e) => {
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`proxy: ${e.message}`);
  };
  const url = await listen(server);
  return { url, requests, stop: () => close(server), setRewrite: (fn) => { hook = fn; } };
}
