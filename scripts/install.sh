#!/usr/bin/env bash
# Installs what ecqx needs, idempotently: the Debian packages in scripts/debian-packages.txt and
# the pinned Python stack in the project virtualenv ($ECQX_VENV). Run by scripts/setup.sh (as a
# program, so its strict mode never leaks into a shell that sources setup.sh).
set -euo pipefail

ECQX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${ECQX_VENV:?set by scripts/setup.sh}"

mapfile -t DEB_PACKAGES < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$ECQX_ROOT/scripts/debian-packages.txt" | awk '{print $1}')

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[setup] missing Debian packages: ${missing[*]}" >&2
    echo "[setup] install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    echo "[setup] then run this command again." >&2
    exit 1
  fi
fi

PYTHON="${ECQX_PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "[setup] ecqx needs Python 3.11 (torch 2.14.1 / zennit 0.5.1 are pinned for it);" >&2
  echo "[setup] set ECQX_PYTHON to a python3.11 interpreter." >&2
  exit 1
fi

stamp_file="$ECQX_VENV/.ecqx-stamp"
stamp="$(cat "$ECQX_ROOT/pyproject.toml" "$ECQX_ROOT/scripts/install.sh" | sha256sum | cut -c1-16)"
if [ ! -x "$ECQX_VENV/bin/python" ]; then
  echo "[setup] creating virtualenv $ECQX_VENV"
  mkdir -p "$(dirname "$ECQX_VENV")"
  "$PYTHON" -m venv "$ECQX_VENV"
fi
if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
  echo "[setup] installing the pinned Python stack (first time: several minutes, torch is large)"
  "$ECQX_VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  "$ECQX_VENV/bin/python" -m pip install -q -e "$ECQX_ROOT[dev]" 2>&1 | grep -v '^WARNING: Location' || true
  # nncodec's metadata pins numpy<2; its code runs with numpy 2 (its runtime deps are in
  # pyproject.toml), so install it alone, compiled from source (~1.5 min).
  "$ECQX_VENV/bin/python" -m pip install -q --no-deps nncodec==2.1.3 2>&1 | grep -v -e '^WARNING: Location' -e 'requires numpy<2' || true
  "$ECQX_VENV/bin/python" -c "import ecqx, torch, zennit, nncodec.nnc, ai_edge_litert, tflite_micro" # fail loudly if the install did not work
  echo "$stamp" >"$stamp_file"
fi
# The venv may have been set up from another checkout: point the editable install here.
# Asked from / so the current directory cannot shadow what the venv itself resolves.
if [ "$(cd / && "$ECQX_VENV/bin/python" -c 'import ecqx, os; print(os.path.dirname(os.path.dirname(ecqx.__file__)))' 2>/dev/null)" != "$ECQX_ROOT" ]; then
  "$ECQX_VENV/bin/python" -m pip install -q --no-deps -e "$ECQX_ROOT" 2>&1 | grep -v '^WARNING: Location' || true
fi
