"""Issue 14 item 1: altered replays are caught, genuine repetitions never are (real data).

The full measurement over every genuine pair of all data sets is
``benchmarks/replay_residuals.py`` (README); these tests run its core on real recordings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from seckit import Clock, issue_variants, leap_people, rotation, time_variants
from storekit import fmkit

from authapp import security
from authapp.security import (
    LockoutPolicy,
    find_replay,
    fingerprint,
    lockout_state,
    replay_distance,
    replay_threshold,
)
from authapp.services import Actor, AuthService, Settings
from authapp.store import EnrollmentStore
from capture.trajectory import Trajectory

ADMIN = Actor.admin()
"""The tests' administrator (the service audits what they do)."""

NO_LOCKOUT = LockoutPolicy(max_failures=0)


@pytest.fixture(scope="module")
def luduo_store(tmp_path_factory: pytest.TempPathFactory):
    """``luduo`` enrolled from luduo_luduo_01..05 with the default verifier, as in the issue."""
    clock = Clock()
    store = EnrollmentStore(tmp_path_factory.mktemp("luduo") / "s", clock=clock)
    svc = AuthService(store, Settings(lockout=NO_LOCKOUT), clock=clock)
    svc.enroll("luduo", fmkit("luduo")[:5])
    yield svc, clock
    store.close()


def test_issue_variants_of_an_enrollment_sample_are_rejected_as_replays(luduo_store) -> None:
    """Every alteration the issue lists (and combinations) of enrollment sample 1 is a
    replay; the verifier alone would accept them; a fresh genuine sample is accepted."""
    svc, clock = luduo_store
    first = fmkit("luduo")[0]
    for what, attack in issue_variants(first).items():
        clock.now += 1
        r = svc.verify("luduo", attack)
        assert r.outcome == "replay", (what, r.reason)
        # the original, or an earlier (recorded) altered copy of it
        assert r.replay_of.ref == "enrollment sample 1" or \
            r.replay_of.ref.startswith("login attempt at"), what
        assert r.score is not None and r.score >= 0, (what, "the verifier alone accepts it")
        assert "replay attack" in r.message and "residual" not in r.message
    for fresh in fmkit("luduo")[5:]:
        clock.now += 1
        r = svc.verify("luduo", fresh)
        assert r.outcome == "accept", r.reason


def test_accepted_login_cannot_be_reused_by_scaling_it_a_little_more(luduo_store) -> None:
    """A sample captured from an accepted login, scaled 3 % more each time: every reuse
    is a replay of that login attempt."""
    svc, clock = luduo_store
    captured = fmkit("luduo")[9]
    clock.now += 1
    if svc.verify("luduo", captured).outcome != "replay":  # (not yet used by another test)
        assert svc.store.attempts("luduo")[-1].outcome == "accept"
    c = captured.positions.mean(axis=0)
    for k in range(1, 6):
        clock.now += 1
        attack = Trajectory(captured.t, c + (captured.positions - c) * 1.03 ** k)
        r = svc.verify("luduo", attack)
        assert r.outcome == "replay" and r.replay_of.ref.startswith("login attempt at"), k


def test_time_alterations_are_replays() -> None:
    recs = fmkit("luduo") + fmkit("jisuanji")
    stored = [(f"sample {i}", fingerprint(r)) for i, r in enumerate(recs)]
    for index in (0, 7, 13):
        for what, attack in time_variants(recs[index]).items():
            match = find_replay(fingerprint(attack), stored)
            assert match is not None and match.ref == f"sample {index}", what


def test_ten_leap_people_every_alteration_of_every_enrollment_sample() -> None:
    """The issue's count: 10 Leap people x 5 enrollment samples, scale 1.05 / rotate 3 deg /
    noise 1.2 mm (and the other listed variants): all caught. Their other genuine samples,
    compared with the enrolled ones and with each other (a login history): none flagged."""
    caught = total = genuine = 0
    for person, recs in leap_people(10):
        enrolled = [(f"enrollment sample {i + 1}", fingerprint(r))
                    for i, r in enumerate(recs[:5])]
        for i, rec in enumerate(recs[:5]):
            for what, attack in issue_variants(rec, seed=i).items():
                match = find_replay(fingerprint(attack), enrolled)
                total += 1
                caught += match is not None and match.ref == f"enrollment sample {i + 1}"
                assert match is not None, (person, i, what)
        history = list(enrolled)
        for j, rec in enumerate(recs[5:]):
            fp = fingerprint(rec)
            assert find_replay(fp, history) is None, (person, j + 6)
            history.append((f"attempt {j}", fp))
            genuine += 1
    assert caught == total == 10 * 5 * 16 and genuine >= 45


