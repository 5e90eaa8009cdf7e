// What the floor workers (bench/bare-token, bench/bare-grant,
// bench/bare-authorize) share: base64url, SHA-256, random tokens, JWTs
// signed and verified with WebCrypto, the fixed client's Basic check and
// the token endpoint's answers. The keys are private JWKs the bench makes
// at start (the KEYS binding: ES256 and RS256), imported once per isolate,
// as a server keeps its signing keys imported.
const encoder = new TextEncoder();

/** The one client of the floors: `bench` with secret `bench`. */
export const CLIENT_ID = "bench";
const BASIC = "Basic " + btoa("bench:bench");
export const ISSUER = "https://bench";

export const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const text64 = (s) => b64url(encoder.encode(s));
const unb64url = (s) => Uint8Array.from(atob(s.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

export const sha256url = async (text) => b64url(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
/** 256 random bits, base64url. */
export const randomToken = () => b64url(crypto.getRandomValues(new Uint8Array(32)));

const ALGS = {
  ES256: { key: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" }, public: ["kty", "crv", "x", "y"] },
  RS256: { key: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, sign: { name: "RSASSA-PKCS1-v1_5" }, public: ["kty", "n", "e"] },
};

let keys; // per isolate: a promise of { ES256: { sign, verify }, RS256: { sign, verify } }

async function importPair(alg, jwk) {
  const { key, public: fields } = ALGS[alg];
  const pub = Object.fromEntries(fields.map((f) => [f, jwk[f]]));
  return {
    sign: await crypto.subtle.importKey("jwk", jwk, key, false, ["sign"]),
    verify: await crypto.subtle.importKey("jwk", pub, key, false, ["verify"]),
  };
}

const keysOf = (env) => (keys ??= Promise.all(Object.keys(ALGS).map((a) => importPair(a, env.KEYS[a])))
  .then((pairs) => Object.fromEntries(Object.keys(ALGS).map((a, i) => [a, pairs[i]]))));

/** A compact JWS over `claims`, signed with the isolate's `alg` key. */
export async function signJwt(env, alg, typ, claims) {
  const input = `${text64(JSON.stringify({ alg, typ, kid: alg }))}.${text64(JSON.stringify(claims))}`;
  const sig = await crypto.subtle.sign(ALGS[alg].sign, (await keysOf(env))[alg].sign, encoder.encode(input));
  return `${input}.${b64url(sig)}`;
}

/** The claims of an ES256 JWT whose signature holds, else null. */
export async function verifyJwt(env, jwt) {
  const [header, payload, sig] = jwt.split(".");
  if (!sig) return null;
  const ok = await crypto.subtle.verify(ALGS.ES256.sign, (await keysOf(env)).ES256.verify, unb64url(sig), encoder.encode(`${header}.${payload}`))
    .catch(() => false);
  return ok ? JSON.parse(new TextDecoder().decode(unb64url(payload))) : null;
}

export const basicOk = (request) => request.headers.get("authorization") === BASIC;
export const seconds = () => Math.floor(Date.now() / 1000);

// RFC 6749 §5.1: token responses are not to be cached.
const TOKEN_HEADERS = { "content-type": "application/json", "cache-control": "no-store", pragma: "no-cache" };
export const tokenResponse = (body) => new Response(JSON.stringify(body), { headers: TOKEN_HEADERS });
export const tokenError = (status, error) => new Response(JSON.stringify({ error }), { status, headers: TOKEN_HEADERS });
