"""authapp.services on real FMKit recordings: enroll, verify, identify, delete."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from storekit import STORE_KIND, fmkit, snapshot

from authapp.security import LockoutPolicy
from authapp.services import (
    Actor,
    AuthService,
    EnrollmentQualityError,
    Settings,
    VerificationError,
    admin,
)
from authapp.settings_schema import DEFAULT_VERIFIER, verifier_choices
from authapp.storage import keyed
from authapp.store import DuplicateUserError, EnrollmentStore, UnknownUserError
from capture.formats import load_recording
from capture.trajectory import Trajectory
from core.errors import AirAuthError, TrajectoryError
from models.background import shipped_background

ADMIN = Actor.admin()
"""The tests' administrator (the service audits what they do)."""


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory):
    store = EnrollmentStore(tmp_path_factory.mktemp("svc") / "store")
    service = AuthService(store, Settings(verifier=STORE_KIND))
    service.enroll("luduo", fmkit("luduo")[:5])
    service.enroll("jisuanji", fmkit("jisuanji")[:5])
    yield service
    store.close()


def test_enroll_report(tmp_path: Path) -> None:
    with EnrollmentStore(tmp_path / "s") as store:
        service = AuthService(store, Settings(verifier=STORE_KIND))
        lu = list(fmkit("luduo")[:5])
        lu[4] = Trajectory(lu[4].t * 1.7, lu[4].positions)  # noticeably slower: a note
        report = service.enroll("Luduo", lu)
        assert report.user == "Luduo" and report.n_samples == 5 and not report.re_enrolled
        assert report.verifier_kind == STORE_KIND and np.isfinite(report.threshold)
        assert report.threshold == report.verifier.threshold_
        assert set(report.timings) == {"checks", "pseudo", "fit", "store", "total"}
        assert report.quality is not None and report.quality.ok
        text = "\n".join(report.lines())
        assert "sample 5 is somewhat slower" in text and "threshold" in text
        info = store.get_user("luduo")
        assert info.metadata["n_samples"] == 5 and info.metadata["dims"] == 3
        assert info.metadata["quality"]["ok"] is True
        with pytest.raises(DuplicateUserError, match="--re-enroll"):
            service.enroll("LUDUO", fmkit("luduo")[5:])
        again = service.enroll("luduo", fmkit("luduo")[5:], re_enroll=True, actor=ADMIN)
        assert again.re_enrolled and store.get_user("luduo").n_recordings == 5


def test_verify_accepts_genuine_and_rejects_other_word(svc: AuthService) -> None:
    for t in fmkit("luduo")[5:]:
        r = svc.offline_check(ADMIN, "luduo", t)
        assert r.decision and r.outcome == "accept", r.reason
        assert r.score == pytest.approx(r.raw_score - r.threshold)
        assert r.per_verifier[STORE_KIND] == pytest.approx(r.score)
    for t in fmkit("jisuanji")[5:]:
        r = svc.offline_check(ADMIN, "luduo", t)
        assert not r.decision and r.outcome == "reject" and r.reason.startswith("rejected")


def test_identify_best_match_and_rejection(svc: AuthService, fmkit_dir: Path) -> None:
    r = svc.identify(fmkit("luduo")[7])
    assert r.identified and r.user == "luduo" and r.candidates[0][0] == "luduo"
    # among 2 users a stranger must clear FAR / 2: a genuine attempt with a thin login
    # margin may be rejected, never named as the other user
    r = svc.identify(fmkit("jisuanji")[9])
    assert r.candidates[0][0] == "jisuanji" and r.user in ("jisuanji", None)
    assert svc.identify(fmkit("jisuanji")[5]).user == "jisuanji"
    for name in ("fmcode_fmcode_01.txt", "fmhash_fmhash_01.txt", "English_client0_word0"):
        r = svc.identify(load_recording(fmkit_dir / name))
        assert not r.identified and "no enrolled user accepts" in r.reason, name
        assert r.candidates == []  # (issue 22: no margins of accounts nobody named)
    r = svc.identify(fmkit("luduo")[0])  # an enrollment sample itself: a replay
    assert not r.identified and r.reason == "rejected: no enrolled user accepts this recording"


