"""The set-up scripts speak: a missing apt, a missing root, a failing apt-get and a too-old
Python each end in one clear message (not a wall of apt output), and nothing is installed
twice. apt-get, dpkg-query, id and sudo are stand-ins on PATH, so nothing is installed here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert proc.stdout.strip() == "[setup] the GUI test: installing xvfb with apt..."
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


# -- every script answers --help, with README's time, and does nothing else -----------------
SCRIPTS = sorted(p for p in (REPO / "scripts").iterdir()
                 if p.suffix in (".sh", ".py") and not p.name.startswith("_"))
"""The scripts (``_name.py`` files are modules the scripts import, not scripts)."""
TIME_WORDS = re.compile(r"\b\d+(\.\d+)?( ?- ?\d+)? ?(s|sec|seconds?|min|minutes?|h|hours?)\b"
                        r"|about a minute|several minutes", re.IGNORECASE)


def readme_times() -> dict[str, str]:
    """The rows of README's "How long the scripts take" table: script -> time."""
    rows = re.findall(r"^\| `scripts/([^`]+)` \| ([^|]+) \|", (REPO / "README.md").read_text(),
                      re.MULTILINE)
    return {name: time.strip() for name, time in rows}


def test_every_script_has_a_measured_time_in_readme() -> None:
    times = readme_times()
    missing = sorted({p.name for p in SCRIPTS} - set(times))
    assert not missing, f"README has no time for {missing}"
    assert all(t and "TIME" not in t for t in times.values()), times


def test_scripts_print_no_times_of_their_own() -> None:
    """One source for measured times: a duration written into a script would drift."""
    for script in SCRIPTS:
        if script.name == "usage.sh":
            continue
        found = [m.group(0) for m in TIME_WORDS.finditer(script.read_text())]
        assert not found, f"{script.name} states a time itself: {found} (put it in README)"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_help_says_how_long_and_has_no_side_effects(script: Path, tmp_path: Path) -> None:
    """`--help` in a copy of the repository's scripts and README: exit 0, the script's
    description and README's time for it, and not one file created or changed (the main job
    used to run the whole set-up first)."""
    work = tmp_path / "repo"
    shutil.copytree(REPO / "scripts", work / "scripts")
    shutil.copy(REPO / "README.md", work / "README.md")
    before = {p: p.stat().st_mtime_ns for p in work.rglob("*")}
    cmd = ([BASH] if script.suffix == ".sh" else [sys.executable])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([*cmd, str(work / "scripts" / script.name), "--help"], cwd=work,
                          capture_output=True, text=True, timeout=120, check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())  # argparse wraps its epilog
    assert f"Time: {readme_times()[script.name]}" in out, proc.stdout
    after = {p: p.stat().st_mtime_ns for p in work.rglob("*") if "__pycache__" not in p.parts}
    assert after == {p: t for p, t in before.items() if "__pycache__" not in p.parts}
    assert not (work / ".venv").exists() and not (work / "experiment_out").exists()


def test_main_job_refuses_an_unknown_option_before_doing_anything(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(REPO / "scripts", work / "scripts")
    proc = subprocess.run([BASH, str(work / "scripts" / "main_job.sh"), "--out", "x"], cwd=work,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "usage: bash scripts/main_job.sh [OUT_DIR]" in proc.stderr
    assert sorted(p.name for p in work.iterdir()) == ["scripts"]


def test_pyproject_licence_is_an_spdx_expression() -> None:
    """A licence table stops building with setuptools' releases after February 2027."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    requires = project["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77
               for r in requires), requires


def test_what_readme_commands_create_is_ignored_by_git() -> None:
    readme = (REPO / "README.md").read_text()
    made = set(re.findall(r"--(?:store|out) ([\w.-]+)\b", readme)) - {"DIR", "OUT", "OUT_DIR"}
    made = {m for m in made if not m.isupper()}
    ignored = {line.strip().rstrip("/") for line in (REPO / ".gitignore").read_text().splitlines()}
    assert {"demo_store", "demo_experiment"} <= made
    assert made <= ignored, sorted(made - ignored)
