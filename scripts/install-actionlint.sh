#!/usr/bin/env bash
# Builds actionlint (the linter of GitHub workflow files) from the Go module proxy at a pinned
# version into the machine-wide tool cache; does nothing when it is there. Prints its path.
set -euo pipefail
VERSION=v1.7.12
TOOLS=${ZC_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/zarr-conformance/tools}
DEST="$TOOLS/actionlint/$VERSION"
if [ ! -x "$DEST/actionlint" ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "install-actionlint: Go is not installed" >&2
    exit 1
  fi
  echo "install-actionlint: building github.com/rhysd/actionlint@$VERSION (once)" >&2
  mkdir -p "$DEST.tmp"
  GOBIN="$DEST.tmp" go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION"
  rm -rf "$DEST"
  mv "$DEST.tmp" "$DEST"
fi
echo "$DEST/actionlint"
