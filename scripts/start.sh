#!/usr/bin/env bash
# npm start: set up, build, and serve with `wrangler dev` on 127.0.0.1:${PORT:-8787},
# local KV / Durable Object state under .wrangler/state.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

vars=()
if [ -n "${ADMIN_TOKEN:-}" ]; then
  # --var wins over .dev.vars, so an ADMIN_TOKEN from the environment is the one used.
  vars=(--var "ADMIN_TOKEN:$ADMIN_TOKEN")
  echo "admin token: $ADMIN_TOKEN (from the environment)"
else
  if ! grep -q '^ADMIN_TOKEN=' .dev.vars 2>/dev/null; then
    # Generated once and kept: wrangler dev reads .dev.vars (git-ignored).
    echo "ADMIN_TOKEN=$("$NODE22" -p 'require("crypto").randomBytes(32).toString("base64url")')" >> .dev.vars
    chmod 600 .dev.vars
  fi
  echo "admin token: $(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars | tr -d '"' | head -n1) (from .dev.vars)"
fi

exec wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" --persist-to .wrangler/state "${vars[@]}"
