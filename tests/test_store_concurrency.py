"""Several processes logging in while another re-enrolls: no 'database is locked' crash, no
lost attempt, and a consistent store afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from storekit import STORE_KIND, check_consistent, fmkit

from authapp.services import AuthService, Settings
from authapp.store import EnrollmentStore

HERE = Path(__file__).resolve().parent
WORK_SECONDS = 4.0
VERIFIERS = 3


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "storekit.py"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_verifying_while_enrolling(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with EnrollmentStore(root) as store:
        svc = AuthService(store, Settings(verifier=STORE_KIND))
        svc.enroll("alice", fmkit("luduo")[:4])
        svc.enroll("bob", fmkit("luduo")[4:8])
        svc.store.audit("test-start")
    go = tmp_path / "go"
    procs = [_spawn("enroll-child", str(root), str(WORK_SECONDS), "1", str(go))]
    procs += [_spawn("verify-child", str(root), str(WORK_SECONDS), str(10 + k), str(go))
              for k in range(VERIFIERS)]
    for p in procs:  # all started and warmed up: start working together
        line = p.stdout.readline()
        assert line.strip() == "ready", p.stderr.read()
    go.touch()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, f"child failed:\n{err}"
        assert "database is locked" not in err
        outputs.append(out.split())
    enrollments = int(outputs[0][outputs[0].index("enrollments") + 1])
    attempts = sum(int(o[o.index("attempts") + 1]) for o in outputs[1:])
    print(f"{enrollments} re-enrollments, {attempts} login attempts")
    assert enrollments >= 2 and attempts >= VERIFIERS * 2, (enrollments, attempts)
    check_consistent(root)
    with EnrollmentStore(root) as store:
        rows = store.attempts("alice") + store.attempts("bob")
        recorded = sum(a.outcome != "reset" for a in rows)  # (a re-enrollment adds a reset)
        assert recorded == attempts  # every attempt was recorded exactly once
        assert sum(a.outcome == "reset" for a in rows) == enrollments
        events = [e.event for e in store.audit_log("alice")]
        assert events.count("re_enroll") == enrollments
        assert store.check_integrity() == []
