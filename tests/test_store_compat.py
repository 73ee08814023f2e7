"""A store written by an earlier version opens and decides exactly as it did.

``tests/data/store_compat/store`` is a store that main at be054e0 (schema 5) wrote: two users
enrolled with the default settings from real FMKit recordings, recorded logins (their replay
fingerprints), a changed setting (``make.py`` there says how). ``expected.json`` holds what
that version answered. Stores live for years, so a rework of the store's code must go on
opening this one, with the same users, history, settings and keyed checksums, and the logins
must come out the same: decisions, scores, replays found.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from scriptkit import load_script
from storekit import fmkit

from authapp.services import Actor, AuthService
from authapp.store import EnrollmentStore

HERE = Path(__file__).resolve().parent / "data" / "store_compat"
EXPECTED = json.loads((HERE / "expected.json").read_text())


def _make_module():
    return load_script(HERE / "make.py", "store_compat_make")


MAKE = _make_module()


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A copy of the stored store (opening it repairs modes and makes ``locks/``)."""
    dest = tmp_path / "store"
    shutil.copytree(HERE / "store", dest)
    return dest


def test_old_store_opens_with_the_same_contents(old_store: Path) -> None:
    with EnrollmentStore(old_store, create=False) as store:
        got = MAKE.store_facts(store)
    assert json.loads(json.dumps(got)) == EXPECTED["store"]


def test_old_store_decides_as_before(old_store: Path) -> None:
    with EnrollmentStore(old_store, create=False) as store:
        svc = AuthService(store)
        got = [MAKE.result_dict(svc.offline_check(Actor.admin(), u, fmkit(c)[i]))
               for u, c, i in MAKE.CHECKS]  # (be054e0: verify(record_attempt=False))
    want = EXPECTED["checks"]
    assert [(g["decision"], g["outcome"]) for g in got] == \
        [(w["decision"], w["outcome"]) for w in want]
    for g, w in zip(got, want):
        for k in ("score", "raw_score", "threshold"):
            assert g[k] == pytest.approx(w[k], rel=1e-9, abs=1e-12), k


def test_old_store_records_and_collects_as_before(old_store: Path) -> None:
    """Writing to the old store works: a recorded login joins its history, a deleted user's
    files go, and the store still verifies."""
    with EnrollmentStore(old_store, create=False) as store:
        svc = AuthService(store)
        result = svc.verify("alice", fmkit("luduo")[6])
        assert result.outcome == "accept" and result.adapted  # a confident login adapts
        assert [(a.outcome, a.reason) for a in store.attempts("alice")][-2:] == \
            [("accept", result.reason), ("reset", "adapt")]
        assert len(store.fingerprints("alice")) == 6
        store.delete_user("bob")
        assert [u.name for u in store.users()] == ["alice"]
        assert store.verify_store() == []
    assert [p.name for p in (old_store / "users").iterdir()] == \
        [EXPECTED["store"]["users"][0]["dirname"]]