def test_check_only_verify_leaves_store_unchanged(svc: AuthService) -> None:
    """An offline check records nothing but its audit row, and applies the login's rules: a
    copy of an enrollment sample is a replay there too (an identification is a login:
    recorded)."""
    before = snapshot(svc.store.path)
    assert svc.offline_check(ADMIN, "luduo", fmkit("luduo")[6]).outcome == "accept"
    assert svc.offline_check(ADMIN, "luduo", fmkit("luduo")[0]).outcome == "replay"
    after = snapshot(svc.store.path)
    audit = after["tables"].pop("audit")  # the audit log (and its seal) grew by two rows
    assert audit[:-2] == before["tables"].pop("audit")
    assert [(r[2], json.loads(r[5])) for r in audit[-2:]] == [
        ("offline_check", {"outcome": "accept", "by": "admin"}),
        ("offline_check", {"outcome": "replay", "by": "admin"})]
    assert [r for r in after["tables"].pop("seals") if r[0] != "audit"] == \
        [r for r in before["tables"].pop("seals") if r[0] != "audit"]
    assert after == before
    seen = len(svc.store.attempts("luduo"))
    svc.identify(fmkit("luduo")[6])
    assert [a.outcome for a in svc.store.attempts("luduo")][seen:] == ["accept"]


def test_bad_input_raises_clear_errors_and_changes_nothing(svc: AuthService,
                                                           shared_data: Path) -> None:
    before = snapshot(svc.store.path)
    pen = load_recording(shared_data / "svc2004_task1" / "U1S1.TXT")
    with pytest.raises(VerificationError, match="2-D but user 'luduo' enrolled with 3-D"):
        svc.verify("luduo", pen)
    with pytest.raises(UnknownUserError, match="no user 'nobody'"):
        svc.verify("nobody", fmkit("luduo")[6])
    with pytest.raises(TrajectoryError, match="not a Trajectory"):
        svc.verify("luduo", np.zeros((50, 3)))
    t = fmkit("luduo")[6]
    with pytest.raises(TrajectoryError, match="lasts"):
        svc.verify("luduo", Trajectory(t.t * 1000, t.positions))
    with pytest.raises(TrajectoryError, match="beyond"):
        svc.verify("luduo", Trajectory(t.t, t.positions * 1e9))
    with pytest.raises(AirAuthError):
        svc.verify("../../etc", t)
    assert snapshot(svc.store.path) == before


def test_quality_failure_and_copied_samples_store_nothing(svc: AuthService) -> None:
    before = snapshot(svc.store.path)
    lu, ji = fmkit("luduo"), fmkit("jisuanji")
    short = [Trajectory(t.t[100:130] - t.t[100], t.positions[100:130]) for t in (lu[1], ji[0])]
    with pytest.raises(EnrollmentQualityError, match="sample 2 is too short") as err:
        svc.enroll("partial", [lu[0], *short])  # two of three rejected: too few remain
    assert err.value.report.rejected == [1, 2]
    assert "record the rejected ones again" in str(err.value)
    with pytest.raises(EnrollmentQualityError, match="sample 3 is a copy of sample 1"):
        svc.enroll("copies", [lu[0], lu[1], Trajectory(lu[0].t * 1.1, lu[0].positions)])
    with pytest.raises(EnrollmentQualityError, match="too few samples"):
        svc.enroll("few", [lu[0]])
    assert snapshot(svc.store.path) == before


def test_an_inconsistent_sample_is_left_out_not_used(svc: AuthService) -> None:
    """One sample that does not fit the others is left out of the model, with the reason."""
    lu, ji = fmkit("luduo"), fmkit("jisuanji")
    report = svc.enroll("odd-one", [lu[0], lu[1], lu[2], ji[0]])
    assert report.n_samples == 3
    assert any("left out of the model" in n and "sample 4" in n for n in report.notes)
    meta = svc.store.get_user("odd-one").metadata
    assert meta["used_samples"] == [1, 2, 3] and meta["left_out"][0]["sample"] == 4
    assert not svc.offline_check(ADMIN, "odd-one", ji[5]).decision


