#!/usr/bin/env bash
# Create (or reuse) a virtualenv and install AirAuth with its test and GUI extras.
# Usage: bash scripts/bootstrap.sh [VENV_DIR]   (default .venv)
# torch is installed first, pinned to the CPU build (2.13.0), so that nothing pulls CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "torch==2.13.0"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev,gui]"
# Headless Chromium renders report.html in the report test (Debian package; needs root).
bash scripts/install_chromium.sh >/dev/null
