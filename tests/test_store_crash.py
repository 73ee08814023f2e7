"""Crash safety of the enrollment store: processes killed (SIGKILL) in the middle of saves.

A separate child process (``tests/storekit.py crash-child``) enrolls, re-enrolls and deletes
users in a loop with real FMKit recordings, announcing each operation in an append-only log
before it starts and confirming it after it returns. The test SIGKILLs the child at random
moments (and, deterministically, at every named step of a save), then opens the store and
checks (1) that it is exactly the OLD or the NEW state of the operation the kill interrupted
(the log says which states those are) and (2) that every user is one complete save: model,
recordings and rows agree, checksums match, the model scores, and no orphan file is left.
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
from storekit import check_consistent, expected_states, prepare_subsets

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    w = tmp_path_factory.mktemp("crashwork")
    prepare_subsets(w)
    return w


def _start(store: Path, work: Path, seed: int, crash_at: str = "",
           log: Path | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "storekit.py"), "crash-child", str(store), str(work),
         str(seed), crash_at, str(log) if log else ""],
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
    kills = mid_operation = leftovers = operations = 0
    states = set()
    state: dict[str, int] = {}
    deadline = time.monotonic() + 60
    while kills < 40 and time.monotonic() < deadline:
        log = tmp_path / f"ops-{kills}.log"
        proc = _start(store, work, seed=kills, log=log)
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        stderr = proc.stderr.read()
        assert proc.returncode == -signal.SIGKILL, f"child died on its own:\n{stderr}"
        kills += 1
        allowed, done = expected_states(state, log)
        operations += done
        mid_operation += len(allowed) == 2
        leftovers += _leftovers(store) > 0
        seen = check_consistent(store, expect_users={"alice", "Bob", "carol"})
        assert seen in allowed, f"kill {kills}: store is {seen}, expected one of {allowed}"
        state = seen
        states.add(tuple(sorted(seen.items())))
    print(f"{kills} kills, {operations} completed operations, {mid_operation} kills during "
          f"an operation ({leftovers} left files to clean up), {len(states)} distinct states")
    assert kills >= 20, f"only {kills} kill cycles fitted in the time budget"
    assert len(states) > 5, "the child made too little progress between kills to test much"
    assert mid_operation >= 5, f"only {mid_operation} kills landed inside an operation"
    assert leftovers >= 2, f"only {leftovers} kills left a save half-done on disk"


@pytest.mark.parametrize("point", ["file-written@0", "file-written@3", "files-written@0",
                                   "before-commit@0", "before-commit@1", "committed@0",
                                   "collecting@0"])
def test_kill_at_each_step_of_a_save(tmp_path: Path, work: Path, point: str) -> None:
    """Die at one named step of the second save (the first completes): old or new state."""
    store = tmp_path / "store"
    # the hook kills after the step was passed n times: past the first save (which reaches
    # "file-written" once per file: model + 3..5 recordings, and "before-commit" thrice:
    # registering its files, switching the rows, clearing the registry), so an enrollment
    # exists before
    step, _, n = point.partition("@")
    per_save = {"file-written": 4, "before-commit": 3}.get(step, 1)
    log = tmp_path / "ops.log"
    proc = _start(store, work, seed=7, crash_at=f"{step}@{per_save + int(n)}", log=log)
    proc.wait(timeout=60)
    stderr = proc.stderr.read()
    assert proc.returncode == -signal.SIGKILL, f"crash point never reached:\n{stderr}"
    allowed, done = expected_states({}, log)
    assert done >= 1 and len(allowed) == 2, "the kill did not land in the second operation"
    seen = check_consistent(store)
    assert seen in allowed, f"store is {seen}, expected old or new state {allowed}"
    if step in ("file-written", "files-written", "before-commit"):
        assert seen == allowed[0], "a save killed before its commit must leave the old state"
    else:  # "committed", "collecting": after the commit
        assert seen == allowed[1], "a save killed after its commit must leave the new state"
