// Forged and mangled JWTs at every endpoint that accepts one: none gets a
// 5xx, none is accepted, and each endpoint gives its protocol's answer for a
// bad token: /userinfo 401 invalid_token (RFC 6750 §3.1), /introspect
// {"active": false} (RFC 7662 §2.2), /revoke 200 (RFC 7009 §2.2), /logout an
// error page, /token invalid_grant (as a refresh token and as a code).
//
// The tokens are generated deterministically (a seeded PRNG, a fixed count):
// every alg (RS256, ES256, EdDSA, HS256, none, unknown), published, unknown
// and missing kids, header shapes (not JSON, not base64url, an array, typ
// variants, crit), payload shapes, signature shapes (empty, wrong length,
// garbage, a valid signature by another key, one bit flipped of a real
// token), and two, four and five segments.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { startWorker } from "./helpers.mjs";
import { createUser, decodeJwt, REDIRECT_URI } from "./flow.mjs";
import { signIn, clientPost, introspect, revoke, refresh } from "./lifecycle.mjs";

const SEED = 0x5eed_10;
const RANDOM_CASES = 200;
const ALGS = ["RS256", "ES256", "EdDSA"];
/** Signature length in octets by alg: RFC 7518 §3.3 (2048-bit keys), §3.4; RFC 8037 §3.1. */
const SIG_LEN = { RS256: 256, ES256: 64, EdDSA: 64 };

/** mulberry32: a small seeded PRNG, so every run throws the same tokens. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return {
    int,
    pick: (xs) => xs[int(xs.length)],
    chance: (p) => next() < p,
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))),
  };
}

const b64 = (bytes) => Buffer.from(bytes).toString("base64url");
const json64 = (v) => b64(JSON.stringify(v));
const parts = (jwt) => jwt.split(".");

/** Node keys of each alg that are not ours: their signatures are valid, just not by a published key. */
const STRANGERS = {
  RS256: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
  ES256: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey,
  EdDSA: generateKeyPairSync("ed25519").privateKey,
};
const strangerSign = (alg, input) =>
  sign(alg === "EdDSA" ? null : "sha256", Buffer.from(input), { key: STRANGERS[alg], dsaEncoding: "ieee-p1363" });

/** A copy of `buf` with bit `bit` flipped. */
function flipBit(buf, bit) {
  const out = Buffer.from(buf);
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}

let worker, client, real, jwks;
before(async () => {
  worker = await startWorker();
  const user = await createUser(worker, "forged-tokens-user");
  // One sign-in per ID token alg: real ID tokens of each, and real ES256 access tokens.
  real = {};
  for (const alg of ALGS) {
    const s = await signIn(worker, { user, metadata: { id_token_signed_response_alg: alg } });
    real[alg] = s;
    client ??= s.client;
  }
  jwks = (await (await worker.fetch("/jwks.json")).json()).keys;
});
after(async () => { await worker?.stop(); });

/** The published kid for `alg`, and one of another alg. */
const kidOf = (alg) => jwks.find((k) => k.alg === alg)?.kid;

/**
 * The forged tokens: [{ token, what, tags }]. `tags` name the shapes a case
 * covers, so the test can check the generator covers every one it should.
 */