def test_delete(tmp_path: Path) -> None:
    with EnrollmentStore(tmp_path / "s") as store:
        service = AuthService(store, Settings(verifier=STORE_KIND))
        service.enroll("luduo", fmkit("luduo")[:3])
        service.verify("luduo", fmkit("luduo")[5])
        service.delete(ADMIN, "LUDUO")
        assert store.users() == [] and store.attempts("luduo") == []
        with pytest.raises(UnknownUserError):
            service.verify("luduo", fmkit("luduo")[5])
        with pytest.raises(UnknownUserError):
            service.delete(ADMIN, "luduo")


def test_settings_come_from_the_store(tmp_path: Path) -> None:
    with EnrollmentStore(tmp_path / "s") as store:
        assert Settings.from_store(store) == Settings()
        store.set_setting("lockout", {"max_failures": 2, "window_s": 30.0, "lockout_s": 60.0})
        store.set_setting("verifier", STORE_KIND)
        store.set_setting("replay_threshold", 0.01)
        s = Settings.from_store(store)
        assert s.lockout == LockoutPolicy(2, 30.0, 60.0) and s.verifier == STORE_KIND
        assert s.replay_threshold == 0.01
        with pytest.raises(AirAuthError, match="lockout"):  # refused on write ...
            admin.save(AuthService(store), "lockout", {"max_failures": -3})
        assert Settings.from_store(store).lockout == LockoutPolicy(2, 30.0, 60.0)
        # ... and on read: written with the store's key (the store checks no values) ...
        store.set_setting("lockout", {"max_failures": -3})
        with pytest.raises(AirAuthError, match="setting 'lockout' is invalid"):
            Settings.from_store(store)
        store.set_setting("lockout", {"max_failures": 2, "window_s": 30.0, "lockout_s": 60.0})
        with store.db.write() as c:  # ... or behind AirAuth's back
            value = '{"max_failures": -3}'
            c.execute("UPDATE settings SET value = ?, mac = ? WHERE key = 'lockout'",
                      (value, keyed.setting_mac(store.db.key, "lockout", value)))
        with pytest.raises(AirAuthError, match="lockout"):
            Settings.from_store(store)


def test_default_verifier_end_to_end(tmp_path: Path) -> None:
    """The default kind (fusion) through the whole service, real recordings."""
    kind = DEFAULT_VERIFIER
    assert kind in verifier_choices() and Settings().verifier_kind == kind
    assert kind == "fusion", "the product's default verifier must be the per-user fusion"
    with EnrollmentStore(tmp_path / "s") as store:
        service = AuthService(store)
        report = service.enroll("luduo", fmkit("luduo")[:5])
        assert report.verifier_kind == kind
        genuine = [service.offline_check(ADMIN, "luduo", t) for t in fmkit("luduo")[5:]]
        other = [service.offline_check(ADMIN, "luduo", t) for t in fmkit("jisuanji")]
        assert sum(r.decision for r in genuine) >= 4, [r.reason for r in genuine]
        assert not any(r.decision for r in other), [r.reason for r in other]
        assert kind in genuine[0].per_verifier
        assert len(genuine[0].per_verifier) > 1  # the fusion members' scores too
        # the stored model is plain models.serialization output (npz + JSON, no pickle)
        from models.serialization import load_verifier

        _, data = store.load_model_bytes("luduo")
        loaded = load_verifier(data)
        assert type(loaded) is type(report.verifier)
        probe = [fmkit("luduo")[7]]
        np.testing.assert_allclose(loaded.score_samples(probe),
                                   report.verifier.score_samples(probe))


def test_background_negatives_from_other_users(tmp_path: Path) -> None:
    """Calibrated models get the other users' enrollment samples as their cohort, never as
    training negatives; uncalibrated ones with ``background`` get them as negatives."""
    with EnrollmentStore(tmp_path / "s") as store:
        plain = AuthService(store, Settings(verifier="svm"))
        plain.enroll("ji", fmkit("jisuanji")[:5])
        plain.enroll("luduo", fmkit("luduo")[:5])
        meta = store.get_user("luduo").metadata
        # one other user: the package's public people join the cohort (models.background)
        assert meta["background_negatives"] == 0
        assert meta["cohort_recordings"] == 5 + len(shipped_background(3))
        with_bg = AuthService(store, Settings(verifier="svm", background=True,
                                              calibration="none"))
        with_bg.enroll("luduo", fmkit("luduo")[:5], re_enroll=True, actor=ADMIN)
        assert store.get_user("luduo").metadata["background_negatives"] == 5
        assert with_bg.offline_check(ADMIN, "luduo", fmkit("luduo")[7]).decision
        assert not with_bg.offline_check(ADMIN, "luduo", fmkit("jisuanji")[7]).decision


