"""Issue 14 item 3: logins started at the same moment in separate processes cannot bypass
the lockout or share one fresh sample: check -> score -> record is atomic per user."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from storekit import STORE_KIND, fmkit

from authapp.services import AuthService, Settings
from authapp.store import EnrollmentStore


def _parallel_logins(root: Path, user: str, files: list[str]) -> list[str]:
    """Log in with each file in its own process, all released at the same moment."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["parallel_kit"])
    import parallel_kit

    barrier = ctx.Barrier(len(files))
    results = ctx.Queue()
    procs = [ctx.Process(target=parallel_kit.login, args=(str(root), user, f, barrier, results))
             for f in files]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return outcomes


def _store(root: Path) -> None:
    with EnrollmentStore(root) as store:
        AuthService(store, Settings(verifier=STORE_KIND)).enroll("luduo", fmkit("luduo")[:5])
        store.set_setting("lockout", {"max_failures": 5, "window_s": 600.0, "lockout_s": 900.0})


def test_twenty_parallel_wrong_logins_lock_the_account_after_five(tmp_path: Path,
                                                                   fmkit_dir: Path) -> None:
    root = tmp_path / "s"
    _store(root)
    wrong = [str(fmkit_dir / f"luduo_jisuanji_{i:02d}.txt") for i in range(1, 11)] * 2
    outcomes = _parallel_logins(root, "luduo", wrong)
    failures = [o for o in outcomes if o in ("reject", "replay")]
    assert len(failures) == 5 and outcomes.count("locked") == 15, outcomes
    with EnrollmentStore(root) as store:
        svc = AuthService(store)
        assert svc.lock_state("luduo").locked
        recorded = [a.outcome for a in store.attempts("luduo")]
        assert sorted(recorded) == sorted(outcomes)  # each attempt recorded exactly once
        assert [e.event for e in store.audit_log("luduo")].count("lockout") == 1


def test_four_parallel_logins_with_one_fresh_sample_accept_only_one(tmp_path: Path,
                                                                    fmkit_dir: Path) -> None:
    root = tmp_path / "s"
    _store(root)
    fresh = str(fmkit_dir / "luduo_luduo_07.txt")
    outcomes = _parallel_logins(root, "luduo", [fresh] * 4)
    assert sorted(outcomes) == ["accept", "replay", "replay", "replay"], outcomes
