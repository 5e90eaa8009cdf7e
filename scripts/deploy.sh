#!/usr/bin/env bash
# npm run deploy: set up, build, then `wrangler deploy` (extra arguments are passed on,
# e.g. `npm run deploy -- --dry-run --outdir /tmp/out`).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
exec wrangler deploy "$@"
