#!/usr/bin/env bash
# Installs Azurite (the Azure Storage emulator) at the version pinned in
# harness/servers/azurite/package-lock.json, with `npm ci`; does nothing when it is there.
# It runs as a separate server process on Node.js.
set -euo pipefail
cd "$(dirname "$0")/../harness/servers/azurite"
want=$(sed -n '/"node_modules\/azurite": {/,/"version"/s/.*"version": "\([^"]*\)".*/\1/p' package-lock.json)
have=$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' node_modules/azurite/package.json 2>/dev/null || true)
if [ -f node_modules/azurite/dist/src/blob/main.js ] && [ -n "$want" ] && [ "$want" = "$have" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-azurite: npm is not installed; the azure store will not be available" >&2
  exit 1
fi
echo "install-azurite: installing the pinned Azurite (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
