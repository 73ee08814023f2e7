#!/usr/bin/env bash
# Install the Debian packages named after WHAT, only those not installed yet, quietly.
#   bash scripts/apt_install.sh "WHAT THEY ARE FOR" PACKAGE...
# The one place that talks to apt (install_chromium.sh and install_gui_deps.sh call it), so
# that every failure reads the same: one clear message with the command to run, and apt's
# own output only on failure (its last lines, the whole of it in a log file).
set -euo pipefail
case "${1:-}" in -h|--help) exec bash "$(dirname "$0")/usage.sh" "$0" ;; esac
what="$1"; shift
missing=()
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "[setup] $what: Debian packages already installed"
    exit 0
fi
fail() {
    echo "[setup] ERROR: $what needs the Debian packages: ${missing[*]}" >&2
    echo "[setup]        $1" >&2
    echo "[setup]        Install them as root:  apt-get update && apt-get install -y" \
         "--no-install-recommends ${missing[*]}" >&2
    exit 1
}
command -v apt-get >/dev/null 2>&1 \
    || fail "apt-get is not available (this set-up expects Debian or Ubuntu)."
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        fail "installing them needs root, and this is not root (nor password-less sudo)."
    fi
fi
log="$(mktemp "${TMPDIR:-/tmp}/airauth-apt.XXXXXX.log")"
echo "[setup] $what: installing ${missing[*]} with apt..."
export DEBIAN_FRONTEND=noninteractive
if ! { "${SUDO[@]}" apt-get update -q && "${SUDO[@]}" apt-get install -y -q \
        --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 5 "$log" | sed 's/^/[apt] /' >&2
    fail "apt-get failed (its full output: $log)."
fi
rm -f "$log"
echo "[setup] $what: installed ${missing[*]}"
