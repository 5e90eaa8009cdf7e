// The federation tests' upstreams (tests/upstreams.mjs), tested themselves:
// the GitHub-like provider keeps GitHub's token-exchange rules, and the proxy
// passes a real edge-oidc through unchanged except where a test rewrites it.
// Also: two workers side by side keep separate storage (ours and the upstream).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes, webcrypto } from "node:crypto";
import { request as httpRequest } from "node:http";
import { startWorker, ADMIN_TOKEN } from "./helpers.mjs";
import { registerClient, createUser, obtainCode, exchange, decodeJwt, pkce, REDIRECT_URI } from "./flow.mjs";
import { startOAuthUpstream, startProxy, GITHUB_CLIENT } from "./upstreams.mjs";

const CALLBACK = "http://127.0.0.1:9/federation/github/callback";

describe("the GitHub-like upstream", () => {
  let gh;
  before(async () => { gh = await startOAuthUpstream(); });
  after(async () => { await gh?.stop(); });

  /** Authorize as GitHub's browser leg would; returns { code, state, location }. */
  async function authorize(params = {}) {
    const query = new URLSearchParams({ client_id: GITHUB_CLIENT.id, redirect_uri: CALLBACK, state: "s1", scope: "read:user user:email", ...params });
    const res = await fetch(`${gh.url}/login/oauth/authorize?${query}`, { redirect: "manual" });
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get("location"));
    return { code: location.searchParams.get("code"), state: location.searchParams.get("state"), location };
  }

  const tokenRequest = (form, headers = {}) => fetch(`${gh.url}/login/oauth/access_token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", ...headers },
    body: new URLSearchParams(form),
  });
  const credentials = { client_id: GITHUB_CLIENT.id, client_secret: GITHUB_CLIENT.secret };

  test("authorize → token → /user, JSON when asked, form-encoded otherwise", async () => {
    const { code, state, location } = await authorize();
    assert.equal(location.origin + location.pathname, CALLBACK);
    assert.equal(state, "s1");
    let res = await tokenRequest({ ...credentials, code, redirect_uri: CALLBACK });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^application\/json/);
    const tokens = await res.json();
    assert.match(tokens.access_token, /^gho_/);
    assert.equal(tokens.token_type, "bearer");
    assert.equal(tokens.scope, "read:user,user:email", "GitHub lists scopes with commas");

    const { code: code2 } = await authorize();
    res = await tokenRequest({ ...credentials, code: code2 }, { accept: "*/*" });
    assert.match(res.headers.get("content-type"), /^application\/x-www-form-urlencoded/);
    const formTokens = new URLSearchParams(await res.text());
    assert.match(formTokens.get("access_token"), /^gho_/);

    res = await fetch(`${gh.url}/user`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      id: 583231, login: "octocat", name: "The Octocat", email: "octocat@example.com",
      avatar_url: "https://avatars.example.com/u/583231",
    });
    res = await fetch(`${gh.url}/user`, { headers: { authorization: `token ${formTokens.get("access_token")}` } });
    assert.equal((await res.json()).login, "octocat", "GitHub's own `token` scheme too");
  });

  test("a code is single-use and its errors are 200s, as GitHub answers", async () => {
    const { code } = await authorize();
    assert.equal((await tokenRequest({ ...credentials, code })).status, 200);
    const again = await tokenRequest({ ...credentials, code });
    assert.equal(again.status, 200);
    assert.equal((await again.json()).error, "bad_verification_code");
    const unknown = await tokenRequest({ ...credentials, code: "nope" }, { accept: "" });
    assert.equal(new URLSearchParams(await unknown.text()).get("error"), "bad_verification_code");
  });

  test("client credentials in the form or HTTP Basic; wrong ones refused", async () => {
    const basic = "Basic " + Buffer.from(`${GITHUB_CLIENT.id}:${GITHUB_CLIENT.secret}`).toString("base64");
    let { code } = await authorize();
    assert.ok((await (await tokenRequest({ code }, { authorization: basic })).json()).access_token);
    ({ code } = await authorize());
    const wrong = await tokenRequest({ ...credentials, client_secret: "wrong", code });
    assert.equal((await wrong.json()).error, "incorrect_client_credentials");
    // Unauthenticated, the attempt leaves the code to its client.
    assert.ok((await (await tokenRequest({ ...credentials, code })).json()).access_token);
  });

  test("redirect_uri must be the authorize request's when sent", async () => {
    const { code } = await authorize();
    const res = await tokenRequest({ ...credentials, code, redirect_uri: "http://127.0.0.1:9/elsewhere" });
    assert.equal((await res.json()).error, "redirect_uri_mismatch");
  });

  test("PKCE S256: the verifier must match the challenge sent", async () => {
    const { verifier, challenge } = pkce();
    const withChallenge = () => authorize({ code_challenge: challenge, code_challenge_method: "S256" });
    for (const bad of [{}, { code_verifier: pkce().verifier }]) {
      const { code } = await withChallenge();
      assert.equal((await (await tokenRequest({ ...credentials, code, ...bad })).json()).error, "bad_verification_code");
    }
    const { code } = await withChallenge();
    assert.ok((await (await tokenRequest({ ...credentials, code, code_verifier: verifier })).json()).access_token);
    assert.equal(createHash("sha256").update(verifier).digest("base64url"), challenge);
  });

  test("who signs in: ?login=, setUser, and a denial", async () => {
    const signIn = async (params) => {
      const { code } = await authorize(params);
      const { access_token } = await (await tokenRequest({ ...credentials, code })).json();
      return (await fetch(`${gh.url}/user`, { headers: { authorization: `Bearer ${access_token}` } })).json();
    };
    assert.equal((await signIn({ login: "hubot" })).email, null, "hubot keeps its e-mail private");
    gh.setUser("octocat", { name: "Renamed Octocat" });
    assert.deepEqual(await signIn().then((u) => [u.id, u.name]), [583231, "Renamed Octocat"], "same id, new name");
    gh.setUser("newbie", { email: "newbie@example.com" });
    const newbie = await signIn();
    assert.equal(newbie.login, "newbie");
    assert.equal(typeof newbie.id, "number");
    gh.setUser("octocat");
    const { location } = await authorize({ deny: "1" });
    assert.equal(location.searchParams.get("error"), "access_denied");
    assert.equal(location.searchParams.get("state"), "s1");
  });

  test("/user: a bad token is 401, no User-Agent is 403", async () => {
    assert.equal((await fetch(`${gh.url}/user`, { headers: { authorization: "Bearer gho_nope" } })).status, 401);
    const status = await new Promise((resolve, reject) => {
      const req = httpRequest(`${gh.url}/user`, { headers: { authorization: "Bearer gho_nope" } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 403);
  });

  test("the request log shows what the client sent", async () => {
    const before = gh.requests.length;
    const { code } = await authorize();
    await tokenRequest({ ...credentials, code });
    const [auth, tok] = gh.requests.slice(before);
    assert.equal(auth.path, "/login/oauth/authorize");
    assert.equal(auth.query.client_id, GITHUB_CLIENT.id);
    assert.equal(tok.method, "POST");
    assert.equal(tok.form.code, code);
    assert.equal(tok.headers.accept, "application/json");
  });
});

describe("the proxy in front of a second edge-oidc", () => {
  let upstream, ours, proxy, via;
  before(async () => {
    [upstream, ours] = await Promise.all([startWorker(), startWorker()]);
    proxy = await startProxy(upstream.url);
    // The upstream as a client sees it through the proxy (helpers' worker shape).
    via = { url: proxy.url, fetch: (p, init = {}) => fetch(new URL(p, proxy.url), { redirect: "manual", ...init }) };
  });
  after(async () => { await Promise.all([proxy?.stop(), upstream?.stop(), ours?.stop()]); });

  test("two workers side by side keep separate storage", async () => {
    const name = `side${randomBytes(3).toString("hex")}`;
    await createUser(upstream, name);
    const admin = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
    assert.equal((await upstream.fetch(`/admin/users/${name}`, admin)).status, 200);
    assert.equal((await ours.fetch(`/admin/users/${name}`, admin)).status, 404);
    const kids = async (w) => (await (await w.fetch("/jwks.json")).json()).keys.map((k) => k.kid).sort();
    assert.notDeepEqual(await kids(upstream), await kids(ours), "each has its own key ring");
  });

  test("passes responses through unchanged, with the proxy as the upstream's issuer", async () => {
    const direct = await (await upstream.fetch("/jwks.json")).text();
    const res = await via.fetch("/jwks.json");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), direct);
    const doc = await (await via.fetch("/.well-known/openid-configuration")).json();
    assert.equal(doc.issuer, proxy.url, "the issuer follows the Host header the proxy keeps");
    assert.equal(doc.token_endpoint, `${proxy.url}/token`);
    // A redirect comes back as it is, unfollowed.
    const client = await registerClient(upstream);
    const bad = await via.fetch(`/authorize?${new URLSearchParams({ client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: "token" })}`);
    assert.equal(bad.status, 302);
    assert.equal(new URL(bad.headers.get("location")).searchParams.get("error"), "unsupported_response_type");
  });

  test("rewrite alters the chosen response: discovery's issuer, an ID token's signature", async () => {
    proxy.setRewrite((req, res) => {
      if (req.path === "/.well-known/openid-configuration") {
        res.body = JSON.stringify({ ...JSON.parse(res.body), issuer: "https://evil.example" });
      }
      if (req.method === "POST" && req.path === "/token") {
        const body = JSON.parse(res.body);
        const [h, p, s] = body.id_token.split(".");
        const sig = Buffer.from(s, "base64url");
        sig[0] ^= 1;
        body.id_token = [h, p, sig.toString("base64url")].join(".");
        res.body = JSON.stringify(body);
      }
    });
    try {
      assert.equal((await (await via.fetch("/.well-known/openid-configuration")).json()).issuer, "https://evil.example");
      const client = await registerClient(upstream);
      const user = await createUser(upstream);
      // The whole front channel and the token request through the proxy.
      const { code, verifier } = await obtainCode(via, client, user);
      const tokens = await exchange(via, client, { code, verifier });
      assert.ok(tokens.access_token, "the rest of the token response is untouched");
      const { header, payload } = decodeJwt(tokens.id_token);
      assert.equal(payload.iss, proxy.url);
      const jwk = (await (await upstream.fetch("/jwks.json")).json()).keys.find((k) => k.kid === header.kid);
      assert.equal(await verifies(jwk, tokens.id_token), false, "the flipped byte breaks the signature");
      const [h, p, s] = tokens.id_token.split(".");
      const sig = Buffer.from(s, "base64url");
      sig[0] ^= 1;
      assert.equal(await verifies(jwk, [h, p, sig.toString("base64url")].join(".")), true, "and flipping it back mends it");
      assert.ok(proxy.requests.some((r) => r.path === "/token" && r.body.includes(code)), "the proxy logs requests");
    } finally {
      proxy.setRewrite(() => {});
    }
  });
});

/** Whether a JWS verifies under `jwk` (RS256, ES256 or EdDSA), by Node's WebCrypto. */
async function verifies(jwk, jws) {
  const algs = {
    RS256: [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
    ES256: [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
    EdDSA: [{ name: "Ed25519" }, { name: "Ed25519" }],
  };
  const [imp, op] = algs[jwk.alg];
  const key = await webcrypto.subtle.importKey("jwk", jwk, imp, false, ["verify"]);
  const [h, p, s] = jws.split(".");
  return webcrypto.subtle.verify(op, key, Buffer.from(s, "base64url"), Buffer.from(`${h}.${p}`));
}
