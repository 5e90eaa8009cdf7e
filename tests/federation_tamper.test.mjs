// Federated sign-in against an upstream that lies: a second edge-oidc
// instance behind a proxy (tests/upstreams.mjs startProxy) that alters its
// answers. The proxy's URL is the upstream's issuer (the upstream's issuer
// follows the Host header the proxy keeps), so every request ours makes to
// the upstream passes through it. Each lie must leave the person on our
// login page with a 400 and a sentence (never a 5xx), with no session here
// and no code for the RP; the worker's log says which check refused it.
//
// Each case has its own proxy, hence its own issuer and URLs: ours caches
// discovery documents and key sets per URL, so a case never sees another's
// (genuine or altered) documents.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import * as oidc from "openid-client";
import { startWorker } from "./helpers.mjs";
import { Jar, registerClient, createUser, decodeJwt } from "./flow.mjs";
import {
  startProxy, adminCall, person, visit, postStep, throughUpstream, openidRp, backToRp, assertSignedOut,
} from "./upstreams.mjs";

/** store/upstream.rs TIMEOUT_MS. */
const UPSTREAM_TIMEOUT_MS = 3_000;

let up, ours, rp, paths;
const logs = [];
const proxies = [];
before(async () => {
  [up, ours] = await Promise.all([startWorker(), startWorker({ miniflare: { handleStructuredLogs: (l) => logs.push(l) } })]);
  rp = await openidRp(ours, await registerClient(ours, { client_name: "The RP" }));
  const doc = await (await up.fetch("/.well-known/openid-configuration")).json();
  const path = (member) => new URL(doc[member]).pathname;
  paths = { token: path("token_endpoint"), jwks: path("jwks_uri"), userinfo: path("userinfo_endpoint"), authorize: path("authorization_endpoint") };
});
after(async () => {
  await Promise.all([...proxies.map((p) => p.stop()), up?.stop(), ours?.stop()]);
});

let count = 0;
/**
 * A provider of ours: the upstream seen through a new proxy whose
 * response hook is `rewrite`. Returns { id, name, proxy }.
 */
async function provider(rewrite) {
  const proxy = await startProxy(up.url, { rewrite });
  proxies.push(proxy);
  const id = `t${++count}`;
  const name = `Upstream ${id}`;
  const client = await registerClient(up, { redirect_uris: [`${ours.url}/federation/${id}/callback`], client_name: "ours" });
  const res = await adminCall(ours, "POST", "/admin/idps", {
    id, name, kind: "oidc", issuer: proxy.url, client_id: client.client_id, client_secret: client.client_secret,
  });
  assert.equal(res.status, 201, await res.clone().text());
  return { id, name, proxy };
}

const newUser = () => createUser(up, `u${randomBytes(4).toString("hex")}`);

/**
 * A sign-in through provider `p` as `user`, from the RP's URL: ours' login
 * page, its button, the upstream, the callback. Returns { res (ours' answer
 * to the callback, or to the button when it did not send the person to
 * the upstream), jars, checks, took (the callback's milliseconds) }.
 */
async function attempt(p, user, jars = person()) {
  const { url, checks } = await rp.start();
  const page = await visit(ours, jars.ours, url);
  assert.equal(page.status, 200);
  const started = await postStep(ours, jars.ours, await page.text(), "federation", { idp: p.id });
  if (started.status !== 303) return { res: started, jars, checks };
  const callback = await throughUpstream(p.proxy, jars.up, started, user);
  const at = Date.now();
  const res = await visit(ours, jars.ours, callback);
  return { res, jars, checks, took: Date.now() - at };
}

/** The attempt went through: the RP redeems its code; the ID token's claims. */
async function completed({ res, jars, checks }) {
  const back = await backToRp(ours, jars.ours, res);
  const tokens = await oidc.authorizationCodeGrant(rp.config, back, checks);
  return tokens.claims();
}

/**
 * The attempt was refused: our login page again (400, the alert `says`,
 * the password form), no session, and a log line since `mark` matching
 * `logged` (the check that refused it).
 */
async function refused({ res, jars }, p, says, logged, mark, what = "") {
  assert.equal(res.status, 400, `${what}: expected the login page with a 400, got ${res.status}`);
  const html = unescape(await res.text());
  assert.match(html, new RegExp(`Signing in with ${p.name} did not work\\. ${says.source}`));
  assert.match(html, /role="alert"/);
  assert.match(html, /name="password"/, "the person can sign in another way");
  assert.match(html, new RegExp(`value="${p.id}"[^>]*>Continue with ${p.name}<`), "and try the provider again");
  const lines = logs.slice(mark).map((l) => l.message);
  assert.ok(lines.some((m) => logged.test(m)), `no log line matching ${logged} in ${JSON.stringify(lines)}`);
  await assertSignedOut(ours, rp, jars.ours);
}

