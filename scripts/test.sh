#!/usr/bin/env bash
# Set up everything needed (idempotent) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh .venv
export QT_QPA_PLATFORM=offscreen MPLBACKEND=Agg
exec .venv/bin/python -m pytest -q "$@"
