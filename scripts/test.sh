#!/usr/bin/env bash
# Set up everything needed (idempotent) and run the whole test suite (arguments go to pytest;
# --help or -h alone: this text).
# Besides the virtualenv, the tests need Debian packages: headless Chromium (report test)
# and Xvfb + Qt's X libraries (the GUI under a real X server); installing the missing ones
# needs root, and the scripts say so clearly when it is not available.
set -euo pipefail
if [ $# -eq 1 ]; then
    case "${1:-}" in -h|--help) exec bash "$(dirname "$0")/usage.sh" "$0" ;; esac
fi
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh .venv
bash scripts/install_chromium.sh
bash scripts/install_gui_deps.sh
export QT_QPA_PLATFORM=offscreen MPLBACKEND=Agg
echo "[setup] running the test suite: $(bash scripts/usage.sh --time test.sh)"
# one worker per core (pytest-xdist; AIRAUTH_TEST_WORKERS=0 runs everything in this process)
exec .venv/bin/python -m pytest -q -n "${AIRAUTH_TEST_WORKERS:-auto}" "$@"
