// Request steps shared by bench/run.mjs, bench/profile.mjs and the sign-in
// benchmarks: codes minted through the real /authorize, their exchange,
// refresh-token chains, and login forms.
import { createHash, randomBytes } from "node:crypto";
import { Jar, REDIRECT_URI, authParams, authorize, basicAuth, field, pkce } from "../tests/flow.mjs";

const FORM = "application/x-www-form-urlencoded";

/**
 * Mints one code per call through /authorize with `jar`, a browser that has
 * logged in and consented for `client` already, so /authorize redirects at once.
 */
export const codeMinter = (worker, jar, client) => async () => {
  const { params, verifier } = authParams(client);
  const res = await authorize(worker, jar, params);
  const code = res.status === 302 || res.status === 303 ? new URL(res.headers.get("location")).searchParams.get("code") : null;
  if (!code) throw new Error(`/authorize did not redirect with a code: ${res.status} ${(await res.text()).slice(0, 200)}`);
  return { code, verifier };
};

/**
 * Mints one code per call through the peer's /authorize, which approves at
 * once (bench/peer/worker.js).
 */
export const peerCodeMinter = (peer, client) => async () => {
  const { params, verifier } = authParams(client);
  const res = await peer.fetch(`/authorize?${new URLSearchParams(params)}`);
  const code = res.status === 302 ? new URL(res.headers.get("location")).searchParams.get("code") : null;
  if (!code) throw new Error(`peer /authorize did not redirect with a code: ${res.status} ${(await res.text()).slice(0, 200)}`);
  return { code, verifier };
};

/**
 * Mints one code per call for bench/bare-grant: a new grant id from the
 * floor, then the PKCE challenge in the clear, `<id>.<challenge>` (the
 * floor's stand-in for the pending grant a code carries).
 */
export const floorCodeMinter = (floor) => async () => {
  const { verifier, challenge } = pkce();
  const id = await (await floor.fetch("/code")).text();
  return { code: `${id}.${challenge}`, verifier };
};

/** What a floor stores for a session cookie: the key of its record (bench/bare-authorize). */
export const sessionKey = (cookie) => `session:${createHash("sha256").update(cookie).digest("base64url")}`;

/**
 * `GET /authorize` with `params` and `headers` (the session cookie), each
 * request with its own `state`, as each browser's would be.
 */
export const authorizeStep = (params, headers = {}) => ({
  method: "GET", headers,
  setupRequest(req) {
    return { ...req, path: `/authorize?${new URLSearchParams({ ...params, state: randomBytes(8).toString("hex") })}` };
  },
});

/** A login form for `client` in a new browser: { jar, html }. */
export async function loginForm(worker, client) {
  const jar = new Jar();
  const html = await (await authorize(worker, jar, authParams(client).params)).text();
  if (field(html, "step") !== "login") throw new Error(`no login form: ${html.slice(0, 200)}`);
  return { jar, html };
}

/** The token request (headers and body) that exchanges a minted code, with Basic client auth. */
export const codeTokenRequest = (client) => (c) => ({
  headers: { "content-type": FORM, authorization: basicAuth(client) },
  body: new URLSearchParams({ grant_type: "authorization_code", code: c.code, redirect_uri: REDIRECT_URI, code_verifier: c.verifier }).toString(),
});

/**
 * autocannon's `context` belongs to one connection, but autocannon resets it
 * whenever it wraps around its request list: with a one-entry list, after
 * every request. A chain must outlive that, so this `setupClient` (called once
 * per connection) turns the reset off for the connection's life.
 */
export const keepContext = (client) => { client.requestIterator.resetContext = () => {}; };

/**
 * Refresh rotation, one chain per connection (with `keepContext`): the first
 * request takes a seed refresh token from `takeSeed()`, each later one sends
 * the token the previous answer returned, to `path`.
 */
export const refreshChainStep = (takeSeed, headers, path = "/token") => ({
  method: "POST", path,
  setupRequest(req, context) {
    context.rt ??= takeSeed();
    if (!context.rt) throw new Error("more connections than refresh chains");
    return { ...req, headers, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(context.rt)}` };
  },
  onResponse(status, body, context) {
    if (status === 200) context.rt = JSON.parse(body).refresh_token;
  },
});
