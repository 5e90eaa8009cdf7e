// Drives the provider the way a relying party and a person would: register a
// client, create a user, walk /authorize through the login and consent
// forms, and redeem the code. Shared by the integration tests and the bench.
import { createHash, randomBytes } from "node:crypto";
import { ADMIN_TOKEN } from "./helpers.mjs";

export const REDIRECT_URI = "http://127.0.0.1:9/cb";

export const pkce = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

const json = (body, headers = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

export const form = (body, headers = {}) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(body).toString(),
});

/** POST /register with the admin token; returns the client information. */
export async function registerClient(worker, metadata = {}) {
  const res = await worker.fetch("/register", json({
    redirect_uris: [REDIRECT_URI],
    grant_types: ["authorization_code", "refresh_token"],
    client_name: "Test RP",
    ...metadata,
  }, { authorization: `Bearer ${ADMIN_TOKEN}` }));
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return res.json();
}

/** POST /admin/users; returns { username, password, sub }. */
export async function createUser(worker, username = `u${randomBytes(4).toString("hex")}`, claims = {}) {
  const password = "correct horse battery";
  const res = await worker.fetch("/admin/users", json({
    username, password, claims: { email: `${username}@example.com`, email_verified: true, name: "Test User", ...claims },
  }, { authorization: `Bearer ${ADMIN_TOKEN}` }));
  if (res.status !== 201) throw new Error(`create user: ${res.status} ${await res.text()}`);
  return { username, password, sub: (await res.json()).sub };
}

export const basicAuth = (client) =>
  "Basic " + Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString("base64");

const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/** The value of a hidden (or any) input named `name` in a page. */
export const field = (html, name) => {
  const m = html.match(new RegExp(`name="${name}"[^>]*value="([^"]*)"`)) ?? html.match(new RegExp(`value="([^"]*)"[^>]*name="${name}"`));
  return m ? unescape(m[1]) : undefined;
};

/** The value of the attribute `data-${name}` on a page (the first one). */
export const dataAttr = (html, name) => {
  const m = html.match(new RegExp(`data-${name}="([^"]*)"`));
  return m ? unescape(m[1]) : undefined;
};

/** A browser's cookie jar, just enough for these tests. */
export class Jar {
  cookies = new Map();
  take(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(";");
      const [k, v] = pair.split("=");
      if (/max-age=0/i.test(attrs.join(";")) || v === "") this.cookies.delete(k.trim());
      else this.cookies.set(k.trim(), v);
    }
    return res;
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

/** GET /authorize with these parameters, as the browser with `jar`. */
export async function authorize(worker, jar, params) {
  return jar.take(await worker.fetch(`/authorize?${new URLSearchParams(params)}`, { headers: { cookie: jar.header() } }));
}

/** POSTs a page's form (its hidden fields plus `extra`). */
export async function submit(worker, jar, html, extra, action = "/authorize") {
  const body = { step: field(html, "step"), handle: field(html, "handle"), csrf: field(html, "csrf"), ...extra };
  return jar.take(await worker.fetch(action, form(body, { cookie: jar.header() })));
}

/** The authorization request parameters for `client` (PKCE S256, state, nonce). */
export function authParams(client, overrides = {}) {
  const { verifier, challenge } = pkce();
  return {
    params: {
      client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: "code",
      scope: "openid email profile offline_access", state: randomBytes(8).toString("hex"),
      nonce: randomBytes(8).toString("hex"), code_challenge: challenge, code_challenge_method: "S256",
      ...overrides,
    },
    verifier,
  };
}

/**
 * The whole front channel: authorize → login form → consent form → code.
 * `resources`: RFC 8707 `resource` parameters, one each.
 * Returns { code, state, location, verifier, params, jar }.
 */
export async function obtainCode(worker, client, user, { jar = new Jar(), overrides = {}, resources = [] } = {}) {
  const { params, verifier } = authParams(client, overrides);
  const query = new URLSearchParams(params);
  for (const r of resources) query.append("resource", r);
  let res = await authorize(worker, jar, query);
  for (let step = 0; step < 3 && res.status !== 302 && res.status !== 303; step++) {
    const html = await res.text();
    if (res.status >= 400 && !html.includes('name="step"')) throw new Error(`authorize: ${res.status} ${html.slice(0, 300)}`);
    const kind = field(html, "step");
    res = await submit(worker, jar, html, kind === "login"
      ? { username: user.username, password: user.password }
      : { decision: "allow" });
  }
  const location = new URL(res.headers.get("location"));
  const code = location.searchParams.get("code");
  if (!code) throw new Error(`no code: ${location}`);
  return { code, state: location.searchParams.get("state"), location, verifier, params, jar };
}

/**
 * Registers the passkey of `authenticator` (bench/authenticator.mjs) to
 * `username` through a new enrollment link, as the browser with `jar`
 * would: open the link's page, run the ceremony on its options, post it.
 * Returns the answer to that post (a 303 to /account when it worked).
 */
export async function enrolPasskey(worker, username, authenticator, { jar = new Jar(), name = "Test key" } = {}) {
  const res = await worker.fetch(`/admin/users/${encodeURIComponent(username)}/enrollment`, {
    method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  if (res.status !== 201) throw new Error(`enrollment link: ${res.status} ${await res.text()}`);
  const link = new URL((await res.json()).enrollment_url);
  const page = jar.take(await worker.fetch(link.pathname + link.search, { headers: { cookie: jar.header() } }));
  const html = await page.text();
  const credential = authenticator.create({ challenge: dataAttr(html, "challenge"), user: { id: dataAttr(html, "user-id") } });
  return submit(worker, jar, html, { credential: JSON.stringify(credential), name }, "/account/enroll");
}

/** POST /token with client_secret_basic (or client_id for public clients). */
export async function token(worker, client, body) {
  const headers = client.client_secret ? { authorization: basicAuth(client) } : {};
  const extra = client.client_secret ? {} : { client_id: client.client_id };
  return worker.fetch("/token", form({ ...extra, ...body }, headers));
}

/** Code → tokens. Returns the parsed token response (throws unless 200). */
export async function exchange(worker, client, { code, verifier }) {
  const res = await token(worker, client, { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Decodes a JWT's header and payload (no verification). */
export const decodeJwt = (jwt) => {
  const [h, p] = jwt.split(".");
  return { header: JSON.parse(Buffer.from(h, "base64url")), payload: JSON.parse(Buffer.from(p, "base64url")) };
};
