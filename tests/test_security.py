"""Replay-attack detection and lockout, on real FMKit recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from storekit import STORE_KIND, fmkit

from authapp import security
from authapp.security import (
    DEFAULT_REPLAY_THRESHOLD_MM,
    LockoutPolicy,
    find_replay,
    fingerprint,
    lockout_state,
    replay_distance,
)
from authapp.services import AuthService, Settings
from authapp.store import EnrollmentStore
from capture.trajectory import Trajectory


def _resampled(t: Trajectory, rate_hz: float) -> Trajectory:
    grid = np.arange(0.0, t.duration, 1.0 / rate_hz)
    pos = np.column_stack([np.interp(grid, t.t, t.positions[:, k]) for k in range(t.dims)])
    return Trajectory(grid, pos, meta=t.meta)


def _variants(t: Trajectory) -> dict[str, Trajectory]:
    rng = np.random.default_rng(0)
    warp = t.t + 0.05 * np.sin(t.t * 2.0)  # non-uniform re-timing, still increasing
    return {
        "exact copy": t,
        "copy + 0.01 mm jitter": Trajectory(t.t, t.positions + rng.normal(0, 0.01, t.positions.shape)),
        "copy + 0.05 mm jitter": Trajectory(t.t, t.positions + rng.normal(0, 0.05, t.positions.shape)),
        "re-timed (slower, offset)": Trajectory(t.t * 1.25 + 17.0, t.positions),
        "re-timed (warped)": Trajectory(warp, t.positions),
        "resampled at 90 Hz": _resampled(t, 90.0),
        "resampled at 200 Hz": _resampled(t, 200.0),
        "idle ends trimmed": t.slice(6, len(t) - 6),
        "moved 3 mm": Trajectory(t.t, t.positions + np.array([3.0, -2.0, 1.0])),
    }


@pytest.mark.parametrize("content,index", [("luduo", 0), ("luduo", 7), ("jisuanji", 3)])
def test_replays_are_detected(content: str, index: int) -> None:
    recs = fmkit(content)
    stored = [(f"sample {i}", fingerprint(r)) for i, r in enumerate(recs)]
    for what, attack in _variants(recs[index]).items():
        match = find_replay(fingerprint(attack), stored)
        assert match is not None, f"{what} not detected"
        assert match.ref == f"sample {index}", what
        assert match.distance_mm < DEFAULT_REPLAY_THRESHOLD_MM / 2, (what, match)


def test_genuine_repetitions_are_not_replays() -> None:
    """All 190 pairs of real samples (same writer, same and different words) stay far apart."""
    recs = list(fmkit("luduo")) + list(fmkit("jisuanji"))
    fps = [fingerprint(r) for r in recs]
    dists = [replay_distance(fps[i], fps[j])
             for i in range(len(fps)) for j in range(i + 1, len(fps))]
    assert min(dists) > 3 * DEFAULT_REPLAY_THRESHOLD_MM, min(dists)
    for i, fp in enumerate(fps):
        others = [(str(j), f) for j, f in enumerate(fps) if j != i]
        assert find_replay(fp, others) is None


def test_fingerprint_is_small_and_time_free() -> None:
    t = fmkit("luduo")[0]
    fp = fingerprint(t)
    assert fp.shape == (security.FINGERPRINT_POINTS, 3) and fp.dtype == np.float32
    np.testing.assert_allclose(fingerprint(Trajectory(t.t * 3.0, t.positions)), fp)
    assert replay_distance(fp, np.zeros((5, 2))) == np.inf  # other dims never match


# -- lockout policy ---------------------------------------------------------------------------
def test_lockout_state_rules() -> None:
    pol = LockoutPolicy(max_failures=3, window_s=60.0, lockout_s=100.0)
    assert not lockout_state([10.0, 20.0], None, 30.0, pol).locked
    s = lockout_state([10.0, 20.0, 30.0], None, 31.0, pol)
    assert s.locked and s.until == 130.0 and s.recent_failures == 3
    assert not lockout_state([10.0, 20.0, 30.0], None, 130.0, pol).locked  # expired
    assert not lockout_state([0.0, 40.0, 80.0], None, 81.0, pol).locked  # spread over > window
    assert not lockout_state([10.0, 20.0, 30.0], 25.0, 31.0, pol).locked  # success resets
    assert not lockout_state([1.0] * 9, None, 2.0, LockoutPolicy(max_failures=0)).locked
    with pytest.raises(ValueError):
        LockoutPolicy(max_failures=-1)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def service(tmp_path: Path):
    clock = Clock()
    store = EnrollmentStore(tmp_path / "s", clock=clock)
    svc = AuthService(store, Settings(verifier=STORE_KIND,
                                      lockout=LockoutPolicy(3, window_s=60.0, lockout_s=120.0)),
                      clock=clock)
    svc.enroll("luduo", fmkit("luduo")[:5])
    yield svc, clock
    store.close()


def test_lockout_after_failures_is_enforced_and_audited(service) -> None:
    svc, clock = service
    impostor = fmkit("jisuanji")
    genuine = fmkit("luduo")
    for k in range(3):
        clock.now += 5
        r = svc.verify("luduo", impostor[k])
        assert r.outcome == "reject"
    assert r.locked_until == clock.now + 120.0 and "locked until" in r.reason
    clock.now += 5
    r = svc.verify("luduo", genuine[6])  # even a genuine attempt is refused while locked
    assert r.outcome == "locked" and not r.decision and r.score is None
    assert "locked after 3 failed attempts" in r.reason
    events = [e.event for e in svc.store.audit_log("luduo")]
    assert events[-3:] == ["login_reject", "lockout", "login_locked"]
    assert svc.lock_state("luduo").locked
    clock.now += 121
    r = svc.verify("luduo", genuine[6])
    assert r.outcome == "accept", r.reason
    assert not svc.lock_state("luduo").locked
    outcomes = [a.outcome for a in svc.store.attempts("luduo")]
    assert outcomes == ["reject", "reject", "reject", "locked", "accept"]


def test_login_replays_are_rejected_and_count_as_failures(service) -> None:
    svc, clock = service
    lu = fmkit("luduo")
    rng = np.random.default_rng(3)
    copy = Trajectory(lu[2].t * 1.1, lu[2].positions + rng.normal(0, 0.01, lu[2].positions.shape))
    r = svc.verify("luduo", copy)
    assert r.outcome == "replay" and not r.decision
    assert r.replay_of is not None and r.replay_of.ref == "enrollment sample 3"
    assert "replay attack" in r.reason
    clock.now += 1
    assert svc.verify("luduo", lu[8]).outcome == "accept"
    clock.now += 1
    again = Trajectory(lu[8].t + 3.0, lu[8].positions + rng.normal(0, 0.01, lu[8].positions.shape))
    r = svc.verify("luduo", again)  # a copy of an earlier login attempt
    assert r.outcome == "replay" and r.replay_of.ref.startswith("login attempt at")
    assert "replay_detected" in [e.event for e in svc.store.audit_log("luduo")]
    # the side-effect-free check reports the match but keeps the verifier's decision
    r = svc.verify("luduo", again, record_attempt=False)
    assert r.decision and r.replay_of is not None and "would reject" in r.reason


def test_leap_signatures_genuine_repeats_pass_and_replays_are_caught(shared_data: Path) -> None:
    """50 real signers' in-air signatures (~10 each, the other device's data): no genuine
    repetition comes within 3x the replay threshold of an earlier one of the same person (as in
    a login history), while a jittered, re-timed copy of each person's first one is caught."""
    from capture.formats import load_recording

    root = shared_data / "leap_air_signatures"
    signers = sorted(p for p in root.iterdir() if p.is_dir())
    assert len(signers) >= 40
    rng = np.random.default_rng(5)
    pairs = 0
    for folder in signers:
        recs = [load_recording(f) for f in sorted(folder.glob("*.csv"))]
        fps = [fingerprint(r) for r in recs]
        for i in range(1, len(fps)):
            earlier = [(str(j), fps[j]) for j in range(i)]
            assert find_replay(fps[i], earlier, 3 * DEFAULT_REPLAY_THRESHOLD_MM) is None, \
                f"{folder.name}: genuine sample {i + 1} flagged as a replay"
            pairs += i
        first = recs[0]
        copy = Trajectory(first.t * 0.9 + 2.0,
                          first.positions + rng.normal(0, 0.05, first.positions.shape))
        match = find_replay(fingerprint(copy), [(str(j), f) for j, f in enumerate(fps)])
        assert match is not None and match.ref == "0", folder.name
    assert pairs > 2000
