#!/usr/bin/env bash
# Idempotent set-up shared by scripts/run.sh and scripts/test.sh: installs the Debian packages
# the pipeline needs (scripts/debian-packages.txt) and creates/refreshes the project virtualenv.
# Fast when nothing changed. Meant to be sourced (`source scripts/setup.sh`): it exports
# ECQX_ROOT, ECQX_VENV and puts the venv on PATH, and leaves the caller's shell options as they
# were - the strict work runs in scripts/install.sh, and a failure returns 1 instead of closing
# the caller's shell.

ECQX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Outside the checkout so a fresh clone (CI) reuses the multi-GB torch install.
ECQX_VENV="${ECQX_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/ecqx/venv}"
export ECQX_ROOT ECQX_VENV

if ! bash "$ECQX_ROOT/scripts/install.sh"; then
  echo "[setup] failed (see above); this shell is unchanged" >&2
  # `return` when sourced keeps the caller's shell open; `exit` when run as a program.
  return 1 2>/dev/null || exit 1
fi
export PATH="$ECQX_VENV/bin:$PATH"
# Per-clip numpy work on 2 cores is much faster single-threaded.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
