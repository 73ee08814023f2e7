"""How the store in this folder was made: run ONCE with the version of AirAuth whose store it
stands for (main at be054e0, schema 5), never again -- the test that reads it
(tests/test_store_compat.py) checks that later versions still open that store and decide
with it exactly as that version did. It calls that version's API (``verify(...,
record_attempt=...)``, gone since issue 25 moved auditing into the service), so it runs on
be054e0 only (``git worktree add /tmp/be054e0 be054e0``), which is the point.

    PYTHONPATH=. .venv/bin/python tests/data/store_compat/make.py

Two users enrolled with the default settings from real FMKit recordings (user luduo writing
"luduo" and "jisuanji"), two recorded logins each (their fingerprints join the replay
history), one setting changed; ``expected.json`` holds what that version then answered.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/ (storekit)
sys.path.insert(0, str(HERE.parents[2]))  # the repository

ENROLL = {"alice": ("luduo", (0, 1, 2)), "bob": ("jisuanji", (0, 1, 2))}
LOGINS = [("alice", "luduo", 5), ("alice", "jisuanji", 5), ("bob", "jisuanji", 5),
          ("bob", "luduo", 6)]
CHECKS = [("alice", "luduo", 6), ("alice", "luduo", 5), ("alice", "luduo", 0),
          ("alice", "jisuanji", 7), ("bob", "jisuanji", 6), ("bob", "jisuanji", 5),
          ("bob", "luduo", 8)]
"""Offline checks (nothing recorded): genuine, a replay of a recorded login, a replay of an
enrollment sample, another content; for both users."""


def result_dict(r) -> dict:
    """What the compatibility test compares of one ``VerifyResult``."""
    return {"decision": bool(r.decision), "outcome": r.outcome, "score": r.score,
            "raw_score": r.raw_score, "threshold": r.threshold}


def store_facts(store) -> dict:
    """What the store itself answers (no scoring)."""
    return {
        "schema_version": store.schema_version,
        "settings": store.get_settings(),
        "users": [{"name": u.name, "key": u.key, "dirname": u.dirname,
                   "verifier_kind": u.verifier_kind, "model_file": u.model_file,
                   "n_recordings": u.n_recordings, "metadata_keys": sorted(u.metadata)}
                  for u in store.users()],
        "attempts": {u: [[a.outcome, a.score, a.reason] for a in store.attempts(u)]
                     for u in ENROLL},
        "fingerprints": {u: [[f.source, f.ref, f.version, list(f.points.shape),
                              f.description is not None] for f in store.fingerprints(u)]
                         for u in ENROLL},
        "audit_events": [e.event for e in store.audit_log()],
        "problems": store.verify_store(),
    }


def main() -> None:
    from storekit import fmkit

    from authapp.services import AuthService
    from authapp.store import EnrollmentStore

    root = HERE / "store"
    shutil.rmtree(root, ignore_errors=True)
    with EnrollmentStore(root) as store:
        store.set_setting("replay_threshold", 0.05)
        svc = AuthService(store)
        for user, (content, idx) in ENROLL.items():
            recs = [fmkit(content)[i].with_meta(source=f"luduo_{content}_{i + 1:02d}")
                    for i in idx]
            svc.enroll(user, recs)
        for user, content, i in LOGINS:
            svc.verify(user, fmkit(content)[i], record_attempt=True)
        checks = [result_dict(svc.verify(u, fmkit(c)[i], record_attempt=False))
                  for u, c, i in CHECKS]
        facts = store_facts(store)
    for extra in ("tmp", "locks"):  # made again on opening
        shutil.rmtree(root / extra, ignore_errors=True)
    conn = sqlite3.connect(root / "store.sqlite3", isolation_level=None)
    conn.execute("VACUUM")  # smaller file, same rows
    conn.close()
    (HERE / "expected.json").write_text(json.dumps({"checks": checks, "store": facts},
                                                   indent=1) + "\n")


if __name__ == "__main__":
    main()
