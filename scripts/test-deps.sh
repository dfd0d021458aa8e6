#!/usr/bin/env bash
# System packages the test suite needs: headless Chromium for the report test, MinIO and the
# cloud emulators for the store tests, the docker engine and debootstrap for the docker runner's tests
# (installed here; tests/test_docker.py starts the engine and stops it again).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: installing Debian's chromium (for the report rendering test)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test-deps: chromium is missing; install it (Debian: apt-get install chromium)" >&2
    exit 1
  fi
fi
# MinIO for the store tests (built once per machine; minutes the first time).
scripts/install-minio.sh
# The GCS and Azure Blob emulators for their store tests (fake-gcs-server built once per machine,
# Azurite installed with npm ci).
scripts/install-fake-gcs.sh
scripts/install-azurite.sh
# Without an engine the docker tests say why (and fail under CI); the rest runs all the same.
scripts/install-docker.sh --no-start || echo "test-deps: the docker runner's tests will not run here" >&2