function forgeries() {
  const r = prng(SEED);
  const out = [];
  const add = (token, what, ...tags) => out.push({ token, what, tags });

  // Real tokens, mangled: one per ID token alg, and the ES256 access token.
  const reals = [
    ...ALGS.map((alg) => ({ alg, jwt: real[alg].tokens.id_token, kind: "id_token" })),
    { alg: "ES256", jwt: real.ES256.tokens.access_token, kind: "access_token" },
  ];
  for (const { alg, jwt, kind } of reals) {
    const [h, p, s] = parts(jwt);
    const sig = Buffer.from(s, "base64url");
    const name = `${kind} ${alg}`;
    add(`${h}.${p}.`, `${name}: empty signature`, "kid:published", "sig:empty", `alg:${alg}`);
    for (const n of [1, SIG_LEN[alg] - 1, SIG_LEN[alg] + 1, 2 * SIG_LEN[alg], 72, 255, 257, 512]) {
      add(`${h}.${p}.${b64(r.bytes(n))}`, `${name}: ${n}-octet signature`, "kid:published", "sig:wrong-length", `alg:${alg}`);
    }
    add(`${h}.${p}.${b64(r.bytes(SIG_LEN[alg]))}`, `${name}: garbage signature`, "kid:published", "sig:garbage", `alg:${alg}`);
    add(`${h}.${p}.${b64(Buffer.alloc(SIG_LEN[alg]))}`, `${name}: zero signature`, "kid:published", "sig:garbage");
    add(`${h}.${p}.${b64(Buffer.alloc(SIG_LEN[alg], 0xff))}`, `${name}: all-ones signature`, "kid:published", "sig:garbage");
    for (const bad of ["!!!!", `${s}=`, `${s}==`, s.slice(0, -1), `${s}A`, `${s.slice(0, 10)}*${s.slice(11)}`, `${s}~`]) {
      add(`${h}.${p}.${bad}`, `${name}: signature ${JSON.stringify(bad.slice(-4))}`, "kid:published", "sig:not-base64url");
    }
    for (const bit of [0, 7, 8 * 13 + 3, sig.length * 8 - 1]) {
      add(`${h}.${p}.${b64(flipBit(sig, bit))}`, `${name}: signature bit ${bit} flipped`, "kid:published", "bitflip:signature", `alg:${alg}`);
    }
    const header = Buffer.from(h, "base64url");
    const payload = Buffer.from(p, "base64url");
    for (const bit of [3, 8 * 9 + 1, header.length * 8 - 9]) {
      add(`${b64(flipBit(header, bit))}.${p}.${s}`, `${name}: header bit ${bit} flipped`, "bitflip:header");
    }
    for (const bit of [5, 8 * 40 + 2, payload.length * 8 - 12]) {
      add(`${h}.${b64(flipBit(payload, bit))}.${s}`, `${name}: payload bit ${bit} flipped`, "bitflip:payload");
    }
    add(`${h}.${p}.${b64(strangerSign(alg, `${h}.${p}`))}`, `${name}: signed by another ${alg} key`, "kid:published", "sig:other-key", `alg:${alg}`);
    const other = reals.find((x) => x.jwt !== jwt && x.alg === alg) ?? reals.find((x) => x.jwt !== jwt);
    add(`${h}.${p}.${parts(other.jwt)[2]}`, `${name}: another token's signature`, "kid:published", "sig:transplant");
    add(`${h}.${p}`, `${name}: two segments`, "segments:2");
    add(`${jwt}.${s}`, `${name}: four segments`, "segments:4");
    add(`${jwt}.${s}.${s}`, `${name}: five segments`, "segments:5");
    add(`${h}..${s}`, `${name}: empty payload`, "payload:empty");
    add(`.${p}.${s}`, `${name}: empty header`, "header:empty");
    add(`${h}.${p}.${s}.`, `${name}: trailing dot`, "segments:4");
    // The same claims and signature under other headers (alg and kid swapped, crit added).
    const hdr = JSON.parse(header);
    for (const [what, swapped, ...tags] of [
      ["alg none", { ...hdr, alg: "none" }, "alg:none"],
      ["alg HS256", { ...hdr, alg: "HS256" }, "alg:HS256"],
      ["alg unknown", { ...hdr, alg: "XS999" }, "alg:unknown"],
      ["alg lower-case", { ...hdr, alg: alg.toLowerCase() }, "alg:unknown"],
      ["another alg's kid", { ...hdr, kid: kidOf(ALGS.find((a) => a !== alg)) }, "kid:other-alg"],
      ["unknown kid", { ...hdr, kid: "no-such-kid" }, "kid:unknown"],
      ["no kid", { alg, typ: hdr.typ }, "kid:missing"],
      ["crit", { ...hdr, crit: ["exp"], exp: 1 }, "header:crit"],
      ["empty crit", { ...hdr, crit: [] }, "header:crit"],
      ["typ JWT", { ...hdr, typ: "JWT" }, "header:typ"],
      ["typ at+jwt", { ...hdr, typ: "at+jwt" }, "header:typ"],
      ["typ application/at+jwt", { ...hdr, typ: "application/at+jwt" }, "header:typ"],
      ["typ a number", { ...hdr, typ: 1 }, "header:typ"],
      ["jku", { ...hdr, jku: "https://attacker.example/jwks" }, "header:object"],
      ["embedded jwk", { ...hdr, jwk: jwks.find((k) => k.kid === hdr.kid) }, "header:object"],
    ]) {
      // A typ the token already has would give back the real token.
      if (json64(swapped) !== h) add(`${json64(swapped)}.${p}.${s}`, `${name}: ${what}`, ...tags);
    }
    // alg none with our kid, and HS256 keyed with our own public key (alg confusion).
    add(`${json64({ alg: "none", kid: hdr.kid, typ: hdr.typ })}.${p}.`, `${name}: alg none, no signature`, "alg:none", "kid:published");
    const hs = `${json64({ alg: "HS256", kid: hdr.kid, typ: hdr.typ })}.${p}`;
    const pub = JSON.stringify(jwks.find((k) => k.kid === hdr.kid));
    add(`${hs}.${b64(createHmac("sha256", pub).update(hs).digest())}`, `${name}: HS256 with the public key as secret`, "alg:HS256", "kid:published");
  }

  // Random combinations of header, payload and signature shapes.
  const access = decodeJwt(real.ES256.tokens.access_token).payload;
  const now = Math.floor(Date.now() / 1000);
  const headerShapes = {
    object: (alg, kid, typ, crit) => json64({ alg, ...(kid === undefined ? {} : { kid }), ...(typ === undefined ? {} : { typ }), ...(crit ? { crit } : {}) }),
    "not-json": () => b64("{alg: ES256}"),
    "not-base64url": () => "eyJ!bGci*",
    array: (alg) => json64([alg]),
    string: (alg) => json64(alg),
    null: () => json64(null),
    empty: () => "",
    padded: (alg, kid) => `${Buffer.from(JSON.stringify({ alg, kid })).toString("base64")}==`,
  };
  const payloadShapes = {
    claims: () => json64({ ...access, exp: now + 3600 }),
    expired: () => json64({ ...access, exp: now - 10 }),
    "exp-string": () => json64({ ...access, exp: String(now + 3600) }),
    "aud-array": () => json64({ ...access, aud: [access.aud, "other"] }),
    "no-claims": () => json64({}),
    "not-json": () => b64("not json"),
    array: () => json64([access]),
    empty: () => "",
    huge: () => json64({ ...access, pad: "x".repeat(8_000) }),
    "not-base64url": () => "%%%",
  };
  for (let i = 0; i < RANDOM_CASES; i++) {
    const alg = r.pick([...ALGS, ...ALGS, "HS256", "none", "PS256", "XS999", ""]);
    const kidKind = r.pick(["published", "published", "other-alg", "unknown", "missing", "number", "huge"]);
    const kid = {
      published: kidOf(alg) ?? kidOf("ES256"),
      "other-alg": kidOf(ALGS.find((a) => a !== alg) ?? "RS256"),
      unknown: b64(r.bytes(32)),
      missing: undefined,
      number: 12345,
      huge: "k".repeat(2_000),
    }[kidKind];
    const typ = r.pick([undefined, "JWT", "at+jwt", "application/at+jwt", "jwt", 7]);
    const crit = r.chance(0.1) ? r.pick([["exp"], [], ["b64"]]) : undefined;
    const hShape = r.chance(0.7) ? "object" : r.pick(Object.keys(headerShapes).filter((k) => k !== "object"));
    const pShape = r.chance(0.6) ? "claims" : r.pick(Object.keys(payloadShapes));
    const h = headerShapes[hShape](alg, kid, typ, crit);
    const p = payloadShapes[pShape]();
    const len = SIG_LEN[alg] ?? 32;
    const sShape = r.pick(["empty", "wrong-length", "right-length", "right-length", "not-base64url", "other-key", "transplant"]);
    const s = {
      empty: () => "",
      "wrong-length": () => b64(r.bytes(1 + r.int(300))),
      "right-length": () => b64(r.bytes(len)),
      "not-base64url": () => r.pick(["*", "a=", "====", "AB CD"]).replace(" ", "+"),
      "other-key": () => b64(ALGS.includes(alg) ? strangerSign(alg, `${h}.${p}`) : r.bytes(len)),
      transplant: () => parts(real[r.pick(ALGS)].tokens.id_token)[2],
    }[sShape]();
    const segments = r.chance(0.85) ? 3 : r.pick([2, 4, 5]);
    const token = segments === 2 ? `${h}.${p}` : [h, p, s, ...Array(segments - 3).fill(s || "e30")].join(".");
    add(token, `random ${i}: alg ${JSON.stringify(alg)} kid ${kidKind} header ${hShape} payload ${pShape} sig ${sShape} (${segments} segments)`,
      `alg:${ALGS.includes(alg) || ["HS256", "none"].includes(alg) ? alg : "unknown"}`, `kid:${kidKind}`, `header:${hShape}`,
      `payload:${pShape}`, `sig:${sShape}`, `segments:${segments}`);
  }
  return out;
}

