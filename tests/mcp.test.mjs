// A real MCP client against us: @modelcontextprotocol/sdk's own OAuth client
// (`auth()` through StreamableHTTPClientTransport, with an OAuthClientProvider)
// and a small MCP server in this process that checks our access tokens
// (signature against /jwks.json, typ, iss, exp, aud). The client finds us
// through the server's RFC 9728 metadata, registers itself (open
// registration), authorizes with PKCE and `resource`, calls a tool, and
// refreshes when its access token has expired.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { startWorker } from "./helpers.mjs";
import { Jar, createUser, field } from "./flow.mjs";

const ACCESS_TOKEN_TTL = 2;
let worker, mcp, mcpUrl, user;
/** What the MCP server saw: the claims of every token it accepted, and refusals. */
const seen = { accepted: [], refused: [] };

const b64 = (s) => Buffer.from(s, "base64url");

/** RFC 9068 / MCP authorization: the checks an MCP server must make. */
async function verifyAccessToken(jwt) {
  const [h, p, sig] = jwt.split(".");
  const header = JSON.parse(b64(h));
  const claims = JSON.parse(b64(p));
  if (header.typ !== "at+jwt" || header.alg !== "ES256") throw new Error(`header ${JSON.stringify(header)}`);
  const { keys } = await (await fetch(`${worker.url}/jwks.json`)).json();
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error("unknown kid");
  const key = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, b64(sig), Buffer.from(`${h}.${p}`));
  if (!ok) throw new Error("bad signature");
  if (claims.iss !== worker.url) throw new Error(`iss ${claims.iss}`);
  if (!(claims.exp > Date.now() / 1000)) throw new Error("expired");
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(mcpUrl)) throw new Error(`aud ${JSON.stringify(claims.aud)}`);
  return claims;
}

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return chunks.length ? JSON.parse(Buffer.concat(chunks)) : undefined;
}

/** The MCP server: protected resource metadata, a bearer check, one tool. */
async function handle(req, res) {
  const base = `http://127.0.0.1:${mcp.address().port}`;
  if (req.url === "/.well-known/oauth-protected-resource/mcp" || req.url === "/.well-known/oauth-protected-resource") {
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify({
      resource: mcpUrl, authorization_servers: [worker.url],
      scopes_supported: ["openid", "email"], bearer_methods_supported: ["header"],
    }));
  }
  if (req.url !== "/mcp") return res.writeHead(404).end();
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  let claims;
  try {
    if (!token) throw new Error("no token");
    claims = await verifyAccessToken(token);
  } catch (e) {
    seen.refused.push(e.message);
    res.writeHead(401, {
      "www-authenticate": `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
    });
    return res.end();
  }
  seen.accepted.push(claims);
  req.auth = { token, clientId: claims.client_id, scopes: (claims.scope ?? "").split(" "), extra: { sub: claims.sub } };
  const server = new McpServer({ name: "test-mcp", version: "1.0.0" });
  server.registerTool("whoami", { description: "the signed-in user" }, async (extra) => ({
    content: [{ type: "text", text: String(extra.authInfo?.extra?.sub) }],
  }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, await readJson(req));
}

/**
 * The MCP client's OAuthClientProvider, in memory. Its "browser" is fetch:
 * redirectToAuthorization walks our login and consent pages as `user` and
 * keeps the code from the final redirect.
 */
class Provider {
  redirectUrl = "http://127.0.0.1:33418/callback";
  clientMetadata = {
    client_name: "SDK test client",
    redirect_uris: [this.redirectUrl],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
  stored = {};
  consentPages = [];
  state() { return "st-" + Math.random().toString(36).slice(2); }
  clientInformation() { return this.stored.client; }
  saveClientInformation(info) { this.stored.client = info; }
  tokens() { return this.stored.tokens; }
  saveTokens(tokens) { this.stored.tokens = tokens; this.stored.tokenHistory = [...(this.stored.tokenHistory ?? []), tokens]; }
  saveCodeVerifier(v) { this.stored.verifier = v; }
  codeVerifier() { return this.stored.verifier; }
  async redirectToAuthorization(url) {
    this.authorizationUrl = url;
    const jar = new Jar();
    const path = url.href.slice(worker.url.length);
    let res = jar.take(await worker.fetch(path));
    for (let step = 0; step < 3 && res.status === 200; step++) {
      const html = await res.text();
      const kind = field(html, "step");
      if (kind === "consent") this.consentPages.push(html);
      const extra = kind === "login" ? { username: user.username, password: user.password } : { decision: "allow" };
      const body = new URLSearchParams({ step: kind, handle: field(html, "handle"), csrf: field(html, "csrf"), ...extra });
      res = jar.take(await worker.fetch("/authorize", {
        method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header() }, body: body.toString(),
      }));
    }
    const location = new URL(res.headers.get("location"));
    assert.equal(`${location.origin}${location.pathname}`, this.redirectUrl);
    this.code = location.searchParams.get("code");
  }
}

before(async () => {
  worker = await startWorker({
    vars: { OPEN_REGISTRATION: "on", ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL), REFRESH_TOKEN_POLICY: "always" },
  });
  user = await createUser(worker);
  mcp = http.createServer((req, res) => handle(req, res).catch((e) => { res.writeHead(500).end(String(e)); }));
  await new Promise((r) => mcp.listen(0, "127.0.0.1", r));
  mcpUrl = `http://127.0.0.1:${mcp.address().port}/mcp`;
});
after(async () => {
  await new Promise((r) => mcp?.close(r));
  await worker?.stop();
});

const connect = async (provider) => {
  const client = new Client({ name: "sdk-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  return client;
};

test("the MCP SDK's client registers itself, authorizes with PKCE and resource, calls a tool, and refreshes", async () => {
  const provider = new Provider();
  // First connection: 401, discovery, open registration, then the redirect.
  await assert.rejects(connect(provider), UnauthorizedError);
  const registered = provider.stored.client;
  assert.ok(registered?.client_id, "registered itself");
  assert.equal(registered.client_secret, undefined, "a public client");
  const authz = provider.authorizationUrl.searchParams;
  assert.equal(authz.get("code_challenge_method"), "S256");
  assert.equal(authz.get("resource"), mcpUrl);
  assert.equal(authz.get("client_id"), registered.client_id);
  assert.match(provider.consentPages[0], /not verified by 127\.0\.0\.1/);
  assert.ok(provider.code, "got a code");

  // The code exchange, by the SDK (with the code verifier and resource).
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  await transport.finishAuth(provider.code);
  assert.ok(provider.stored.tokens.refresh_token, "a refresh token");
  const client = new Client({ name: "sdk-test", version: "1.0.0" });
  await client.connect(transport);
  const first = await client.callTool({ name: "whoami", arguments: {} });
  assert.equal(first.content[0].text, user.sub);
  const claims = seen.accepted.at(-1);
  assert.equal(claims.client_id, registered.client_id);
  assert.ok(claims.aud.includes(mcpUrl));

  // The access token expires: the server refuses it, the SDK refreshes and retries.
  await new Promise((r) => setTimeout(r, (ACCESS_TOKEN_TTL + 1) * 1000));
  const before = provider.stored.tokenHistory.length;
  const second = await client.callTool({ name: "whoami", arguments: {} });
  assert.equal(second.content[0].text, user.sub);
  assert.equal(provider.stored.tokenHistory.length, before + 1, "refreshed once");
  assert.notEqual(provider.stored.tokens.refresh_token, provider.stored.tokenHistory[before - 1].refresh_token, "rotated");
  assert.ok(seen.refused.includes("expired"), JSON.stringify(seen.refused));
  await client.close();
});
