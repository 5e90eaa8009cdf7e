#!/usr/bin/env bash
# jwt-compact in wasm vs WebCrypto, per JWT algorithm: builds what is missing
# or stale, then runs run.mjs (which prints the table and writes results.json).
#
#   bench/sign/run.sh            # build (if needed) the two variants, run
#   bench/sign/run.sh --sizes    # also build single-algorithm modules, for their sizes
#   SIGN_REPEATS=5 SIGN_TARGET_MS=2000 bench/sign/run.sh
#
# Variants (each: cargo build, wasm-bindgen --target nodejs, then wasm-opt -O
# with worker-build's feature flags, as `worker-build --release` does for our
# worker):
#   pkg/z   the release profile of /work/main/Cargo.toml (opt-level "z", lto,
#           codegen-units 1, panic abort, strip)
#   pkg/o3  the same with opt-level 3
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)

say() { printf '[sign] %s\n' "$*" >&2; }

SIZES=0
for a in "$@"; do
  case $a in
    --sizes) SIZES=1 ;;
    *) say "unknown argument $a"; exit 2 ;;
  esac
done

# Node 22 (V8, as workerd): the user's own if new enough, else the one
# scripts/setup.sh installs under .tools/node22.
NODE=${NODE:-}
if [ -z "$NODE" ]; then
  if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 22 ]; then
    NODE=$(command -v node)
  else
    NODE=$ROOT/.tools/node22/node_modules/.bin/node
  fi
fi
"$NODE" --version >/dev/null 2>&1 || { say "no Node >= 22 (run scripts/setup.sh, or set NODE=)"; exit 1; }

WANT_BINDGEN=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
[ "$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $WANT_BINDGEN" ] ||
  { say "need wasm-bindgen CLI $WANT_BINDGEN (scripts/setup.sh installs it)"; exit 1; }
rustup target list --installed | grep -qx wasm32-unknown-unknown ||
  { say "need the wasm32-unknown-unknown target (rustup target add wasm32-unknown-unknown)"; exit 1; }

WASM_OPT=${WASM_OPT:-$ROOT/node_modules/.bin/wasm-opt}
if ! "$WASM_OPT" --version >/dev/null 2>&1; then
  say "no wasm-opt at $WASM_OPT (npm install in $ROOT): modules are measured without it"
  WASM_OPT=
fi
# worker-build 0.8.7's wasm-opt arguments for a release build.
WASM_OPT_ARGS=(-O --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
  --debuginfo)

# bindgen WASM OUT TARGET: wasm-bindgen, then wasm-opt, unless OUT is up to date.
bindgen() {
  local wasm=$1 out=$2 target=$3 stamp
  stamp="$(sha256sum "$wasm" | cut -d' ' -f1) $target opt=${WASM_OPT:+$("$WASM_OPT" --version)}"
  [ "$(cat "$out/.stamp" 2>/dev/null)" != "$stamp" ] || return 0
  say "wasm-bindgen --target $target${WASM_OPT:+ + wasm-opt -O} → $out"
  rm -rf "$out"
  # (wasm-bindgen warns that strip = true removed the target_features section;
  # our worker's build does the same, and wasm-opt gets the features explicitly.)
  wasm-bindgen --target "$target" --out-dir "$out" "$wasm" 2> >(grep -v target_features >&2)
  # --target nodejs writes CommonJS; /work/main/package.json says "type": "module".
  [ "$target" != nodejs ] || echo '{ "type": "commonjs" }' > "$out/package.json"
  if [ -n "$WASM_OPT" ]; then
    "$WASM_OPT" "$out/sign_bench_bg.wasm" -o "$out/sign_bench_bg.opt.wasm" "${WASM_OPT_ARGS[@]}"
    mv "$out/sign_bench_bg.opt.wasm" "$out/sign_bench_bg.wasm"
    echo "-O" > "$out/.wasm-opt"
  fi
  echo "$stamp" > "$out/.stamp"
}

# build NAME OPT_LEVEL [cargo feature args...]: pkg/NAME for node, and
# pkg/web-NAME (--target web) for the workerd part of run.mjs.
build() {
  local name=$1 level=$2; shift 2
  local tdir=target/$name
  CARGO_PROFILE_RELEASE_OPT_LEVEL=$level \
    cargo build --quiet --release --target wasm32-unknown-unknown --target-dir "$tdir" "$@"
  local wasm=$tdir/wasm32-unknown-unknown/release/sign_bench.wasm
  bindgen "$wasm" "pkg/$name" nodejs
  case $name in size-*) ;; *) bindgen "$wasm" "pkg/web-$name" web ;; esac
}

say "building (cargo is quick when nothing changed; a first build takes ~1 min each)"
build z z
build o3 3
if [ "$SIZES" = 1 ]; then
  build size-none z --no-default-features
  build size-rs256 z --no-default-features --features rs256
  build size-es256 z --no-default-features --features es256
  build size-eddsa z --no-default-features --features eddsa
fi

exec "$NODE" run.mjs
