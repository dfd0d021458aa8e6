#!/usr/bin/env bash
# Creates .venv with the harness and its pinned dependencies (requirements.lock).
# Idempotent: does nothing when the lock and the project have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: Python 3.11 or newer is needed as '$PY' (set PYTHON=...)" >&2
  exit 2
fi
stamp=$(cat requirements.lock pyproject.toml readers/python/pyproject.toml canonical/python/pyproject.toml | sha256sum | cut -c1-16)
if [ -x .venv/bin/python ] && [ "$(cat .venv/.zc-stamp 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
echo "bootstrap: creating .venv (harness and pinned dependencies)"
rm -rf .venv
"$PY" -m venv .venv
uv_pin=$(grep -E '^uv==' requirements.lock)
.venv/bin/python -m pip install -q --disable-pip-version-check "$uv_pin"
VIRTUAL_ENV=$PWD/.venv .venv/bin/uv pip install -q -r requirements.lock
VIRTUAL_ENV=$PWD/.venv .venv/bin/uv pip install -q --no-deps -e . -e canonical/python -e readers/python
echo "$stamp" > .venv/.zc-stamp