/** Each endpoint's answer to a bad token; returns what is wrong with `res`, or null. */
const EXPECT = {
  async userinfo(res) {
    const text = await res.text();
    if (res.status !== 401) return `${res.status} ${text.slice(0, 200)}`;
    if (JSON.parse(text).error !== "invalid_token") return text.slice(0, 200);
    if (!/^Bearer .*error="invalid_token"/.test(res.headers.get("www-authenticate") ?? "")) return `WWW-Authenticate: ${res.headers.get("www-authenticate")}`;
    return null;
  },
  async introspect(res) {
    const text = await res.text();
    return res.status === 200 && text === '{"active":false}' ? null : `${res.status} ${text.slice(0, 200)}`;
  },
  async revoke(res) {
    const text = await res.text();
    return res.status === 200 ? null : `${res.status} ${text.slice(0, 200)}`;
  },
  async logout(res) {
    const text = await res.text();
    const html = /^text\/html/.test(res.headers.get("content-type") ?? "");
    return res.status === 400 && html && /not a valid ID token/.test(text) ? null : `${res.status} ${text.slice(0, 200)}`;
  },
  async token(res) {
    const text = await res.text();
    return res.status === 400 && JSON.parse(text).error === "invalid_grant" ? null : `${res.status} ${text.slice(0, 200)}`;
  },
};

