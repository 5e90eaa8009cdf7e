// The floor of the code exchange, the refresh rotation and /userinfo in
// JavaScript on this runtime, with our design's storage: one Durable
// Object per grant, made by the code's first redemption, named by the id
// the code carries (bench/README.md says what each step is and why it is
// the least).
//
// - `GET /code`: a new grant id (the bench makes a code `<id>.<PKCE
//   challenge>` from it; /authorize's work, not measured here).
// - `POST /token` `authorization_code`: form, Basic, PKCE S256, one call
//   to the code's new object, which stores the grant once (and its alarm);
//   an ES256 access token and an RS256 ID token; a refresh token.
// - `POST /token` `refresh_token`: form, Basic, the two hashes, one call to
//   the grant's object, which swaps the hash; one ES256 access token. At
//   `POST /token/id_token`, an RS256 ID token too (OIDC Core §12.2 allows
//   leaving it out; ours sends it): what that choice costs.
// - `GET /userinfo`: one ES256 signature verified, one call to the grant's
//   object to see it still stands, its claims.
import { DurableObject } from "cloudflare:workers";
import {
  CLIENT_ID, ISSUER, basicOk, randomToken, seconds, sha256url, signJwt, tokenError, tokenResponse, verifyJwt,
} from "../floors/jose.js";

const TTL = 3600;
const GRANT_TTL = 30 * 86400;
const SCOPE = "openid email profile offline_access";
const USER = { sub: "bench-user", claims: { email: "bench-user@example.com", email_verified: true, name: "Bench User" } };

/** One grant: each call runs without an await, so "use once" and "rotate once" hold. */
export class Grant extends DurableObject {
  #grant; // as stored; null when there is none; undefined until read

  #load() {
    if (this.#grant === undefined) this.#grant = this.ctx.storage.kv.get("grant") ?? null;
    return this.#grant;
  }

  #store(grant) {
    this.ctx.storage.kv.put("grant", grant);
    this.#grant = grant;
    return grant;
  }

  /** A code's first redemption makes the grant (and its end); a second revokes it. */
  redeem(grant) {
    if (this.#load() === null) {
      this.ctx.storage.setAlarm(grant.ends_at * 1000);
      return this.#store(grant);
    }
    this.#store({ ...this.#grant, revoked: true });
    return null;
  }

  /** Swaps the refresh token's hash; a superseded one revokes the grant. */
  rotate(presented, next) {
    const grant = this.#load();
    if (grant === null || grant.revoked) return null;
    if (grant.refresh !== presented) {
      this.#store({ ...grant, revoked: true });
      return null;
    }
    return this.#store({ ...grant, refresh: next });
  }

  get() {
    const grant = this.#load();
    return grant?.revoked ? null : grant;
  }

  async alarm() {
    await this.ctx.storage.deleteAll();
    this.#grant = null;
  }
}

/** The object of grant `id`, or null for an id that is none of ours. */
function grantObject(env, id) {
  try {
    return env.GRANTS.get(env.GRANTS.idFromString(id));
  } catch {
    return null;
  }
}

/** The access token (and for a code, the ID token) of `grant`, and the answer. */
async function tokens(env, id, grant, refresh_token, withIdToken) {
  const now = seconds();
  const [access_token, id_token] = await Promise.all([
    signJwt(env, "ES256", "at+jwt", {
      iss: ISSUER, sub: grant.sub, aud: `${ISSUER}/userinfo`, client_id: CLIENT_ID, scope: grant.scope,
      iat: now, exp: now + TTL, jti: crypto.randomUUID(), gid: id,
    }),
    withIdToken
      ? signJwt(env, "RS256", "JWT", { iss: ISSUER, sub: grant.sub, aud: CLIENT_ID, iat: now, exp: now + TTL, auth_time: grant.auth_time })
      : undefined,
  ]);
  return tokenResponse({ access_token, token_type: "Bearer", expires_in: TTL, scope: grant.scope, refresh_token, id_token });
}

async function exchange(form, env) {
  const [id, challenge] = (form.get("code") ?? "").split(".");
  const object = grantObject(env, id);
  // RFC 7636 §4.6: the verifier's S256 must be the code's challenge.
  if (!object || !challenge || (await sha256url(form.get("code_verifier") ?? "")) !== challenge) {
    return tokenError(400, "invalid_grant");
  }
  const refresh = randomToken();
  const now = seconds();
  const grant = await object.redeem({
    client_id: CLIENT_ID, ...USER, scope: SCOPE, auth_time: now, refresh: await sha256url(refresh), ends_at: now + GRANT_TTL,
  });
  return grant ? tokens(env, id, grant, `${id}.${refresh}`, true) : tokenError(400, "invalid_grant");
}

async function refresh(form, env, withIdToken) {
  const [id, secret] = (form.get("refresh_token") ?? "").split(".");
  const object = grantObject(env, id);
  if (!object || !secret) return tokenError(400, "invalid_grant");
  const next = randomToken();
  const [presented, nextHash] = await Promise.all([sha256url(secret), sha256url(next)]);
  const grant = await object.rotate(presented, nextHash);
  return grant ? tokens(env, id, grant, `${id}.${next}`, withIdToken) : tokenError(400, "invalid_grant");
}

async function userinfo(request, env) {
  const auth = request.headers.get("authorization") ?? "";
  const claims = auth.startsWith("Bearer ") ? await verifyJwt(env, auth.slice(7)) : null;
  const valid = claims && claims.exp > seconds() && claims.aud === `${ISSUER}/userinfo`;
  const grant = valid ? await grantObject(env, claims.gid)?.get() : null;
  if (!grant) {
    return new Response(null, { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
  }
  return Response.json({ sub: grant.sub, ...grant.claims });
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/code") return new Response(env.GRANTS.newUniqueId().toString());
    if (pathname === "/userinfo") return userinfo(request, env);
    const form = new URLSearchParams(await request.text());
    if (!basicOk(request)) return tokenError(401, "invalid_client");
    switch (form.get("grant_type")) {
      case "authorization_code": return exchange(form, env);
      case "refresh_token": return refresh(form, env, pathname === "/token/id_token");
      default: return tokenError(400, "unsupported_grant_type");
    }
  },
};
