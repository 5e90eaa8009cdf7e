// The floor of /authorize on a live session with remembered consent, in
// JavaScript on this runtime: the three reads any such endpoint must make
// (the client, for its redirect URIs; the session the cookie names, stored
// under the cookie's SHA-256; the consent of the session's user to the
// client) from KV, then a 302 to the redirect URI with a random code,
// `state` and `iss` (RFC 9207). No Durable Object: our /authorize writes
// none either. Records, seeded by the bench: `client:<id>` →
// { redirect_uris }, `session:<sha256(cookie)>` → { sub, expires_at },
// `consent:<sub>:<client id>` → { scopes }.
import { ISSUER, randomToken, sha256url } from "../floors/jose.js";

const SESSION_COOKIE = /(?:^|;\s*)sid=([^;]+)/;
const refuse = (why) => new Response(why, { status: 400, headers: { "content-type": "text/plain" } });

async function liveSession(request, env) {
  const sid = SESSION_COOKIE.exec(request.headers.get("cookie") ?? "")?.[1];
  const session = sid ? await env.KV.get(`session:${await sha256url(sid)}`, "json") : null;
  return session && session.expires_at > Date.now() ? session : null;
}

export default {
  async fetch(request, env) {
    const q = new URL(request.url).searchParams;
    const clientId = q.get("client_id") ?? "";
    // The client and the session do not depend on each other: read both at once.
    const [client, session] = await Promise.all([env.KV.get(`client:${clientId}`, "json"), liveSession(request, env)]);
    const redirectUri = q.get("redirect_uri") ?? "";
    if (!client?.redirect_uris.includes(redirectUri)) return refuse("unknown client or redirect_uri");
    if (q.get("response_type") !== "code" || !q.get("code_challenge")) return refuse("a code request with PKCE is needed");
    // A sign-in page would follow: the bench sends only live sessions.
    if (!session) return refuse("no session");
    const consent = await env.KV.get(`consent:${session.sub}:${clientId}`, "json");
    const scopes = (q.get("scope") ?? "").split(" ");
    if (!consent || !scopes.every((s) => consent.scopes.includes(s))) return refuse("no remembered consent");
    const location = new URL(redirectUri);
    location.searchParams.set("code", randomToken());
    if (q.has("state")) location.searchParams.set("state", q.get("state"));
    location.searchParams.set("iss", ISSUER);
    return new Response(null, { status: 302, headers: { location: location.href, "cache-control": "no-store" } });
  },
};
