#!/usr/bin/env bash
# The test suite: bootstrap, system test dependencies, then pytest.
# pytest's exit code 5 ("no tests collected") is a failure here, not a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh || exit $?
scripts/test-deps.sh || exit $?
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
