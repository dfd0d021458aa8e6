#!/usr/bin/env bash
# Builds fake-gcs-server (a Google Cloud Storage emulator) from the Go module proxy at the
# version pinned as fake_gcs_version in matrix.yaml, into the machine-wide tool cache
# (${ZC_TOOLS:-${XDG_CACHE_HOME:-~/.cache}/zarr-conformance/tools}/fake-gcs-server/<version>/fake-gcs-server);
# does nothing when it is there. It is BSD-2-Clause and runs as a separate server process.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=$(sed -n 's/^fake_gcs_version: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' matrix.yaml)
if [ -z "$VERSION" ]; then
  echo "install-fake-gcs: matrix.yaml has no fake_gcs_version" >&2
  exit 2
fi
TOOLS=${ZC_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/zarr-conformance/tools}
DEST="$TOOLS/fake-gcs-server/$VERSION"
if [ -x "$DEST/fake-gcs-server" ]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-fake-gcs: Go is not installed; the gcs store will not be available" >&2
  exit 1
fi
echo "install-fake-gcs: building github.com/fsouza/fake-gcs-server@$VERSION (a few minutes, once)"
rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp"
GOBIN="$DEST.tmp" GOFLAGS=-mod=mod go install "github.com/fsouza/fake-gcs-server@$VERSION"
mv "$DEST.tmp" "$DEST"
