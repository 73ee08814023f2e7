"""Crash safety of the enrollment store: processes killed (SIGKILL) in the middle of saves.

A child process enrolls, re-enrolls and deletes users in a loop with real FMKit recordings;
the test kills it at random moments (and, deterministically, at every step of a save) and then
opens the store and checks that every user is fully one complete save: model, recordings and
rows agree, checksums match, the model verifies, and no orphan file is left.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storekit import check_consistent, prepare_subsets

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    w = tmp_path_factory.mktemp("crashwork")
    prepare_subsets(w)
    return w


def _start(store: Path, work: Path, seed: int, crash_at: str = "") -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "storekit.py"), "crash-child", str(store), str(work),
         str(seed), crash_at],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError(f"child failed to start: {line}{proc.stderr.read()}")
    return proc


def _leftovers(store: Path) -> int:
    """Files a killed save left behind (unreferenced or temporary), before the store cleans."""
    if not (store / "store.sqlite3").exists():
        return 0
    conn = sqlite3.connect(store / "store.sqlite3")
    try:
        refs = {f"{d}/{f}" for d, f in conn.execute(
            "SELECT u.dirname, m.file FROM users u JOIN models m ON m.user_id = u.id UNION "
            "SELECT u.dirname, r.file FROM users u JOIN models m ON m.user_id = u.id "
            "JOIN recordings r ON r.model_id = m.id")}
    finally:
        conn.close()
    files = {str(p.relative_to(store / "users")) for p in (store / "users").rglob("*")
             if p.is_file()}
    return len(files - refs) + sum(1 for _ in (store / "tmp").iterdir())


def test_random_kills_leave_old_or_new_state(tmp_path: Path, work: Path) -> None:
    store = tmp_path / "store"
    rng = random.Random(1234)
    kills = interrupted = 0
    states = set()
    deadline = time.monotonic() + 40
    while kills < 40 and time.monotonic() < deadline:
        proc = _start(store, work, seed=kills)
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        stderr = proc.stderr.read()
        assert proc.returncode == -signal.SIGKILL, f"child died on its own:\n{stderr}"
        kills += 1
        interrupted += _leftovers(store) > 0
        seen = check_consistent(store, expect_users={"alice", "Bob", "carol"})
        states.add(tuple(sorted(seen.items())))
    assert kills >= 30, f"only {kills} kill cycles fitted in the time budget"
    assert len(states) > 5, "the child made too little progress between kills to test much"
    print(f"{kills} kills, {interrupted} inside a save, {len(states)} distinct states")
    assert interrupted >= 3, f"only {interrupted} kills landed inside a save"


@pytest.mark.parametrize("point", ["file-written@0", "file-written@3", "files-written@0",
                                   "before-commit@0", "committed@0", "collecting@0"])
def test_kill_at_each_step_of_a_save(tmp_path: Path, work: Path, point: str) -> None:
    """Die at one named step of the second save (the first completes): old or new state."""
    store = tmp_path / "store"
    # the hook kills after the step was passed n times: past the first save (which reaches
    # "file-written" once per file: model + 3..5 recordings), so an enrollment exists before
    step, _, n = point.partition("@")
    per_save = {"file-written": 4}.get(step, 1)
    proc = _start(store, work, seed=7, crash_at=f"{step}@{per_save + int(n)}")
    proc.wait(timeout=60)
    stderr = proc.stderr.read()
    assert proc.returncode == -signal.SIGKILL, f"crash point never reached:\n{stderr}"
    seen = check_consistent(store)
    assert seen, "the completed first save was lost"
