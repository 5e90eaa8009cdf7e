// What the soak's clients do (bench/soak.mjs), one action at a time per
// connection, and the check of every answer. `ctx` holds the HTTP client
// (bench/soak-client.mjs), the two registered clients, the issuer and the
// ledger (ok / fail / expect / note); `conn` one connection's person (user,
// browser cookie jar) and the grants it holds: { gid, rt, at, superseded, born }.
import { Jar, REDIRECT_URI, authParams, basicAuth, decodeJwt, field } from "../tests/flow.mjs";
import { Lost } from "./soak-client.mjs";

const FORM = "application/x-www-form-urlencoded";
const LIVE_PER_CONNECTION = 16;   // grants a connection keeps using; older ones retire
const RETIRED_SAMPLE = 400;       // retired grants kept (a uniform sample) for the final audit
const SUPERSEDED_KEPT = 4;

const formInit = (body, headers = {}) =>
  ({ method: "POST", headers: { "content-type": FORM, ...headers }, body: new URLSearchParams(body).toString() });
const parse = (r) => { try { return JSON.parse(r.text); } catch { return null; } };
const errorOf = (r) => parse(r)?.error;
const brief = (r) => `${r.status} ${r.text.slice(0, 200)}`;
const random = (list) => list[Math.floor(Math.random() * list.length)];

// ---------------------------------------------------------------- requests

/** A browser request with `jar`'s cookies; Set-Cookie goes back into the jar. */
async function browse(ctx, jar, kind, path, init = {}, opts) {
  const r = await ctx.http.call(kind, path, { ...init, headers: { ...init.headers, cookie: jar.header() } }, opts);
  jar.take(r);
  return r;
}

const clientPost = (ctx, kind, path, client, body) =>
  ctx.http.call(kind, path, formInit(body, { authorization: basicAuth(client) }));

export const refreshCall = (ctx, rt) =>
  clientPost(ctx, "token: refresh", "/token", ctx.client, { grant_type: "refresh_token", refresh_token: rt });

export const introspect = async (ctx, client, token) =>
  parse(await clientPost(ctx, "introspect", "/introspect", client, { token }));

export const userinfo = (ctx, at) =>
  ctx.http.call("userinfo", "/userinfo", { headers: { authorization: `Bearer ${at}` } });

/** A code from an /authorize redirect, after checking `state` and `iss` (RFC 9207); null (and a failure) otherwise. */
function codeFrom(ctx, r, params) {
  const location = (r.status === 302 || r.status === 303) && r.headers.get("location");
  const q = location ? new URL(location).searchParams : null;
  const good = q?.get("code") && q.get("state") === params.state && q.get("iss") === ctx.issuer;
  return ctx.expect("/authorize redirects with code, state and iss", good, brief(r) + ` ${location}`) ? q.get("code") : null;
}

/** A code from /authorize with `jar`'s live session and remembered consent: { code, verifier } or null. */
export async function mintCode(ctx, jar) {
  const { params, verifier } = authParams(ctx.client);
  const r = await browse(ctx, jar, "authorize (session)", `/authorize?${new URLSearchParams(params)}`);
  const code = codeFrom(ctx, r, params);
  return code ? { code, verifier } : null;
}

// ---------------------------------------------------------------- grants held

/** Reads a code exchange's answer into a grant, checking what it must carry. */
function grantFrom(ctx, r) {
  const body = parse(r);
  const gid = body?.refresh_token?.split(".")[0];
  const good = gid && body.id_token && /^bearer$/i.test(body.token_type ?? "") && decodeJwt(body.access_token).payload.gid === gid;
  if (!ctx.expect("token answer carries access, refresh and ID token of one grant", good, brief(r))) return null;
  return { gid, rt: body.refresh_token, at: body.access_token, superseded: [], born: Date.now() };
}

export function keep(ctx, conn, g) {
  conn.grants.push(g);
  if (conn.grants.length > LIVE_PER_CONNECTION) retire(ctx, conn.grants.shift());
}

/** Reservoir sampling: every retired grant has the same chance to be in the final audit. */
function retire(ctx, g) {
  const seen = ++ctx.retiredSeen;
  if (ctx.retired.length < RETIRED_SAMPLE) ctx.retired.push(g);
  else if (Math.random() * seen < RETIRED_SAMPLE) ctx.retired[Math.floor(Math.random() * RETIRED_SAMPLE)] = g;
}

const takeGrant = (conn) => conn.grants.splice(Math.floor(Math.random() * conn.grants.length), 1)[0];

/** A grant that must be revoked: its refresh token refused, its access token refused by /userinfo. */
export async function expectRevoked(ctx, check, g, rt = g.rt) {
  const refreshed = await refreshCall(ctx, rt);
  ctx.expect(check, refreshed.status === 400 && errorOf(refreshed) === "invalid_grant", `refresh: ${brief(refreshed)}`);
  const ui = await userinfo(ctx, g.at);
  ctx.expect(check, ui.status === 401, `userinfo: ${brief(ui)}`);
}

