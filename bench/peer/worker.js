// The nearest peer, set up minimally for the benchmark:
// @cloudflare/workers-oauth-provider's OAuthProvider with its token endpoint
// (authorization_code + refresh_token), dynamic client registration, and an
// /authorize that approves at once for a fixed user, so the bench can mint
// codes. /api/userinfo is its protected API route (Bearer access token →
// props), the closest thing it has to our /userinfo.
// bench/run.mjs bundles this with esbuild into bench/peer/dist/ at bench time.
import { OAuthProvider } from "@cloudflare/workers-oauth-provider";

const USER = "bench-user";
// The instance's own origin (http://127.0.0.1:PORT), substituted by esbuild
// (--define) at bench time: its API route only accepts tokens whose audience
// is the origin the request arrives on.
/* global PEER_ORIGIN */

const defaultHandler = {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname !== "/authorize") return new Response("not found", { status: 404 });
    const oauth = env.OAUTH_PROVIDER;
    const authRequest = await oauth.parseAuthRequest(request);
    const { redirectTo } = await oauth.completeAuthorization({
      request: authRequest,
      userId: USER,
      metadata: {},
      scope: authRequest.scope,
      props: { sub: USER, email: `${USER}@example.com`, name: "Bench User" },
      // Every code the bench mints is its own grant: the default would revoke
      // the user's earlier grants (and their unused codes) on each authorization.
      revokeExistingGrants: false,
    });
    return Response.redirect(redirectTo, 302);
  },
};

const apiHandler = {
  async fetch(request, env, ctx) {
    return Response.json(ctx.props);
  },
};

export default new OAuthProvider({
  apiRoute: "/api/",
  apiHandler,
  defaultHandler,
  authorizeEndpoint: "/authorize",
  tokenEndpoint: "/token",
  clientRegistrationEndpoint: "/register",
  scopesSupported: ["openid", "profile", "email", "offline_access", "api"],
  resourceMetadata: {
    resource: `${PEER_ORIGIN}/api`,
    authorization_servers: [PEER_ORIGIN],
  },
  // Quiet: a warning per error response would only slow a broken run down further.
  onError: () => {},
});
