#!/usr/bin/env bash
# Headless Chromium (and a font) for the report screenshot test (tests/test_report.py).
# Only the tests need it: scripts/test.sh calls this, the main job does not. Idempotent;
# needs root (or password-less sudo) when something is missing, and says so clearly.
set -euo pipefail
case "${1:-}" in -h|--help) exec bash "$(dirname "$0")/usage.sh" "$0" ;; esac
cd "$(dirname "$0")/.."
bash scripts/apt_install.sh "the report test (headless Chromium)" chromium fonts-dejavu-core
