// `npm run deploy` (scripts/deploy.sh) refuses to deploy without an https
// ISSUER, and lets `--dry-run` through with a warning. Runs the real script in
// a temporary copy of the repo whose setup.sh is a stub and whose `wrangler`
// only records its arguments, so nothing is built or uploaded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT } from "./helpers.mjs";

const BASE = `name = "edge-oidc"
main = "build/entry.mjs"
[[kv_namespaces]]
binding = "OIDC_KV"
id = "x"
`;

/** Runs deploy.sh with `args` against a wrangler.toml of `toml` (and `files`). */
function deploy(toml, args = [], files = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "deploy-test-"));
  try {
    mkdirSync(path.join(dir, "scripts"));
    mkdirSync(path.join(dir, "bin"));
    copyFileSync(path.join(ROOT, "scripts/deploy.sh"), path.join(dir, "scripts/deploy.sh"));
    // The stub set-up puts the fake wrangler first on PATH, as setup.sh puts node_modules/.bin.
    writeFileSync(path.join(dir, "scripts/setup.sh"), 'export PATH="$PWD/bin:$PATH"\n');
    writeFileSync(path.join(dir, "bin/wrangler"), '#!/bin/sh\necho "$@" > "$PWD/wrangler-ran"\n');
    chmodSync(path.join(dir, "bin/wrangler"), 0o755);
    writeFileSync(path.join(dir, "wrangler.toml"), toml);
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    // From another directory: the script finds the repo root itself.
    const run = spawnSync("bash", [path.join(dir, "scripts/deploy.sh"), ...args], { cwd: tmpdir(), encoding: "utf8" });
    const ran = path.join(dir, "wrangler-ran");
    return { status: run.status, stderr: run.stderr, wrangler: existsSync(ran) ? readFileSync(ran, "utf8").trim() : null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertRefused(r, what, reason = /ISSUER is not set/) {
  assert.equal(r.status, 1, `${what}: exit status (${r.stderr})`);
  assert.match(r.stderr, /refusing to deploy/, what);
  assert.match(r.stderr, reason, what);
  assert.match(r.stderr, /ISSUER = "https:\/\/auth\.example\.com"/, `${what}: says how to fix it`);
  assert.equal(r.wrangler, null, `${what}: wrangler must not run`);
}

function assertDeployed(r, what, args = "deploy") {
  assert.equal(r.status, 0, `${what}: exit status (${r.stderr})`);
  assert.equal(r.wrangler, args, what);
}

test("the repo's own wrangler.toml (ISSUER commented out) is refused", () => {
  assertRefused(deploy(readFileSync(path.join(ROOT, "wrangler.toml"), "utf8")), "repo wrangler.toml");
});

test("no ISSUER, an http one, or one outside the deployed [vars] → refused", () => {
  assertRefused(deploy(BASE), "no [vars]");
  assertRefused(deploy(`${BASE}[vars]\nACCESS_TOKEN_TTL = "600"\n`), "[vars] without ISSUER");
  assertRefused(deploy(`${BASE}[vars]\n# ISSUER = "https://id.example.com"\n`), "commented out");
  assertRefused(deploy(`${BASE}[vars]\nISSUER = ""\n`), "empty");
  assertRefused(deploy(`${BASE}[vars]\nISSUER = "http://id.example.com"\n`), "http", /not an https origin/);
  assertRefused(deploy(`${BASE}[env.staging.vars]\nISSUER = "https://id.example.com"\n`), "only in another environment");
  assertRefused(deploy(`ISSUER = "https://id.example.com"\n${BASE}`), "top level, not in [vars]");
  assertRefused(deploy(`${BASE}[vars]\nISSUER = "https://id.example.com"\n`, ["--env", "prod"]), "--env without its vars");
  assertRefused(deploy(BASE, ["--var", "ISSUER_X:https://id.example.com"]), "another variable");
});

test("ISSUER in [vars], in the chosen environment, in another config, or passed → deployed", () => {
  assertDeployed(deploy(`${BASE}[vars]\nISSUER = "https://id.example.com"\n`), "[vars]");
  assertDeployed(deploy(`${BASE}[vars]\n  ISSUER='https://id.example.com'   # ours\n[[migrations]]\ntag = "v1"\n`), "single quotes, comment");
  assertDeployed(deploy(`${BASE}[ env.prod.vars ]\nISSUER = "https://id.example.com"\n`, ["--env", "prod"]), "--env prod", "deploy --env prod");
  assertDeployed(deploy(`${BASE}[env.prod.vars]\nISSUER = "https://id.example.com"\n`, ["--env=prod"]), "--env=prod", "deploy --env=prod");
  assertDeployed(deploy(BASE, ["-c", "prod.toml"], { "prod.toml": `${BASE}[vars]\nISSUER = "https://id.example.com"\n` }),
    "--config", "deploy -c prod.toml");
  assertDeployed(deploy(BASE, ["--var", "ISSUER:https://id.example.com"]), "--var", "deploy --var ISSUER:https://id.example.com");
  assertDeployed(deploy(BASE, ["--var", "A:1", "ISSUER:https://id.example.com", "--minify"]), "--var with several pairs",
    "deploy --var A:1 ISSUER:https://id.example.com --minify");
  assertDeployed(deploy(BASE, ["--var=ISSUER:https://id.example.com"]), "--var=", "deploy --var=ISSUER:https://id.example.com");
});

test("--dry-run uploads nothing, so it only warns", () => {
  const r = deploy(BASE, ["--dry-run", "--outdir", "/tmp/x"]);
  assertDeployed(r, "dry run", "deploy --dry-run --outdir /tmp/x");
  assert.match(r.stderr, /warning: ISSUER is not set/);
});