@pytest.mark.slow
def test_no_genuine_repetition_is_a_replay_on_real_data(shared_data: Path) -> None:
    """Every ordered pair of different genuine samples of one identity, in-air (50 Leap
    people, FMKit) and pen (SVC2004 Task1 users 1-5): residual above the threshold, with
    a margin (the full run over all data sets is benchmarks/replay_residuals.py)."""
    from capture.datasets import load_dataset

    worst = {}
    sets = [("fmkit_leap", "fmkit", None), ("svc2004_task1", "svc2004", 5)]
    people = [recs for _, recs in leap_people(50)]
    for name, fmt, n in sets:
        ds = load_dataset(shared_data / name, fmt)
        people += [tuple(ds.genuine(i)) for i in ds.identities[:n]]
    pairs = 0
    for recs in people:
        fps = [fingerprint(r) for r in recs]
        dims = recs[0].dims
        for i, q in enumerate(fps):
            for j, p in enumerate(fps):
                if i != j:
                    r = replay_distance(q, p)
                    worst[dims] = min(worst.get(dims, np.inf), r)
                    pairs += 1
    assert pairs > 6000
    for dims, smallest in worst.items():
        assert smallest > 1.5 * replay_threshold(dims), (dims, smallest)


def test_store_and_security_agree_on_the_fingerprint_version() -> None:
    import authapp.store

    assert authapp.store.FINGERPRINT_VERSION == security.FINGERPRINT_VERSION


def test_residual_is_unitless_and_symmetric_in_what_it_ignores() -> None:
    t = fmkit("luduo")[2]
    fp = fingerprint(t)
    assert fp.shape == (security.TIME_POINTS, 3) and fp.dtype == np.float32
    c = t.positions.mean(axis=0)
    moved = Trajectory(t.t * 3.0, (t.positions - c) @ rotation(30, 2).T * 7.0 + 100.0)
    assert replay_distance(fingerprint(moved), fp) < 1e-3
    assert replay_distance(fp, np.zeros((5, 2))) == np.inf  # other dims never match


def test_enrollment_refuses_altered_copies_of_its_own_samples(tmp_path: Path) -> None:
    from storekit import STORE_KIND

    from authapp.services import EnrollmentQualityError

    lu = fmkit("luduo")
    scaled = Trajectory(lu[0].t * 1.2, lu[0].positions * 1.05)
    with EnrollmentStore(tmp_path / "s") as store:
        with pytest.raises(EnrollmentQualityError, match="sample 4 is a copy of sample 1"):
            AuthService(store, Settings(verifier=STORE_KIND)).enroll(
                "luduo", [lu[0], lu[1], lu[2], scaled, lu[3]])
        assert store.users() == []


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
    for bad in ({"max_failures": -1}, {"max_failures": float("inf")}, {"window_s": 0},
                {"lockout_s": float("nan")}, {"max_failures": 2.5}, {"max_failures": 10**6}):
        with pytest.raises(ValueError):
            LockoutPolicy(**bad)


@pytest.fixture()
def service(tmp_path: Path):
    from storekit import STORE_KIND

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
    r = svc.verify("luduo", genuine[7])
    assert r.outcome == "accept", r.reason
    assert not svc.lock_state("luduo").locked
    # the confident login also joined the references (template adaptation, which replaces the
    # model and so marks a "reset" row after the accept)
    assert r.adapted
    rows = [(a.outcome, a.reason if a.outcome == "reset" else "")
            for a in svc.store.attempts("luduo")]
    assert rows == [("reject", ""), ("reject", ""), ("reject", ""), ("locked", ""),
                    ("accept", ""), ("reset", "adapt")]


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
    # the administrator's offline check applies the same rule (and records nothing)
    n = len(svc.store.attempts("luduo"))
    r = svc.offline_check(ADMIN, "luduo", again)
    assert r.outcome == "replay" and not r.decision
    assert len(svc.store.attempts("luduo")) == n


def test_the_path_shape_alone_is_the_first_of_the_shapes() -> None:
    """The derived check's crops compute ``path_shape`` only: it must be exactly
    ``shapes(fp)[0]``, whole or cut, or the crops would measure something else."""
    from authapp.replay_fingerprint import path_shape, shapes

    for _, recs in leap_people(2):
        fp = fingerprint(recs[0])
        n = fp.shape[0]
        for cut in (fp, fp[round(0.1 * n):], fp[: n - round(0.07 * n)]):
            assert np.array_equal(path_shape(cut), shapes(cut)[0])
