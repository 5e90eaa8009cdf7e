// Apple's kind of client secret: instead of a stored secret, ours signs a
// short ES256 JWT with the team's private key (Apple's "Creating a client
// secret": header alg ES256 + kid, claims iss = team id, sub = client id,
// aud = https://appleid.apple.com, iat, exp at most six months on) and
// sends it as client_secret with client_secret_post.
//
// The upstream is a second edge-oidc behind a proxy that plays Apple's
// token endpoint: it verifies the client_secret it receives with the public
// half of a P-256 key made here, then swaps in the upstream client's real
// secret and forwards, so the sign-in completes only when the JWT was right.
// Also: the admin API never shows the private key back, and a PUT without
// it keeps it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes, verify } from "node:crypto";
import * as oidc from "openid-client";
import { startWorker } from "./helpers.mjs";
import { registerClient, createUser, decodeJwt } from "./flow.mjs";
import {
  startProxy, adminCall, person, visit, postStep, throughUpstream, openidRp, backToRp,
} from "./upstreams.mjs";

const TEAM_ID = "TEAM123456";
const KEY_ID = "KEY7654321";
const APPLE_AUDIENCE = "https://appleid.apple.com";
/** Apple refuses a client secret that expires more than six months on. */
const SIX_MONTHS = 15_777_000;

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const PRIVATE_PEM = privateKey.export({ type: "pkcs8", format: "pem" });

let up, ours, proxy, rp, client, body;
/** What the proxy made of each client_secret it received: { jwt, problems }. */
const seen = [];

/** Every way `jwt` is not Apple's client secret for our client, now. */
function problems(jwt) {
  const out = [];
  const parts = jwt.split(".");
  if (parts.length !== 3) return [`${parts.length} parts`];
  const { header, payload } = decodeJwt(jwt);
  if (header.alg !== "ES256") out.push(`alg ${header.alg}`);
  if (header.kid !== KEY_ID) out.push(`kid ${header.kid}`);
  if (payload.iss !== TEAM_ID) out.push(`iss ${payload.iss}`);
  if (payload.sub !== client.client_id) out.push(`sub ${payload.sub}`);
  if (payload.aud !== APPLE_AUDIENCE) out.push(`aud ${payload.aud}`);
  const now = Math.floor(Date.now() / 1000);
  if (!Number.isInteger(payload.iat) || Math.abs(payload.iat - now) > 60) out.push(`iat ${payload.iat}`);
  if (!Number.isInteger(payload.exp) || payload.exp <= now || payload.exp - payload.iat > SIX_MONTHS) out.push(`exp ${payload.exp}`);
  const signed = verify("sha256", Buffer.from(`${parts[0]}.${parts[1]}`), { key: publicKey, dsaEncoding: "ieee-p1363" },
    Buffer.from(parts[2], "base64url"));
  if (!signed) out.push("signature");
  return out;
}

before(async () => {
  [up, ours] = await Promise.all([startWorker(), startWorker()]);
  rp = await openidRp(ours, await registerClient(ours, { client_name: "The RP" }));
  proxy = await startProxy(up.url, {
    // Apple's token endpoint: the client secret must be the JWT; the
    // upstream edge-oidc knows only its own secret, which replaces it.
    rewriteRequest(req, out) {
      if (req.method !== "POST" || req.path !== "/token") return;
      const form = new URLSearchParams(req.body);
      const jwt = form.get("client_secret") ?? "";
      const wrong = problems(jwt);
      seen.push({ jwt, problems: wrong, form: Object.fromEntries(form), authorization: req.headers.authorization });
      if (wrong.length) return; // forwarded as it came: the upstream refuses it
      form.set("client_secret", client.client_secret);
      out.body = form.toString();
    },
  });
  client = await registerClient(up, {
    redirect_uris: [`${ours.url}/federation/apple/callback`], client_name: "ours", token_endpoint_auth_method: "client_secret_post",
  });
  body = {
    id: "apple", name: "Apple", kind: "oidc", issuer: proxy.url, client_id: client.client_id,
    apple_client_secret: { team_id: TEAM_ID, key_id: KEY_ID, private_key: PRIVATE_PEM },
    token_endpoint_auth_method: "client_secret_post",
  };
  const res = await adminCall(ours, "POST", "/admin/idps", body);
  assert.equal(res.status, 201, await res.clone().text());
});
after(async () => {
  await Promise.all([proxy?.stop(), up?.stop(), ours?.stop()]);
});

/** A whole sign-in through Apple as `user`; the RP's ID token claims. */
async function signIn(user, jars = person()) {
  const { url, checks } = await rp.start();
  const page = await visit(ours, jars.ours, url);
  const started = await postStep(ours, jars.ours, await page.text(), "federation", { idp: "apple" });
  const callback = await throughUpstream(proxy, jars.up, started, user);
  const back = await backToRp(ours, jars.ours, await visit(ours, jars.ours, callback));
  return (await oidc.authorizationCodeGrant(rp.config, back, checks)).claims();
}

