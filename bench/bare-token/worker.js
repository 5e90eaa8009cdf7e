// The floor for a client_credentials token in JavaScript on this runtime:
// a module worker that reads the form body, checks a Basic header against a
// fixed secret, signs one ES256 JWT with WebCrypto (key made once per
// isolate) and answers the token response with the no-store headers. No
// client lookup, no claims policy, no key ring: what any token endpoint must
// do at the least, without a line of wasm.
const SECRET = "Basic " + btoa("bench:bench");
let key;

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const text64 = (s) => b64url(new TextEncoder().encode(s));

async function sign(claims) {
  key ??= (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])).privateKey;
  const input = `${text64(JSON.stringify({ alg: "ES256", typ: "at+jwt", kid: "k1" }))}.${text64(JSON.stringify(claims))}`;
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(input));
  return `${input}.${b64url(sig)}`;
}

export default {
  async fetch(request) {
    const form = new URLSearchParams(await request.text());
    const headers = { "content-type": "application/json", "cache-control": "no-store", pragma: "no-cache" };
    if (request.headers.get("authorization") !== SECRET || form.get("grant_type") !== "client_credentials") {
      return new Response('{"error":"invalid_client"}', { status: 401, headers });
    }
    const now = Math.floor(Date.now() / 1000);
    const access_token = await sign({
      iss: "https://bench", sub: "bench", aud: "https://bench", client_id: "bench",
      scope: form.get("scope") ?? "", iat: now, exp: now + 3600, jti: crypto.randomUUID(),
    });
    return new Response(JSON.stringify({ access_token, token_type: "Bearer", expires_in: 3600 }), { headers });
  },
};
