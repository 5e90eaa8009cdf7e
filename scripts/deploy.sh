#!/usr/bin/env bash
# npm run deploy: set up, build, then `wrangler deploy` (extra arguments are passed on,
# e.g. `npm run deploy -- --dry-run --outdir /tmp/out`).
#
# Refuses to deploy without an https ISSUER: unset, the issuer would follow each
# request's Host header. ISSUER comes from `--var ISSUER:https://...` or from
# wrangler.toml's [vars] ([env.NAME.vars] with `--env NAME`, `--config FILE` for
# another file). `--dry-run` uploads nothing, so it only warns.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The ISSUER the deployment would get, or nothing.
deploy_issuer() {
  local config=wrangler.toml env="" issuer=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --var)
        # wrangler takes several KEY:VALUE pairs after one --var.
        while [ $# -gt 1 ] && [[ "$2" != -* ]]; do
          shift
          if [[ "$1" == ISSUER:* ]]; then issuer=${1#ISSUER:}; fi
        done ;;
      --var=ISSUER:*) issuer=${1#--var=ISSUER:} ;;
      -c|--config) config=${2:-}; shift ;;
      --config=*) config=${1#--config=} ;;
      -e|--env) env=${2:-}; shift ;;
      --env=*) env=${1#--env=} ;;
    esac
    shift
  done
  if [ -z "$issuer" ] && [ -f "$config" ]; then
    local section=vars
    if [ -n "$env" ]; then section="env.$env.vars"; fi
    # `ISSUER = "..."` (or '...') inside the [section] table; comments ignored.
    issuer=$(awk -v want="[$section]" '
      /^[[:space:]]*\[/ { s = $0; sub(/#.*/, "", s); gsub(/[[:space:]]/, "", s); inside = (s == want); next }
      inside && /^[[:space:]]*ISSUER[[:space:]]*=/ {
        v = $0; sub(/^[^=]*=[[:space:]]*/, "", v); sub(/[[:space:]]*#.*$/, "", v); sub(/[[:space:]]+$/, "", v)
        gsub(/^["\047]|["\047]$/, "", v); print v; exit
      }' "$config")
  fi
  printf '%s' "$issuer"
}

dry_run=false
for a in "$@"; do
  if [ "$a" = --dry-run ]; then dry_run=true; fi
done

issuer=$(deploy_issuer "$@")
if [[ "$issuer" != https://* ]]; then
  why="ISSUER is not set"
  if [ -n "$issuer" ]; then why="ISSUER is \"$issuer\", not an https origin"; fi
  if $dry_run; then
    echo "deploy: warning: $why (a real deploy would refuse)" >&2
  else
    cat >&2 <<EOF
deploy: refusing to deploy: $why.
Without it the issuer follows each request's Host header, so tokens, discovery
and cookies depend on a header the client chooses. Set your public https origin
under [vars] in wrangler.toml (or [env.NAME.vars] with --env NAME):

  [vars]
  ISSUER = "https://auth.example.com"

or pass it: npm run deploy -- --var ISSUER:https://auth.example.com
EOF
    exit 1
  fi
fi

source scripts/setup.sh
exec wrangler deploy "$@"
