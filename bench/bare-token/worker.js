// The floor for a client_credentials token in JavaScript on this runtime:
// a module worker that reads the form body, checks a Basic header against a
// fixed secret, signs one ES256 JWT with WebCrypto (key imported once per
// isolate) and answers the token response with the no-store headers. No
// client lookup, no claims policy, no key ring: what any token endpoint must
// do at the least, without a line of wasm.
import { CLIENT_ID, ISSUER, basicOk, seconds, signJwt, tokenError, tokenResponse } from "../floors/jose.js";

export default {
  async fetch(request, env) {
    const form = new URLSearchParams(await request.text());
    if (!basicOk(request)) return tokenError(401, "invalid_client");
    if (form.get("grant_type") !== "client_credentials") return tokenError(400, "unsupported_grant_type");
    const now = seconds();
    const access_token = await signJwt(env, "ES256", "at+jwt", {
      iss: ISSUER, sub: CLIENT_ID, aud: ISSUER, client_id: CLIENT_ID,
      scope: form.get("scope") ?? "", iat: now, exp: now + 3600, jti: crypto.randomUUID(),
    });
    return tokenResponse({ access_token, token_type: "Bearer", expires_in: 3600 });
  },
};
