#!/usr/bin/env bash
# What `authapp gui` needs on a real X display (Debian packages), and Xvfb with xwininfo for
# the test that starts the GUI under a virtual X server (tests/test_gui_xvfb.py).
# PyQt5's wheel ships Qt itself but not the X libraries its xcb platform plugin loads;
# without libxcb-icccm4, libxcb-keysyms1 and libxcb-xinerama0 the GUI aborts with "Could not
# load the Qt platform plugin xcb" (exit 134). The list below is what `ldd` shows that
# libqxcb.so and the Qt libraries load, checked with QT_DEBUG_PLUGINS=1 under Xvfb.
# Idempotent; needs root (or password-less sudo) when something is missing.
set -euo pipefail
case "${1:-}" in -h|--help) exec bash "$(dirname "$0")/usage.sh" "$0" ;; esac
cd "$(dirname "$0")/.."
bash scripts/apt_install.sh "the GUI on an X display (Qt's xcb plugin) and its Xvfb test" \
    xvfb x11-utils fonts-dejavu-core \
    libgl1 libx11-xcb1 libxcb1 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
    libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 \
    libxcb-xinerama0 libxcb-xkb1 libxkbcommon0 libxkbcommon-x11-0 libxcursor1 libfontconfig1 \
    libfreetype6 libdbus-1-3 libglib2.0-0