test("the client secret is an ES256 JWT signed with the team's key, Apple's way, and the sign-in completes", async () => {
  const user = await createUser(up, `apple${randomBytes(3).toString("hex")}`);
  const from = seen.length;
  const claims = await signIn(user);
  assert.equal(claims.idp, "apple");
  assert.notEqual(claims.sub, user.sub);
  const [sent, ...more] = seen.slice(from);
  assert.equal(more.length, 0, "one token request");
  assert.deepEqual(sent.problems, [], `the client secret: ${JSON.stringify(decodeJwt(sent.jwt))}`);
  assert.equal(sent.form.client_id, client.client_id, "client_secret_post: the client id in the form");
  assert.equal(sent.authorization, undefined, "and no Basic header");
  const { payload } = decodeJwt(sent.jwt);
  assert.ok(payload.exp - payload.iat <= 3600, `a short-lived secret (${payload.exp - payload.iat} s)`);

  // The next sign-in signs a secret again (ECDSA signatures differ each time).
  await signIn(user);
  assert.deepEqual(seen.at(-1).problems, []);
  assert.notEqual(seen.at(-1).jwt, sent.jwt);
});

test("the proxy's check can fail: a secret signed with another key is refused", async () => {
  // The check above is only worth something if a wrong secret fails it.
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" });
  const put = await adminCall(ours, "PUT", "/admin/idps/apple", {
    ...body, apple_client_secret: { team_id: TEAM_ID, key_id: KEY_ID, private_key: other },
  });
  assert.equal(put.status, 200, await put.clone().text());
  try {
    const user = await createUser(up, `apple${randomBytes(3).toString("hex")}`);
    const jars = person();
    const { url } = await rp.start();
    const page = await visit(ours, jars.ours, url);
    const started = await postStep(ours, jars.ours, await page.text(), "federation", { idp: "apple" });
    const res = await visit(ours, jars.ours, await throughUpstream(proxy, jars.up, started, user));
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Signing in with Apple did not work\. The provider refused the sign-in \(invalid_client\)/);
    assert.deepEqual(seen.at(-1).problems, ["signature"]);
  } finally {
    const back = await adminCall(ours, "PUT", "/admin/idps/apple", body);
    assert.equal(back.status, 200);
  }
});

test("the admin API never shows the private key; a PUT without it keeps it", async () => {
  const pemBody = PRIVATE_PEM.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
  const shown = [
    await (await adminCall(ours, "GET", "/admin/idps/apple")).text(),
    await (await adminCall(ours, "GET", "/admin/idps")).text(),
  ];
  for (const text of shown) {
    assert.ok(!text.includes("PRIVATE KEY") && !text.includes(pemBody.slice(0, 40)), text);
    assert.ok(!text.includes("private_key"), text);
  }
  const view = JSON.parse(shown[0]);
  assert.deepEqual(view.apple_client_secret, { team_id: TEAM_ID, key_id: KEY_ID });
  assert.equal(view.client_secret_set, undefined);

  // PUT as the API shows it (the ids, no key), or without apple_client_secret at all: the key stays.
  const { apple_client_secret, ...rest } = body;
  for (const changed of [
    { ...rest, name: "Apple (renamed)", apple_client_secret: { team_id: TEAM_ID, key_id: KEY_ID } },
    { ...rest, name: "Apple" },
  ]) {
    const put = await adminCall(ours, "PUT", "/admin/idps/apple", changed);
    assert.equal(put.status, 200, await put.clone().text());
    assert.ok(!(await put.text()).includes("PRIVATE KEY"));
    const from = seen.length;
    await signIn(await createUser(up, `apple${randomBytes(3).toString("hex")}`));
    assert.deepEqual(seen.slice(from).map((s) => s.problems), [[]], "signed with the kept key");
  }

  // New ids need their key; a key that is not PKCS#8 PEM is refused.
  for (const bad of [
    { team_id: TEAM_ID, key_id: "OTHERKEY01" },
    { team_id: "OTHERTEAM1", key_id: KEY_ID },
    { team_id: TEAM_ID, key_id: KEY_ID, private_key: privateKey.export({ type: "sec1", format: "pem" }) },
  ]) {
    const res = await adminCall(ours, "PUT", "/admin/idps/apple", { ...rest, apple_client_secret: bad });
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal((await res.json()).error, "invalid_request");
  }
  // None of that changed the provider.
  assert.deepEqual((await (await adminCall(ours, "GET", "/admin/idps/apple")).json()).apple_client_secret, { team_id: TEAM_ID, key_id: KEY_ID });
});