/** Every endpoint that accepts a JWT, with this token. */
const requests = (t) => [
  ["GET /userinfo (Bearer)", EXPECT.userinfo, () => worker.fetch("/userinfo", { headers: { authorization: `Bearer ${t}` } })],
  ["GET /userinfo?access_token", EXPECT.userinfo, () => worker.fetch(`/userinfo?access_token=${encodeURIComponent(t)}`)],
  ["POST /introspect", EXPECT.introspect, () => introspect(worker, client, t)],
  ["POST /revoke", EXPECT.revoke, () => revoke(worker, client, t)],
  ["GET /logout?id_token_hint", EXPECT.logout, () => worker.fetch(`/logout?id_token_hint=${encodeURIComponent(t)}`)],
  ["POST /token refresh_token", EXPECT.token, () => refresh(worker, client, t)],
  ["POST /token code", EXPECT.token, () => clientPost(worker, "/token", client, { grant_type: "authorization_code", code: t, redirect_uri: REDIRECT_URI })],
];

test("the real tokens the forgeries start from are accepted", async () => {
  const { access_token, id_token } = real.ES256.tokens;
  assert.equal((await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${access_token}` } })).status, 200);
  // Introspected by its own client: another one, not a resource server, sees it inactive.
  assert.equal((await (await introspect(worker, real.ES256.client, access_token)).json()).active, true);
  const logout = await worker.fetch(`/logout?id_token_hint=${encodeURIComponent(id_token)}`);
  assert.equal(logout.status, 200, await logout.text());
});

test("the generator covers every alg, kid, header, payload, signature and segment shape", () => {
  const all = forgeries();
  assert.ok(all.length >= 300 && all.length <= 600, `${all.length} tokens`);
  // Deterministic, except for the bytes of ECDSA signatures by another key (randomised by nature).
  assert.deepEqual(forgeries().map((f) => f.what), all.map((f) => f.what), "deterministic");
  const tags = new Set(all.flatMap((f) => f.tags));
  const required = [
    ...["RS256", "ES256", "EdDSA", "HS256", "none", "unknown"].map((a) => `alg:${a}`),
    "kid:published", "kid:unknown", "kid:missing", "kid:other-alg",
    "header:not-json", "header:not-base64url", "header:array", "header:typ", "header:crit", "header:empty",
    "payload:not-json", "payload:array", "payload:empty", "payload:huge", "payload:expired",
    "sig:empty", "sig:wrong-length", "sig:garbage", "sig:not-base64url", "sig:other-key", "sig:transplant",
    "bitflip:signature", "bitflip:header", "bitflip:payload",
    "segments:2", "segments:4", "segments:5",
  ];
  assert.deepEqual(required.filter((t) => !tags.has(t)), [], "shapes not covered");
  // A published kid with a wrongly sized signature, for every alg: the case that answered 500.
  for (const alg of ALGS) {
    assert.ok(all.some((f) => f.tags.includes("sig:wrong-length") && f.tags.includes("kid:published") && f.tags.includes(`alg:${alg}`)), alg);
  }
});

test("forged and mangled JWTs: no 5xx anywhere, and each endpoint's answer for a bad token", async () => {
  const failures = [];
  const fivexx = [];
  for (const { token, what } of forgeries()) {
    for (const [endpoint, expect, send] of requests(token)) {
      let res;
      try {
        res = await send();
      } catch (e) {
        failures.push(`${endpoint} [${what}]: ${e.message}`);
        continue;
      }
      if (res.status >= 500) fivexx.push(`${endpoint} [${what}]: ${res.status}`);
      const wrong = await expect(res);
      if (wrong) failures.push(`${endpoint} [${what}]: ${wrong}`);
    }
  }
  assert.deepEqual(fivexx, [], "5xx answers");
  assert.deepEqual(failures, []);
});

test("after the forgeries, the real tokens still work: nothing forged revoked them", async () => {
  for (const alg of ALGS) {
    const { access_token, refresh_token } = real[alg].tokens;
    const res = await worker.fetch("/userinfo", { headers: { authorization: `Bearer ${access_token}` } });
    assert.equal(res.status, 200, `${alg}: ${await res.text()}`);
    const info = await (await introspect(worker, real[alg].client, refresh_token)).json();
    assert.equal(info.active, true, alg);
  }
});
