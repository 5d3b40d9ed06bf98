#!/usr/bin/env bash
# The test suite: lint, format check and pytest. `bash scripts/test.sh [pytest args]`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ECQX_ROOT"
echo "[test] ruff check"
ruff check .
echo "[test] ruff format --check"
ruff format --check .
echo "[test] pytest"
exec python -m pytest "$@"
