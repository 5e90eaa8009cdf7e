// An MCP client (@modelcontextprotocol/sdk) that identifies itself with a
// Client ID Metadata Document (SEP-991, `clientMetadataUrl`) against a tiny
// MCP server in this process: the server's protected resource metadata
// names us, the SDK finds `client_id_metadata_document_supported`, uses the
// document's URL as its client_id (no registration), signs in with PKCE and
// `resource`, and calls a tool with our access token, which the server
// checks against /jwks.json, `iss`, `aud` and `exp`.
// The worker fetches the document from https://mcp-client.example through
// miniflare's outboundService, so the production rules apply (https, a
// public host name, no development setting).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createPublicKey, verify } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { startWorker } from "./helpers.mjs";

// Short-lived access tokens, so that the test sees the SDK refresh.
const ACCESS_TOKEN_TTL = 2;
import { createUser, submit, field, Jar, REDIRECT_URI } from "./flow.mjs";

const DOCUMENT_URL = "https://mcp-client.example/oauth/client.json";
const DOCUMENT = {
  client_id: DOCUMENT_URL,
  client_name: "Example MCP client",
  redirect_uris: [REDIRECT_URI],
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  token_endpoint_auth_method: "none",
};

let worker, user, mcp, mcpUrl, documentFetches = 0;

/** The worker's only way out: the document, and nothing else. */
async function outbound(request) {
  if (request.url === DOCUMENT_URL) {
    documentFetches++;
    return new Response(JSON.stringify(DOCUMENT), { headers: { "content-type": "application/json", "cache-control": "max-age=600" } });
  }
  return new Response("not here", { status: 404 });
}

const b64json = (part) => JSON.parse(Buffer.from(part, "base64url"));

/** Our access token, verified as a resource server would: signature by a key in /jwks.json, iss, aud, exp. */
async function verifyAccessToken(jwt) {
  const [h, p, s] = jwt.split(".");
  const header = b64json(h);
  const { keys } = await (await fetch(`${worker.url}/jwks.json`)).json();
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk || header.alg !== "ES256") return null;
  const ok = verify("sha256", Buffer.from(`${h}.${p}`), { key: createPublicKey({ key: jwk, format: "jwk" }), dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
  const claims = b64json(p);
  const aud = [claims.aud].flat();
  return ok && claims.iss === worker.url && aud.includes(mcpUrl) && claims.exp > Date.now() / 1000 ? claims : null;
}

function mcpServer() {
  const server = new McpServer({ name: "test-mcp", version: "1.0.0" });
  server.registerTool("whoami", { description: "the token's client and subject" }, async (extra) => ({
    content: [{ type: "text", text: JSON.stringify(extra.authInfo?.extra ?? {}) }],
  }));
  return server;
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return chunks.length ? JSON.parse(Buffer.concat(chunks)) : undefined;
}

before(async () => {
  worker = await startWorker({ vars: { ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL) }, miniflare: { outboundService: outbound } });
  user = await createUser(worker);
  mcp = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path.startsWith("/.well-known/oauth-protected-resource")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ resource: mcpUrl, authorization_servers: [worker.url], scopes_supported: ["openid", "offline_access"] }));
      return;
    }
    if (path !== "/mcp") { res.writeHead(404); res.end(); return; }
    const bearer = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    const claims = bearer ? await verifyAccessToken(bearer) : null;
    if (!claims) {
      const origin = new URL(mcpUrl).origin;
      res.writeHead(401, { "www-authenticate": `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"` });
      res.end();
      return;
    }
    req.auth = { token: bearer, clientId: claims.client_id, scopes: (claims.scope ?? "").split(" "), extra: { client_id: claims.client_id, sub: claims.sub } };
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => transport.close());
    await mcpServer().connect(transport);
    await transport.handleRequest(req, res, await readBody(req));
  });
  await new Promise((resolve) => mcp.listen(0, "127.0.0.1", resolve));
  mcpUrl = `http://127.0.0.1:${mcp.address().port}/mcp`;
});
after(async () => {
  await worker?.stop();
  mcp?.closeAllConnections();
  await new Promise((resolve) => mcp?.close(resolve));
});

/** The SDK's OAuthClientProvider, in memory, with a metadata document URL. */
class DocumentClientProvider {
  clientMetadataUrl = DOCUMENT_URL;
  redirectUrl = REDIRECT_URI;
  clientMetadata = { ...DOCUMENT, client_id: undefined };
  registered = false;
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; }
  tokens() { return this.saved; }
  saveTokens(tokens) { this.saved = tokens; }
  redirectToAuthorization(url) { this.authorizationUrl = url; }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
}

/** The person's part: our login and consent pages, then the redirect's code. */
async function signIn(url) {
  const jar = new Jar();
  let res = jar.take(await worker.fetch(`${url.pathname}${url.search}`, { headers: { cookie: jar.header() } }));
  for (let step = 0; step < 3 && res.status !== 302 && res.status !== 303; step++) {
    const html = await res.text();
    assert.ok(field(html, "step"), html);
    if (field(html, "step") === "consent") assert.ok(html.includes("Described by <strong>mcp-client.example</strong>"), html);
    res = await submit(worker, jar, html, field(html, "step") === "login"
      ? { username: user.username, password: user.password }
      : { decision: "allow" });
  }
  const location = new URL(res.headers.get("location"));
  assert.ok(location.searchParams.get("code"), String(location));
  assert.equal(location.searchParams.get("iss"), worker.url);
  return location.searchParams.get("code");
}

test("an MCP client signs in with a Client ID Metadata Document, calls a tool, and refreshes", async () => {
  const provider = new DocumentClientProvider();
  const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  await assert.rejects(new Client({ name: "c", version: "1" }).connect(first), UnauthorizedError);
  assert.equal(provider.info.client_id, DOCUMENT_URL, "no registration: the document URL is the client_id");
  const authUrl = provider.authorizationUrl;
  assert.equal(authUrl.searchParams.get("client_id"), DOCUMENT_URL);
  assert.equal(authUrl.searchParams.get("resource"), mcpUrl);
  assert.equal(authUrl.searchParams.get("code_challenge_method"), "S256");

  await first.finishAuth(await signIn(authUrl));
  assert.ok(provider.saved.access_token && provider.saved.refresh_token);
  const claims = await verifyAccessToken(provider.saved.access_token);
  assert.equal(claims.client_id, DOCUMENT_URL);

  const client = new Client({ name: "c", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  const result = await client.callTool({ name: "whoami", arguments: {} });
  assert.deepEqual(JSON.parse(result.content[0].text), { client_id: DOCUMENT_URL, sub: user.sub });
  // The access token expires: the MCP server refuses it, the SDK refreshes
  // (a document client too) and retries.
  const before = provider.saved;
  await new Promise((r) => setTimeout(r, (ACCESS_TOKEN_TTL + 1) * 1000));
  const again = await client.callTool({ name: "whoami", arguments: {} });
  assert.deepEqual(JSON.parse(again.content[0].text), { client_id: DOCUMENT_URL, sub: user.sub });
  assert.notEqual(provider.saved.access_token, before.access_token, "a new access token");
  assert.notEqual(provider.saved.refresh_token, before.refresh_token, "the refresh token rotated");
  await client.close();
  assert.equal(documentFetches, 1, "the document was fetched once and then served from the cache");
});
