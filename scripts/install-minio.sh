#!/usr/bin/env bash
# Builds the MinIO server from the Go module proxy at the pinned version (matrix.yaml's
# minio_version) into the machine-wide tool cache
# (${ZC_TOOLS:-${XDG_CACHE_HOME:-~/.cache}/zarr-conformance/tools}/minio/<version>/minio);
# does nothing when it is there.
# MinIO is AGPL-3.0: it is built and run as a separate server process only.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=$(sed -n 's/^minio_version: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' matrix.yaml)
if [ -z "$VERSION" ]; then
  echo "install-minio: matrix.yaml has no minio_version" >&2
  exit 2
fi
TOOLS=${ZC_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/zarr-conformance/tools}
DEST="$TOOLS/minio/$VERSION"
if [ -x "$DEST/minio" ]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-minio: Go is not installed; the s3-minio store will not be available" >&2
  exit 1
fi
echo "install-minio: building github.com/minio/minio@$VERSION (a few minutes, once)"
mkdir -p "$DEST.tmp"
GOBIN="$DEST.tmp" GOFLAGS=-mod=mod go install "github.com/minio/minio@$VERSION"
mv "$DEST.tmp" "$DEST"
