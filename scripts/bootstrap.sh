#!/usr/bin/env bash
# Create (or reuse) a virtualenv and install AirAuth with its test and GUI extras.
# Usage: bash scripts/bootstrap.sh [VENV_DIR]   (default .venv; --help: this text)
# Python packages only (no root needed): the Debian packages the tests need are installed by
# scripts/test.sh (install_chromium.sh, install_gui_deps.sh), not here, so the main job
# never needs apt. torch is installed first, pinned to the CPU build (2.13.0), so that
# nothing pulls CUDA.
set -euo pipefail
case "${1:-}" in -h|--help) exec bash "$(dirname "$0")/usage.sh" "$0" ;; esac
cd "$(dirname "$0")/.."
VENV="${1:-.venv}"
PY="${PYTHON:-python3}"
say() { echo "[setup] $*"; }
start=$SECONDS
if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "[setup] ERROR: AirAuth needs Python >= 3.11; '$PY' is" \
             "$("$PY" --version 2>&1 || echo missing) (set PYTHON=/path/to/python3.11)" >&2
        exit 1
    fi
    say "creating the virtualenv $VENV ($("$PY" --version))"
    if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        echo "[setup] ERROR: '$PY -m venv' failed: on Debian install the python3-venv package" \
             "(apt-get install python3-venv)" >&2
        exit 1
    fi
fi
pip=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
say "set-up takes $(bash scripts/usage.sh --time bootstrap.sh)"
say "pip: torch 2.13.0, CPU build (about 750 MB)"
"${pip[@]}" "torch==2.13.0"
say "pip: AirAuth (editable) with its dependencies and the dev + gui extras" \
    "(numpy, scipy, scikit-learn, numba, PyQt5, pyqtgraph, pytest...)"
"${pip[@]}" -e ".[dev,gui]"
say "Python environment ready in $VENV ($((SECONDS - start)) s); run commands as $VENV/bin/authapp"
