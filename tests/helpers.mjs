// Shared harness for the integration tests: runs the built worker
// (build/entry.mjs, from scripts/setup.sh) in miniflare, with the same
// bindings as wrangler.toml.
import { Miniflare, Response, convertV4MiniflareOptions } from "miniflare";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const ADMIN_TOKEN = "test-admin-token";

/** compatibility_date from wrangler.toml, so tests run what `wrangler dev` runs. */
export const COMPATIBILITY_DATE = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8")
  .match(/^compatibility_date\s*=\s*"([^"]+)"/m)[1];

/**
 * Chromium for browser tests (playwright-core's `chromium.launch({ executablePath })`):
 * $CHROMIUM_PATH, else Debian's /usr/bin/chromium (scripts/test.sh installs it), else
 * null: browser tests then skip with `{ skip: "no chromium" }`.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH
  || (existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : null);

/**
 * Headless Debian chromium through playwright-core, with the flags this
 * closed network needs (no background connections, no sandbox as root).
 */
export async function launchChromium() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

/**
 * The options of a CDP virtual authenticator (WebAuthn.addVirtualAuthenticator)
 * that acts as a platform passkey: CTAP2, discoverable credentials, user
 * verification that always succeeds, presence given without a prompt.
 */
export const VIRTUAL_PASSKEY = {
  protocol: "ctap2",
  transport: "internal",
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
};

/**
 * A relying party's redirect URI for browser tests: a tiny local server
 * that answers every request with a page. Returns { url, close() }.
 */
export async function startRp() {
  const { createServer } = await import("node:http");
  const port = await freePort();
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!DOCTYPE html><title>RP</title><p>callback ok</p>");
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${port}/cb`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts the worker. `persistDir`: keep KV / Durable Object state there (to
 * restart on the same state); by default every worker starts empty.
 * `vars`: extra env vars / secrets. `miniflare`: extra miniflare options (the
 * profiler's `inspectorPort`). `faults`: a {@link Faults} whose bindings then
 * fail on demand. Returns { mf, url, fetch(path, init), stop() };
 * `url` is a real HTTP origin (for openid-client, browsers), `fetch` skips the
 * network and never follows redirects unless told to.
 */
export async function startWorker({ persistDir, vars = {}, miniflare = {}, faults } = {}) {
  // miniflare 5 (the one wrangler 4.164 pins) has a new options schema; its
  // convertV4MiniflareOptions() takes the familiar miniflare 4 shape (and leaves
  // the cross-process dev registry off, so tests never see other sessions).
  const mf = new Miniflare(convertV4MiniflareOptions({
    // The entry point (src/entry.mjs) and the two files worker-build writes. (miniflare 5
    // no longer takes `scriptPath` + `modulesRules` globs: the module list is explicit.)
    modules: [
      { type: "ESModule", path: path.join(ROOT, "build/entry.mjs") },
      { type: "ESModule", path: path.join(ROOT, "build/index.js") },
      { type: "CompiledWasm", path: path.join(ROOT, "build/index_bg.wasm") },
    ],
    // Module names are relative to build/ (entry.mjs imports ./index.js).
    modulesRoot: path.join(ROOT, "build"),
    compatibilityDate: COMPATIBILITY_DATE,
    kvNamespaces: ["OIDC_KV"],
    durableObjects: {
      GRANTS: { className: "GrantObject", useSQLite: true },
      KEYRING: { className: "KeyRing", useSQLite: true },
      THROTTLES: { className: "ThrottleObject", useSQLite: true },
      ONCE: { className: "OnceObject", useSQLite: true },
      PASSKEYS: { className: "PasskeyObject", useSQLite: true },
      LINKS: { className: "LinkObject", useSQLite: true },
      ADMIN_SESSIONS: { className: "AdminSessionObject", useSQLite: true },
      REGISTRATION_TOKENS: { className: "RegistrationTokenObject", useSQLite: true },
    },
    bindings: { ADMIN_TOKEN, ...vars },
    // src/entry.mjs wraps the bindings only when this one exists.
    ...(faults ? { serviceBindings: { FAULTS: faults.handler } } : {}),
    // One root for all storage (miniflare 5 dropped kvPersist / durableObjectsPersist).
    // Unset = an ephemeral temp dir that dispose() removes.
    ...(persistDir ? { resourcePersistencePath: path.resolve(persistDir) } : {}),
    host: "127.0.0.1",
    // 0: workerd binds a free port itself (`url` says which). Choosing one
    // with freePort() first raced other processes for it between its check
    // and workerd's bind.
    port: 0,
    ...miniflare,
  }));
  const url = (await mf.ready).origin;
  return {
    mf,
    url,
    fetch: (p, init = {}) => mf.dispatchFetch(new URL(p, url), { redirect: "manual", ...init }),
    stop: () => mf.dispose(),
  };
}

/**
 * Bindings that fail on demand, for `startWorker({ faults })`: while
 * `down(binding, when)` holds, every call the worker makes to KV namespace
 * or Durable Object namespace `binding` (those of them `when` picks, given
 * `{ op, key, call }`: see `reach` in src/entry.mjs) throws as an
 * unreachable platform would. `up()` brings them all back. `calls` is
 * every call asked about, in order.
 */
export class Faults {
  #rules = [];
  calls = [];
  down(binding, when = () => true) {
    this.#rules.push({ binding, when });
    return this;
  }
  up() {
    this.#rules = [];
  }
  handler = async (req) => {
    const call = await req.json();
    this.calls.push(call);
    const down = this.#rules.some((r) => r.binding === call.binding && r.when(call));
    return new Response(down ? "down" : "up");
  };
}

/** What has the keyboard focus in a playwright page: "TAG#id" or "TAG:its text". */
export const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "BODY";
  return el.id ? `${el.tagName}#${el.id}` : `${el.tagName}:${el.textContent.trim()}`;
});

/** Presses `key` until `want` has the focus (at most `max` presses); the focus path. */
export async function tabTo(page, want, { key = "Tab", max = 8 } = {}) {
  const path = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    path.push(await focused(page));
    if (path.at(-1) === want) return path;
  }
  throw new Error(`${key} never reached ${want}: ${path.join(" → ")}`);
}