// ---------------------------------------------------------------- code redemption

/**
 * POST /token with a code. A code must never work twice; an answer lost in
 * a restart makes the client's retry a replay, refused (and the grant
 * revoked), which is counted, not failed.
 */
export async function redeem(ctx, conn, { code, verifier }, { hold = true } = {}) {
  const r = await clientPost(ctx, "token: code", "/token", ctx.client,
    { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  if (r.status === 200) {
    if (r.ambiguous) ctx.note("code exchanges cut off by the kill, not applied (their retry answered 200)");
    if (!ctx.expect("a code is redeemed at most once", !ctx.redeemed.has(code), `code ${code.slice(0, 40)}… redeemed again`)) return null;
    ctx.redeemed.add(code);
    const g = grantFrom(ctx, r);
    if (g && hold) keep(ctx, conn, g);
    return g;
  }
  if (r.ambiguous && errorOf(r) === "invalid_grant") {
    ctx.note("code exchanges whose answer was lost (the retry was a replay, refused)");
    return null;
  }
  ctx.fail("code exchange answers 200", brief(r));
  return null;
}

/** Replays a redeemed code: refused, and the grant it made is revoked. */
export async function replayCode(ctx, code, g, label = "") {
  const r = await clientPost(ctx, "token: code", "/token", ctx.client,
    { grant_type: "authorization_code", code: code.code, redirect_uri: REDIRECT_URI, code_verifier: code.verifier });
  ctx.expect(`${label}a replayed code is refused (invalid_grant)`, r.status === 400 && errorOf(r) === "invalid_grant", brief(r));
  await expectRevoked(ctx, `${label}a code replay revokes its grant`, g);
}

// ---------------------------------------------------------------- actions

/** A returning person in a new browser: the login form, their password, (consent once), the code, its exchange. */
export async function signIn(ctx, conn) {
  for (let tries = 0; ; tries++) {
    try {
      return await signInOnce(ctx, conn);
    } catch (e) {
      // A form is single-use: a person whose post got no answer opens the page again.
      if (!(e instanceof Lost) || tries >= 3) throw e;
      ctx.note("sign-ins started again after a form post got no answer");
    }
  }
}

async function signInOnce(ctx, conn) {
  const jar = new Jar();
  const { params, verifier } = authParams(ctx.client);
  let r = await browse(ctx, jar, "authorize (login form)", `/authorize?${new URLSearchParams(params)}`);
  for (let step = 0; step < 3 && r.status !== 302 && r.status !== 303; step++) {
    const kind = field(r.text, "step");
    if (!ctx.expect("sign-in forms are served", r.status === 200 && kind, brief(r))) return null;
    const answer = kind === "login" ? { username: conn.user.username, password: conn.user.password } : { decision: "allow" };
    const body = { step: kind, handle: field(r.text, "handle"), csrf: field(r.text, "csrf"), ...answer };
    r = await browse(ctx, jar, `${kind} form post`, "/authorize", formInit(body), { retry: false });
  }
  const code = codeFrom(ctx, r, params);
  if (!code) return null;
  conn.jar = jar;
  return redeem(ctx, conn, { code, verifier });
}

/** A code from the live session, exchanged. */
export async function exchange(ctx, conn) {
  const code = await mintCode(ctx, conn.jar);
  return code && redeem(ctx, conn, code);
}

/** Rotates one of the connection's grants (see `rotate`); a grant whose answer was lost is dropped. */
export async function refresh(ctx, conn) {
  if (!conn.grants.length) return exchange(ctx, conn);
  const g = random(conn.grants);
  const next = await rotate(ctx, g);
  if (next === LOST) conn.grants.splice(conn.grants.indexOf(g), 1);
}

const LOST = Symbol("lost");

/**
 * One rotation of `g` (in place): `g`, or null (and a failure) unless it
 * answers 200. The superseded token must then be dead: now and then it is
 * introspected (inactive, and that revokes nothing). A refresh whose answer
 * was lost leaves the client with a superseded token: its retry is a reuse,
 * refused, and must have revoked the grant; then LOST, and the grant is gone.
 */
export async function rotate(ctx, g) {
  const r = await refreshCall(ctx, g.rt);
  if (r.status === 200 && r.ambiguous) ctx.note("refreshes cut off by the kill, not applied (their retry answered 200)");
  if (r.status === 200) return rotated(ctx, g, r);
  if (r.ambiguous && errorOf(r) === "invalid_grant") {
    ctx.note("refreshes whose answer was lost (the retry was a reuse, refused)");
    const ui = await userinfo(ctx, g.at);
    ctx.expect("a lost refresh's retried reuse revoked the grant", ui.status === 401, brief(ui));
    return LOST;
  }
  ctx.fail("refresh answers 200", brief(r));
  return null;
}

async function rotated(ctx, g, r) {
  const body = parse(r);
  const good = body?.refresh_token?.split(".")[0] === g.gid && body.refresh_token !== g.rt && body.access_token;
  if (!ctx.expect("refresh rotates within its grant", good, brief(r))) return null;
  const old = g.rt;
  g.superseded = [...g.superseded.slice(1 - SUPERSEDED_KEPT), old];
  g.rt = body.refresh_token;
  g.at = body.access_token;
  if (Math.random() < 0.1) {
    const info = await introspect(ctx, ctx.client, old);
    ctx.expect("a superseded refresh token introspects inactive", info?.active === false, JSON.stringify(info));
  }
  return g;
}

export async function userinfoOf(ctx, conn) {
  if (!conn.grants.length) return exchange(ctx, conn);
  const g = random(conn.grants);
  const r = await userinfo(ctx, g.at);
  ctx.expect("/userinfo answers a live grant's access token", r.status === 200 && parse(r)?.sub === conn.user.sub, brief(r));
}

/** client_credentials; now and then the token introspected. Returns the access token. */
export async function clientCredentials(ctx) {
  const r = await clientPost(ctx, "token: client_credentials", "/token", ctx.cc, { grant_type: "client_credentials", scope: "api" });
  const at = parse(r)?.access_token;
  if (!ctx.expect("client_credentials issues an access token", r.status === 200 && at, brief(r))) return null;
  if (Math.random() < 0.2) {
    const info = await introspect(ctx, ctx.cc, at);
    ctx.expect("a client_credentials token introspects active", info?.active === true && info.client_id === ctx.cc.client_id, JSON.stringify(info));
  }
  return at;
}

const REVOKED = ["refresh_token", "access_token", "client_credentials"];

/** RFC 7009 /revoke of a refresh token, a grant's access token or a client_credentials token, in turn; then each must be refused. */
export async function revoke(ctx, conn) {
  const which = REVOKED[ctx.revocations++ % REVOKED.length];
  if (which === "client_credentials") return revokeClientToken(ctx);
  if (!conn.grants.length) return exchange(ctx, conn);
  const g = takeGrant(conn);
  const r = await clientPost(ctx, "revoke", "/revoke", ctx.client, { token: g[which === "refresh_token" ? "rt" : "at"], token_type_hint: which });
  if (!ctx.expect("/revoke answers 200", r.status === 200, brief(r))) return;
  for (const token of [g.at, g.rt]) {
    const info = await introspect(ctx, ctx.client, token);
    ctx.expect("a revoked grant's tokens introspect inactive", info?.active === false, JSON.stringify(info));
  }
  await expectRevoked(ctx, `revoking the ${which.replace("_", " ")} revokes its grant`, g);
}

async function revokeClientToken(ctx) {
  const at = await clientCredentials(ctx);
  if (!at) return;
  const r = await clientPost(ctx, "revoke", "/revoke", ctx.cc, { token: at, token_type_hint: "access_token" });
  if (!ctx.expect("/revoke answers 200", r.status === 200, brief(r))) return;
  const info = await introspect(ctx, ctx.cc, at);
  ctx.expect("a revoked client_credentials token introspects inactive", info?.active === false, JSON.stringify(info));
}

/** Redeems a code, replays it: refused, and the grant it made must be revoked. */
export async function codeReplay(ctx, conn) {
  const code = await mintCode(ctx, conn.jar);
  const g = code && await redeem(ctx, conn, code, { hold: false });
  if (g) await replayCode(ctx, code, g);
}

/** Rotates a grant, sends a superseded token: refused, and the grant (its current token too) revoked. */
export async function refreshReuse(ctx, conn) {
  if (!conn.grants.length) return exchange(ctx, conn);
  const g = takeGrant(conn);
  if (await rotate(ctx, g) !== g) return;
  const old = random(g.superseded);
  const again = await refreshCall(ctx, old);
  ctx.expect("a superseded refresh token is refused (invalid_grant)", again.status === 400 && errorOf(again) === "invalid_grant", brief(again));
  await expectRevoked(ctx, "a superseded token's reuse revokes its grant (current token too)", g);
}

/** The traffic mix: action → weight (of 100). */
export const MIX = {
  signIn: 2, exchange: 12, refresh: 30, userinfo: 30, clientCredentials: 12, revoke: 6, codeReplay: 4, refreshReuse: 4,
};
export const ACTIONS = { signIn, exchange, refresh, userinfo: userinfoOf, clientCredentials, revoke, codeReplay, refreshReuse };

/** Draws an action by MIX's weights. */
export function pickAction() {
  let x = Math.random() * 100;
  for (const [name, w] of Object.entries(MIX)) if ((x -= w) < 0) return name;
  return "userinfo";
}

/** Every grant the clients hold (live on a connection or in the retired sample). */
export const heldGrants = (ctx, conns) => [...conns.flatMap((c) => c.grants), ...ctx.retired];
