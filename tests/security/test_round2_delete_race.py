"""Issue 22 item 7: a delete racing a login leaves no orphan attempt or fingerprint rows (the
delete takes the user's lock; an attempt is recorded only for a user who still exists)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from storekit import STORE_KIND, fmkit

from authapp import guard
from authapp.services import AuthService, Settings
from authapp.store import EnrollmentStore, UnknownUserError


def _orphans(root: Path) -> int:
    with sqlite3.connect(root / "store.sqlite3") as conn:
        return sum(conn.execute(f"SELECT COUNT(*) FROM {t} WHERE user_key NOT IN "
                                "(SELECT key FROM users) AND user_key NOT LIKE '#%'"
                                ).fetchone()[0] for t in ("attempts", "fingerprints"))


def test_login_in_progress_finishes_before_the_delete(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "s"
    store = EnrollmentStore(root)
    svc = AuthService(store, Settings(verifier=STORE_KIND))
    svc.enroll("luduo", fmkit("luduo")[:4])
    inside, go = threading.Event(), threading.Event()
    real = guard.lock_state

    def slow_lock_state(*a, **k):  # the login holds the user's lock here
        inside.set()
        go.wait(10)
        return real(*a, **k)

    monkeypatch.setattr(guard, "lock_state", slow_lock_state)
    results: list = []
    t = threading.Thread(target=lambda: results.append(svc.verify("luduo", fmkit("luduo")[6])))
    t.start()
    assert inside.wait(10)
    deleter = threading.Thread(target=lambda: store.delete_user("luduo"))
    deleter.start()
    deleter.join(0.5)
    assert deleter.is_alive()  # waiting for the login's lock
    go.set()
    t.join(30)
    deleter.join(30)
    assert results and results[0].outcome == "accept"
    assert not store.has_user("luduo") and _orphans(root) == 0
    store.close()


def test_an_attempt_for_a_deleted_user_is_not_recorded(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with EnrollmentStore(root) as store:
        store.save_enrollment("luduo", fmkit("luduo")[:2], b"model", "dtw")
        store.delete_user("luduo")
        with pytest.raises(UnknownUserError):
            store.record_attempt("luduo", outcome="reject", score=-1.0, reason="late",
                                 fingerprint=fmkit("luduo")[0].positions[:64].astype("f4"))
    assert _orphans(root) == 0
