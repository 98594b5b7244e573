#!/usr/bin/env bash
# Rebuilds playground/dist (committed; the router embeds it at compile time)
# from the source in playground/src and the example operations in
# schema/operations. Needs Node 20+ and npm.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run build
# The router embeds these files; print what it will serve.
find dist -type f -printf '%8s  %p\n' | sort -k2