/** A page's text with the entities askama writes decoded. */
const unescape = (html) => html.replace(/&#x27;|&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

const UNUSABLE = /The provider's answer could not be used, so you were not signed in\./;

/** A token response's body with its ID token passed through `change`. */
const withIdToken = (res, change) => {
  const body = JSON.parse(res.body);
  body.id_token = change(body.id_token);
  res.body = JSON.stringify(body);
};

test("an ID token from an earlier sign-in (signature valid, another nonce) is refused for its nonce", async () => {
  let earlier = null;
  let replay = false;
  const p = await provider((req, res) => {
    if (req.method !== "POST" || req.path !== paths.token || res.status !== 200) return;
    if (replay) withIdToken(res, () => earlier);
    else earlier = JSON.parse(res.body).id_token;
  });
  const user = await newUser();
  const first = await completed(await attempt(p, user));
  assert.equal(first.idp, p.id, "the genuine sign-in works");
  assert.ok(earlier, "the first ID token was seen");
  replay = true;
  const mark = logs.length;
  await refused(await attempt(p, user), p, UNUSABLE, /ID token refused: nonce is not the one this sign-in sent/, mark);
});

test("an ID token with one byte of its signature flipped is refused", async () => {
  const p = await provider((req, res) => {
    if (req.method !== "POST" || req.path !== paths.token || res.status !== 200) return;
    withIdToken(res, (jwt) => {
      const [h, b, s] = jwt.split(".");
      const sig = Buffer.from(s, "base64url");
      sig[sig.length >> 1] ^= 0x01;
      return [h, b, sig.toString("base64url")].join(".");
    });
  });
  const mark = logs.length;
  await refused(await attempt(p, await newUser()), p, UNUSABLE, /ID token refused: its signature is not the provider's/, mark);
});

test("a discovery document naming another issuer than the configured one is refused at the start", async () => {
  const p = await provider((req, res) => {
    if (req.path !== "/.well-known/openid-configuration") return;
    res.body = JSON.stringify({ ...JSON.parse(res.body), issuer: "https://evil.example" });
  });
  const mark = logs.length;
  const result = await attempt(p, await newUser());
  await refused(result, p, UNUSABLE, /its issuer is not the configured issuer/, mark);
  assert.ok(!p.proxy.requests.some((r) => r.path === paths.authorize), "the person was never sent to the upstream");
});

/** A signing key for `alg` (RS256, ES256, EdDSA): its public JWK, and how it signs a JWT. */
function signingKey(alg) {
  const pair = alg === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : generateKeyPairSync("ed25519");
  const kid = `tamper-${alg}`;
  return {
    jwk: { ...pair.publicKey.export({ format: "jwk" }), kid, alg, use: "sig" },
    sign(header, payload) {
      const input = [{ ...header, alg, kid }, payload].map((v) => Buffer.from(JSON.stringify(v)).toString("base64url")).join(".");
      const sig = sign(alg === "EdDSA" ? null : "sha256", Buffer.from(input), { key: pair.privateKey, dsaEncoding: "ieee-p1363" });
      return `${input}.${sig.toString("base64url")}`;
    },
  };
}

test("ID token claims: aud, azp, iss or exp changed are refused, even with a signature that verifies", async () => {
  // To reach the claim checks, the changed token must verify: the proxy
  // adds keys of its own to the upstream's key set and signs the changed
  // claims with the one of the token's alg. The unchanged claims, signed
  // the same way, sign in: so each refusal is the claim's, not the harness's.
  const keys = Object.fromEntries(["RS256", "ES256", "EdDSA"].map((alg) => [alg, signingKey(alg)]));
  let change = (claims) => claims;
  const p = await provider((req, res) => {
    if (req.path === paths.jwks) {
      const set = JSON.parse(res.body);
      res.body = JSON.stringify({ keys: [...set.keys, ...Object.values(keys).map((k) => k.jwk)] });
    }
    if (req.method === "POST" && req.path === paths.token && res.status === 200) {
      withIdToken(res, (jwt) => {
        const { header, payload } = decodeJwt(jwt);
        return keys[header.alg].sign(header, change(payload));
      });
    }
  });
  const user = await newUser();
  const control = await completed(await attempt(p, user));
  assert.equal(control.idp, p.id, "re-signed but unchanged: accepted");
  const cases = [
    [(c) => ({ ...c, aud: "someone-else" }), /ID token refused: aud does not include this client/],
    [({ azp, ...c }) => ({ ...c, aud: [c.aud, "someone-else"] }), /ID token refused: aud has several members and there is no azp/],
    [(c) => ({ ...c, aud: [c.aud, "someone-else"], azp: "someone-else" }), /ID token refused: azp is not this client/],
    [(c) => ({ ...c, iss: "https://evil.example" }), /ID token refused: iss is not the provider's issuer/],
    [(c) => ({ ...c, iss: `${p.proxy.url}/` }), /ID token refused: iss is not the provider's issuer/],
    [(c) => ({ ...c, exp: Math.floor(Date.now() / 1000) - 3600 }), /ID token refused: exp/],
  ];
  for (const [changed, logged] of cases) {
    change = changed;
    const mark = logs.length;
    await refused(await attempt(p, user), p, UNUSABLE, logged, mark, String(changed));
  }
});

test("a user-info answer about another sub is refused", async () => {
  const p = await provider((req, res) => {
    if (req.path !== paths.userinfo || res.status !== 200) return;
    res.body = JSON.stringify({ ...JSON.parse(res.body), sub: "someone-else" });
  });
  const mark = logs.length;
  await refused(await attempt(p, await newUser()), p, UNUSABLE, /user info: its sub is not the ID token's/, mark);
});

test("a token endpoint that fails, answers HTML or is too slow: the page says so, never a 5xx", async () => {
  let answer;
  const p = await provider(async (req, res) => {
    if (req.method === "POST" && req.path === paths.token) await answer(res);
  });
  const user = await newUser();
  const cases = [
    ["500", (res) => Object.assign(res, { status: 500, headers: { "content-type": "text/plain" }, body: "Internal Server Error" }),
      UNUSABLE, /token response: HTTP 500, not a JSON object/],
    ["HTML", (res) => Object.assign(res, { status: 200, headers: { "content-type": "text/html" }, body: "<!DOCTYPE html><h1>Maintenance</h1>" }),
      UNUSABLE, /token response: HTTP 200, not a JSON object/],
    ["slow", () => new Promise((resolve) => setTimeout(resolve, UPSTREAM_TIMEOUT_MS + 1_500)),
      /The provider took too long to answer\./, /upstream timed out/],
  ];
  for (const [what, change, says, logged] of cases) {
    answer = change;
    const mark = logs.length;
    const result = await attempt(p, user);
    if (what === "slow") {
      assert.ok(result.took >= UPSTREAM_TIMEOUT_MS, `gave up after ${result.took} ms, before the time-out`);
      assert.ok(result.took < UPSTREAM_TIMEOUT_MS + 1_500, `waited ${result.took} ms: the whole slow answer, not the time-out`);
    }
    await refused(result, p, says, logged, mark);
  }
});

test("after a key rotation at the upstream the next sign-in still works: the key set is fetched again", async () => {
  const kids = [];
  const p = await provider((req, res) => {
    if (req.method === "POST" && req.path === paths.token && res.status === 200) {
      kids.push(decodeJwt(JSON.parse(res.body).id_token).header.kid);
    }
  });
  const keySetFetches = () => p.proxy.requests.filter((r) => r.path === paths.jwks).length;
  const user = await newUser();
  const jars = person();
  const first = await completed(await attempt(p, user, jars));
  assert.equal(keySetFetches(), 1);

  const rotated = await adminCall(up, "POST", "/admin/keys/rotate", { reason: "compromise" });
  assert.equal(rotated.status, 200, await rotated.clone().text());
  const published = (await (await up.fetch("/jwks.json")).json()).keys.map((k) => k.kid);
  assert.ok(!published.includes(kids[0]), "a compromise unpublishes the old key at once");

  // A new browser session here; the upstream's is kept (it may have ended with the rotation).
  const second = await completed(await attempt(p, user, { ours: new Jar(), up: jars.up }));
  assert.notEqual(kids[1], kids[0], "signed with the new key");
  assert.equal(second.sub, first.sub, "the same account");
  assert.equal(keySetFetches(), 2, "the unknown kid fetched the key set again, once");
  await completed(await attempt(p, user, { ours: new Jar(), up: jars.up }));
  assert.equal(keySetFetches(), 2, "then the new set is cached");
});
