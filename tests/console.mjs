// Driving the admin console (/admin) over HTTP, as a browser would: sign
// in, open pages, post their forms with the hidden fields they carry.
// Shared by the console's integration tests.
import assert from "node:assert/strict";
import { ADMIN_TOKEN } from "./helpers.mjs";
import { createUser, field, form, Jar } from "./flow.mjs";

/** A user with the admin role, made with the JSON API (the first administrator's way in). */
export async function createAdmin(worker, username) {
  const user = await createUser(worker, username);
  const res = await worker.fetch(`/admin/users/${encodeURIComponent(user.username)}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ admin: true }),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  assert.equal(JSON.parse(body).admin, true);
  return user;
}

/** An HTML page with `status` and the pages' security headers; its text. */
export async function page(res, status, pattern) {
  const text = await res.text();
  assert.equal(res.status, status, text.slice(0, 600));
  assert.match(res.headers.get("content-type"), /^text\/html/);
  assert.match(res.headers.get("content-security-policy"), /frame-ancestors 'none'/);
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("access-control-allow-origin"), null, "no CORS on pages");
  if (pattern) assert.match(text, pattern);
  return text;
}

/** A token with its first character changed (never the same token: that character carries six bits of it). */
export const flip = (token) => (token[0] === "A" ? "B" : "A") + token.slice(1);

/** A redirect (303 after a post, 302 after a GET) to `path`. */
export function goesTo(res, path, status = 303) {
  assert.equal(res.status, status, `expected ${status} to ${path}`);
  assert.equal(res.headers.get("location"), path);
}

/** The markup of the page's form posting to `action` (the one mentioning `also`, if given). */
export function formOf(html, action, also = "") {
  const found = html.split("<form").slice(1).map((f) => f.slice(0, f.indexOf("</form>")))
    .find((f) => f.includes(`action="${action}"`) && f.includes(also));
  assert.ok(found, `a form to ${action} ${also}`);
  return found;
}

/** One browser at the console: its cookies, and where its requests come from. */
export class Console {
  constructor(worker, { jar = new Jar(), address = "198.51.100.20" } = {}) {
    Object.assign(this, { worker, jar, address });
  }

  headers(extra = {}) {
    return { cookie: this.jar.header(), "cf-connecting-ip": this.address, ...extra };
  }

  async get(path) {
    return this.jar.take(await this.worker.fetch(path, { headers: this.headers() }));
  }

  /** POSTs `body` (an object, or URLSearchParams for repeated names). */
  async post(path, body) {
    const init = form({}, this.headers());
    init.body = new URLSearchParams(body).toString();
    return this.jar.take(await this.worker.fetch(path, init));
  }

  /** Posts the page's form to `action` with its hidden fields, `step`, and `extra`. */
  postForm(html, action, extra = {}, also = "") {
    const f = formOf(html, action, also);
    const fields = { step: field(f, "step"), handle: field(f, "handle"), csrf: field(f, "csrf") };
    if (extra instanceof URLSearchParams) {
      for (const [k, v] of Object.entries(fields)) extra.set(k, v);
      return this.post(action, extra);
    }
    return this.post(action, { ...fields, ...extra });
  }

  /** Signs `user` in at /admin/login; answers the response to the sign-in post. */
  async signInResponse(user, path = "/admin/login") {
    const login = await page(await this.get(path), 200, /to continue to <strong>the admin console<\/strong>/);
    return this.postForm(login, "/admin/login", { username: user.username, password: user.password });
  }

  /** Signs an administrator in; answers the overview page. */
  async signIn(user) {
    goesTo(await this.signInResponse(user), "/admin");
    return page(await this.get("/admin"), 200, /<h1>Admin console<\/h1>/);
  }

  /** The page at `path`, expected 200. */
  async open(path, pattern) {
    return page(await this.get(path), 200, pattern);
  }
}
