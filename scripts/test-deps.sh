#!/usr/bin/env bash
# System packages the test suite needs: headless Chromium for the report test.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: installing Debian's chromium (for the report rendering test)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "test-deps: chromium is missing; install it (Debian: apt-get install chromium)" >&2
  exit 1
fi
# MinIO for the store tests (built once per machine; minutes the first time).
"$(dirname "$0")/install-minio.sh"
