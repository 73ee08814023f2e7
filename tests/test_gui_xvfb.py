"""`authapp gui` on a real X server (Xvfb), not Qt's offscreen platform: the process must load
Qt's xcb plugin (which aborts with exit 134 when Debian's xcb libraries are missing), map its
window, and paint it. scripts/install_gui_deps.sh installs what this needs."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

START_TIMEOUT_S = 90.0
XVFB = shutil.which("Xvfb")

GRAB = """
import sys
from PyQt5.QtWidgets import QApplication
app = QApplication(["grab"])
shot = app.primaryScreen().grabWindow(int(sys.argv[1], 0))
sys.exit(0 if shot.save(sys.argv[2], "PNG") else 1)
"""
"""Screenshot of one X window (by id) through the X server itself, as a separate client."""


@pytest.fixture
def xserver(tmp_path: Path):
    """A private Xvfb on a display number it picks itself (-displayfd): never a taken one."""
    if XVFB is None:
        pytest.skip("Xvfb is not installed: run scripts/install_gui_deps.sh (as root) to "
                    "install it and the X libraries Qt's xcb plugin needs")
    read_fd, write_fd = os.pipe()
    log = (tmp_path / "xvfb.log").open("w")
    proc = subprocess.Popen([XVFB, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,), stdout=log, stderr=log)
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 30)
        number = os.read(read_fd, 32).decode().strip() if ready else ""
        assert number.isdigit(), f"Xvfb did not start: {(tmp_path / 'xvfb.log').read_text()}"
        yield f":{number}"
    finally:
        os.close(read_fd)
        proc.terminate()
        proc.wait(10)
        log.close()


def window_id(display: str, title_prefix: str) -> str | None:
    """The id of a viewable top-level window whose title starts with ``title_prefix``."""
    xwininfo = shutil.which("xwininfo")
    assert xwininfo, "xwininfo is missing: run scripts/install_gui_deps.sh (Debian x11-utils)"
    tree = subprocess.run([xwininfo, "-display", display, "-root", "-tree"],
                          capture_output=True, text=True, timeout=10, check=False).stdout
    for wid in re.findall(rf'^\s*(0x[0-9a-f]+) "{re.escape(title_prefix)}', tree, re.MULTILINE):
        info = subprocess.run([xwininfo, "-display", display, "-id", wid],
                              capture_output=True, text=True, timeout=10, check=False).stdout
        if "IsViewable" in info:
            return wid
    return None


def looks_painted(png: Path) -> str:
    """Why the screenshot is not a painted window ("" when it is one)."""
    img = matplotlib.image.imread(png)[..., :3]
    h, w = img.shape[:2]
    if h < 500 or w < 900:
        return f"only {w}x{h} pixels"
    colours = np.unique((img * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    if len(colours) < 50:
        return f"only {len(colours)} colours"
    for name, part in (("left", img[:, : w // 2]), ("right", img[:, w // 2:])):
        if float(part.std()) < 0.05:
            return f"the {name} half is (almost) uniform"
    return ""


def test_gui_starts_and_paints_under_xvfb(xserver, shared_data, tmp_path) -> None:
    authapp = Path(sys.executable).with_name("authapp")
    assert authapp.exists(), f"{authapp} missing: the project is not installed in this venv"
    leap = shared_data / "leap_air_signatures"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # the real X server
    env["DISPLAY"] = xserver
    err = tmp_path / "gui.err"
    with err.open("w") as err_file:
        gui = subprocess.Popen([str(authapp), "gui", "--store", str(tmp_path / "store"),
                                "--replay", str(leap / "u16" / "1.csv"),
                                str(leap / "u20" / "1.csv")],
                               env=env, stdout=subprocess.DEVNULL, stderr=err_file)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        wid = None
        while wid is None:
            assert gui.poll() is None, f"authapp gui exited {gui.returncode}: {err.read_text()}"
            assert time.monotonic() < deadline, f"no window after {START_TIMEOUT_S:g} s"
            time.sleep(0.3)
            wid = window_id(xserver, "AirAuth - ")
        shot, why = tmp_path / "gui_xvfb.png", "no screenshot taken"
        for _ in range(20):  # mapped first, painted a moment later
            time.sleep(0.5)
            grab = subprocess.run([sys.executable, "-c", GRAB, wid, str(shot)], env=env,
                                  capture_output=True, text=True, timeout=60, check=False)
            assert grab.returncode == 0, f"screenshot failed: {grab.stderr}"
            why = looks_painted(shot)
            if not why:
                break
        assert not why, f"the window's screenshot is not a painted window: {why}"
        assert gui.poll() is None, err.read_text()
        out = os.environ.get("AIRAUTH_GUI_SCREENSHOTS")
        if out:
            shutil.copy(shot, Path(out) / shot.name)
    finally:
        gui.terminate()
        gui.wait(30)
    assert "Could not load the Qt platform plugin" not in err.read_text()
