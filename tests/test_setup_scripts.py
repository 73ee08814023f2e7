"""The set-up scripts speak: a missing apt, a missing root, a failing apt-get and a too-old
Python each end in one clear message (not a wall of apt output), and nothing is installed
twice. apt-get, dpkg-query, id and sudo are stand-ins on PATH, so nothing is installed here."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APT_INSTALL = REPO / "scripts" / "apt_install.sh"
BASH = shutil.which("bash") or "/bin/bash"


def fake_bin(tmp: Path, tools: dict[str, str], real: tuple[str, ...] = (
        "grep", "mktemp", "tail", "sed", "rm", "cat")) -> Path:
    """A PATH folder with stand-in commands (``tools``: name -> bash body) and the few real
    ones the scripts use; nothing else (no apt-get unless a stand-in is given)."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for name in real:
        os.symlink(shutil.which(name), bin_dir / name)
    for name, body in tools.items():
        path = bin_dir / name
        path.write_text(f"#!{BASH}\n{body}\n")
        path.chmod(0o755)
    return bin_dir


def run(script: Path, args: list[str], bin_dir: Path, tmp: Path,
        **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(script), *args], capture_output=True, text=True,
                          timeout=60, check=False,
                          env={"PATH": str(bin_dir), "TMPDIR": str(tmp), **env})


NOT_INSTALLED = "exit 1"
ROOT = "echo 0"
USER = "echo 1000"


def test_missing_apt_is_one_clear_message(tmp_path) -> None:
    bin_dir = fake_bin(tmp_path, {"dpkg-query": NOT_INSTALLED, "id": ROOT})
    proc = run(APT_INSTALL, ["the GUI test", "xvfb", "libxcb-icccm4"], bin_dir, tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "the GUI test needs the Debian packages: xvfb libxcb-icccm4" in proc.stderr
    assert "apt-get is not available" in proc.stderr
    assert "apt-get install -y --no-install-recommends xvfb libxcb-icccm4" in proc.stderr
    assert len(proc.stderr.splitlines()) == 3


def test_not_root_is_one_clear_message(tmp_path) -> None:
    called = tmp_path / "apt-called"
    bin_dir = fake_bin(tmp_path, {"dpkg-query": NOT_INSTALLED, "id": USER, "sudo": "exit 1",
                                  "apt-get": f"touch {called}"})
    proc = run(APT_INSTALL, ["the report test", "chromium"], bin_dir, tmp_path)
    assert proc.returncode == 1 and not called.exists()
    assert "needs root, and this is not root (nor password-less sudo)" in proc.stderr
    assert len(proc.stderr.splitlines()) == 3


def test_failing_apt_shows_its_last_lines_only(tmp_path) -> None:
    wall = 'for ((i = 1; i <= 200; i++)); do echo "apt line $i"; done; exit 100'
    bin_dir = fake_bin(tmp_path, {"dpkg-query": NOT_INSTALLED, "id": ROOT, "apt-get": wall})
    proc = run(APT_INSTALL, ["the GUI test", "xvfb"], bin_dir, tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.strip() == ("[setup] the GUI test: installing xvfb with apt "
                                   "(about 1 minute)...")
    apt_lines = [x for x in proc.stderr.splitlines() if x.startswith("[apt]")]
    assert apt_lines == [f"[apt] apt line {i}" for i in range(196, 201)]
    log = next(tmp_path.glob("airauth-apt.*.log"))
    assert str(log) in proc.stderr and len(log.read_text().splitlines()) == 200


def test_installs_only_what_is_missing(tmp_path) -> None:
    args = tmp_path / "apt-args"
    present = 'if [ "$3" = xvfb ]; then echo "install ok installed"; else exit 1; fi'
    bin_dir = fake_bin(tmp_path, {"dpkg-query": present, "id": ROOT,
                                  "apt-get": f'echo "$@" >> {args}'})
    proc = run(APT_INSTALL, ["the GUI test", "xvfb", "libxcb-keysyms1"], bin_dir, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert args.read_text().splitlines() == [
        "update -q", "install -y -q --no-install-recommends libxcb-keysyms1"]
    assert "installed libxcb-keysyms1" in proc.stdout

    (tmp_path / "all").mkdir()
    everything = fake_bin(tmp_path / "all", {"dpkg-query": 'echo "install ok installed"',
                                             "id": ROOT})
    proc = run(APT_INSTALL, ["the GUI test", "xvfb"], everything, tmp_path)
    assert proc.returncode == 0 and "already installed" in proc.stdout


def test_bootstrap_refuses_an_old_python(tmp_path) -> None:
    old = 'if [ "$1" = --version ]; then echo "Python 3.10.12"; else exit 1; fi'
    bin_dir = fake_bin(tmp_path, {"python3": old}, real=("dirname",))
    proc = run(REPO / "scripts" / "bootstrap.sh", [str(tmp_path / "venv")], bin_dir, tmp_path)
    assert proc.returncode == 1 and not (tmp_path / "venv").exists()
    assert "AirAuth needs Python >= 3.11; 'python3' is Python 3.10.12" in proc.stderr
