"""The product's verifier: members + calibration + cohort guard, on real recordings."""

from __future__ import annotations

import numpy as np
import pytest

from capture.datasets import load_dataset
from models.base import NotFittedError
from models.calibrated import CalibratedVerifier, cohort_guard, decision_threshold
from models.dtw_verifier import DTWVerifier
from models.score_calibration import CalibrationError, shipped_calibrations
from models.serialization import dump_verifier, load_verifier


@pytest.fixture(scope="module")
def leap(shared_data):
    return load_dataset(shared_data / "leap_air_signatures", "leapcsv")


DTW = [("dtw", DTWVerifier())]


def _cohort(leap, people: list[str]) -> list:
    return [t for p in people for t in leap.genuine(p)[:5]]


def test_fit_calibrate_score_and_round_trip(leap) -> None:
    ids = leap.identities
    user, others, strangers = ids[0], ids[1:7], ids[7:12]
    refs, tests = leap.genuine(user)[:5], leap.genuine(user)[5:]
    cal = shipped_calibrations().find(("dtw",), {}, 3, cohort=True)
    v = CalibratedVerifier(members=DTW).fit(refs, _cohort(leap, others))
    with pytest.raises(NotFittedError, match="no calibration"):
        v.score_samples(tests)
    v.calibrate(cal)
    assert v.threshold_ >= v.level_threshold_ and v.threshold_ >= v.guard_threshold_
    stranger = [t for p in strangers for t in leap.genuine(p)]
    assert np.mean(v.predict(tests)) > 0.5
    assert np.mean(v.predict(stranger)) < 0.1
    back = load_verifier(dump_verifier(v))
    assert np.array_equal(back.decision_function(tests + stranger),
                          v.decision_function(tests + stranger))
    assert back.threshold_ == v.threshold_


def test_guard_only_tightens_and_bounds_the_cohort(leap) -> None:
    ids = leap.identities
    refs = leap.genuine(ids[0])[:5]
    cohort = _cohort(leap, ids[1:9])
    cal = shipped_calibrations().find(("dtw",), {}, 3, cohort=True)
    v = CalibratedVerifier(members=DTW, calibration=cal.to_dict()).fit(refs, cohort)
    cohort_cal = cal.transform(v.cohort_raw_, v.cohort_raw_)
    assert np.mean(cohort_cal >= v.threshold_) <= v.guard_far
    thr, level_thr, _ = decision_threshold(cal, "normal", v.cohort_raw_, 1.0)
    assert thr == level_thr  # guard_far 1: accepting every cohort sample is allowed
    assert cohort_guard(np.zeros(0), 0.01) == float("-inf")


def test_levels_order_thresholds(leap) -> None:
    ids = leap.identities
    refs = leap.genuine(ids[2])[:5]
    cal = shipped_calibrations().find(("dtw", "subspace", "svm", "ss-svm"), {}, 3, cohort=False)
    thr = {lv: CalibratedVerifier(calibration=cal.to_dict(), security=lv).fit(refs).threshold_
           for lv in ("low", "normal", "high")}
    assert thr["low"] <= thr["normal"] <= thr["high"]


def test_calibration_for_other_members_or_data_is_refused(leap) -> None:
    refs = leap.genuine(leap.identities[0])[:5]
    pen = shipped_calibrations().find(("dtw",), {}, 2, cohort=False)
    with pytest.raises(CalibrationError, match="on 2-D data, not for"):
        CalibratedVerifier(members=DTW, calibration=pen.to_dict()).fit(refs)
    needs_cohort = shipped_calibrations().find(("dtw",), {}, 3, cohort=True)
    with pytest.raises(CalibrationError, match="needs a cohort"):
        CalibratedVerifier(members=DTW, calibration=needs_cohort.to_dict()).fit(refs)


@pytest.mark.parametrize("params, message", [
    ({"members": ()}, "distinct"),
    ({"members": ("dtw", "dtw")}, "distinct"),
    ({"members": ("fusion",)}, "cannot be a member"),
    ({"security": "paranoid"}, "unknown security level"),
    ({"guard_far": 2.0}, "guard_far"),
    ({"members": ("dtw",), "member_params": {"svm": {}}}, "not a member"),
])
def test_bad_parameters_are_refused(leap, params, message) -> None:
    refs = leap.genuine(leap.identities[0])[:3]
    with pytest.raises(ValueError, match=message):
        CalibratedVerifier.from_config(params).fit(refs)


def _as_pseudo_forgery(traj):
    from dataclasses import replace

    return replace(traj, meta=replace(traj.meta, extra={**traj.meta.extra, "pseudo": "impostor"}))


def test_forgery_guard_bounds_the_pseudo_forgeries_accepted(leap) -> None:
    """Pseudo-forgeries (tagged generated impostors) never join the cohort; with
    ``forgery_far`` the threshold rises until at most that share of them is accepted, and
    the guard is off at the default 1 (the threshold is then exactly the one without them)."""
    ids = leap.identities
    refs = leap.genuine(ids[3])[:5]
    cohort = _cohort(leap, ids[4:12])
    # near-genuine "forgeries": the user's own other samples, tagged as generated impostors
    forged = [_as_pseudo_forgery(t) for t in leap.genuine(ids[3])[5:]]
    cal = shipped_calibrations().find(("dtw",), {}, 3, cohort=True).to_dict()
    plain = CalibratedVerifier(members=DTW, calibration=cal).fit(refs, cohort)
    off = CalibratedVerifier(members=DTW, calibration=cal).fit(refs, cohort + forged)
    assert off.threshold_ == plain.threshold_ and len(off.cohort_raw_) == len(cohort)
    assert off.forgery_raw_.shape == (len(forged), 1)
    guarded = CalibratedVerifier(members=DTW, calibration=cal, forgery_far=0.2).fit(
        refs, cohort + forged)
    assert guarded.threshold_ >= plain.threshold_
    assert np.mean(guarded.predict(forged)) <= 0.2
    assert np.mean(plain.predict(forged)) > 0.2  # the guard did bind here
    back = load_verifier(dump_verifier(guarded))
    assert back.threshold_ == guarded.threshold_
    with pytest.raises(ValueError, match="forgery_far"):
        CalibratedVerifier(members=DTW, calibration=cal, forgery_far=2.0).fit(refs, cohort)
