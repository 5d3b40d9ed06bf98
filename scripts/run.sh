#!/usr/bin/env bash
# The main job, end to end on the embedded default data: `bash scripts/run.sh [ecqx pipeline options]`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ECQX_ROOT"
exec ecqx pipeline "$@"
