#!/usr/bin/env bash
# npm test: set up and build, then host unit tests, an offline deploy check,
# and the miniflare integration tests under tests/. Stops at the first failure.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

# Browser tests drive Debian's chromium through playwright-core (Playwright's own
# browser download is unreachable here). Without it they skip themselves.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian chromium for the browser tests (apt-get)…"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
      || say "WARNING: apt-get failed; browser tests will skip"
  else
    say "/usr/bin/chromium is missing and this is not root: browser tests will skip" \
        "(install it with: sudo apt-get install chromium)"
  fi
fi

echo "== cargo test (host)"
cargo test

echo "== wrangler deploy --dry-run (offline bundle check)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
wrangler deploy --dry-run --outdir "$out"

echo "== integration tests (node --test, $("$NODE22" --version))"
# A directory argument does not work (`node --test tests/` loads it as a module): a glob, expanded by node.
# --test-force-exit: a test file whose worker was left running after a failure
# ends with its tests instead of keeping the run waiting.
"$NODE22" --test --test-concurrency=1 --test-force-exit 'tests/**/*.test.mjs'