def test_pseudo_data_setting(tmp_path: Path) -> None:
    """Pseudo data is used when configured (every generator ships with the package)."""
    with EnrollmentStore(tmp_path / "s") as store:
        service = AuthService(store, Settings(verifier=STORE_KIND, pseudo="pseudo"))
        report = service.enroll("luduo", fmkit("luduo")[:5])
        assert report.n_pseudo_genuine + report.n_pseudo_impostors > 0
        assert store.get_user("luduo").metadata["pseudo"]["generator"] == "pseudo"
        assert store.get_user("luduo").n_recordings == 5  # only real samples are stored


@pytest.mark.parametrize("name", ["pseudo", "gan", "vae-inpaint", "vae"])
def test_generator_networks_are_cached_with_the_store(tmp_path: Path, monkeypatch,
                                                      name: str) -> None:
    """Every generator that trains a network gets the store's weight cache (so the second
    enrollment reuses it instead of training again); one without a cache gets no such
    parameter; the settings' seed is its pretrain_seed. The generator is stopped right after
    it is made: nothing is trained here."""
    from models import pseudo

    made: dict = {}

    class Made(Exception):
        pass

    def capture(gen_name, **params):
        made.update(params)
        raise Made

    monkeypatch.setattr(pseudo, "make_generator", capture)
    with EnrollmentStore(tmp_path / "s") as store:
        service = AuthService(store, Settings(verifier=STORE_KIND, pseudo=name, seed=3))
        with pytest.raises(Made):
            service._generator([])
        known = pseudo.generator_class(name)._get_param_names()
        if "cache_dir" in known:
            assert made == {"cache_dir": str(store.path / "pseudo_weights"),
                            "reuse_weights": True, "pretrain_seed": 3}
        else:
            assert made == {"pretrain_seed": 3}


def test_enrolling_with_a_single_research_verifier_says_so(tmp_path: Path) -> None:
    """svm / subspace / ss-svm alone reject many genuine attempts at the calibrated thresholds
    (README): the enrollment report tells the user; fusion and dtw get no such note."""
    with EnrollmentStore(tmp_path / "s") as store:
        svm = AuthService(store, Settings(verifier="svm")).enroll("luduo", fmkit("luduo")[:5])
        assert any("meant for experiments" in n for n in svm.notes)
        assert any("meant for experiments" in line for line in svm.lines())
        dtw = AuthService(store, Settings(verifier="dtw")).enroll("other", fmkit("luduo")[5:10])
        assert not any("meant for experiments" in n for n in dtw.notes)


def test_identify_raises_each_threshold_for_the_number_of_users(
        svc: AuthService, monkeypatch: pytest.MonkeyPatch) -> None:
    """identify asks each account for its 1:N margin among the users it searches, and names
    someone only past it; a login (1:1) is unchanged."""
    from models.calibrated import CalibratedVerifier
    from models.level_thresholds import identification_threshold

    rec = fmkit("luduo")[8]
    n = len(svc.users())
    login = svc.offline_check(ADMIN, "luduo", rec)
    assert login.decision and login.score > 0
    # the real offset: the calibration's threshold for FAR / 2 over the level's
    _, verifier = svc.store.load_verifier("luduo")
    cal = verifier.calibration_
    assert verifier.identification_offset(1) == 0.0
    assert n >= 2 and verifier.identification_offset(n) > 0.0
    named = svc.identify(rec)
    assert dict(named.candidates)["luduo"] == pytest.approx(
        login.score - verifier.identification_offset(n))
    assert named.identified == (login.score >= verifier.identification_offset(n))
    assert verifier.identification_offset(n) == pytest.approx(
        identification_threshold(cal, verifier.security, n) - cal.threshold(verifier.security))
    asked: list[int] = []

    def offset(self: CalibratedVerifier, n: int) -> float:
        asked.append(n)
        return login.score + 0.1  # just past luduo's margin

    monkeypatch.setattr(CalibratedVerifier, "identification_offset", offset)
    r = svc.identify(rec)
    assert asked == [n] * n and not r.identified and "no enrolled user accepts" in r.reason
