"""The harness's seed reaches every estimator that draws random numbers (as its
``random_state``, set before the fit), and no deterministic one grows a parameter for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from authapp.harness import adaptive, runner
from authapp.harness.protocol import ExperimentConfig
from models.enrollment import EnrollmentSettings
from models.registry import VERIFIERS

TINY = {"detector": {"hidden": 8, "latent": 8, "epochs": 3}, "scratch": {"epochs": 5},
        "adapt_steps": 2}


def test_deterministic_verifiers_take_no_random_state():
    for name in ("dtw", "subspace", "svm", "ss-svm", "fusion", "calibrated"):
        assert "random_state" not in VERIFIERS.cls(name)._get_param_names(), name
    assert "random_state" in VERIFIERS.cls("ganomaly")._get_param_names()


def test_settings_give_random_state_only_to_estimators_that_take_it():
    for calibrated in (True, False):
        for name in ("dtw", "fusion", "svm"):  # the main job's methods: unchanged
            s = EnrollmentSettings(verifier=name, calibrated=calibrated)
            assert s.with_random_state(7) == s
        s = EnrollmentSettings(verifier="ganomaly", verifier_params={"adapt_steps": 2},
                               calibrated=calibrated)
        assert dict(s.with_random_state(7).verifier_params) == {"adapt_steps": 2,
                                                                 "random_state": 7}
        given = EnrollmentSettings(verifier="ganomaly", calibrated=calibrated,
                                   verifier_params={"random_state": 1})
        assert given.with_random_state(7) == given  # an explicit value wins
    plain = EnrollmentSettings(verifier="fusion", calibrated=False, verifier_params={
        "members": ["dtw", "ganomaly"], "member_params": {"dtw": {"window": 0.2}}})
    assert dict(plain.with_random_state(7).verifier_params) == {
        "members": ["dtw", "ganomaly"],
        "member_params": {"dtw": {"window": 0.2}, "ganomaly": {"random_state": 7}}}


def test_harness_seed_reaches_a_random_estimator(svc_task1):
    """The runner fits ``ganomaly`` (trained from scratch: no background) with the identity's
    seed as ``random_state``: two seeds differ, the same seed repeats exactly."""
    cfg = ExperimentConfig(data_dir=Path("."), methods=("ganomaly",), calibration="none",
                           method_params={"ganomaly": TINY})
    refs = svc_task1.genuine("U1")[:4]
    attempts = svc_task1.genuine("U1")[5:8] + svc_task1.forgeries("U1")[:3]

    def scores(seed: int) -> np.ndarray:
        return runner._fit_and_score(cfg, "ganomaly", None, seed, refs, ([], []), [],
                                     attempts)["scores"]

    a = scores(11)
    np.testing.assert_array_equal(a, scores(11))
    assert not np.allclose(a, scores(12))


def test_both_harness_paths_set_random_state_before_the_fit(monkeypatch):
    """``_fit_and_score`` and ``replay_adaptive`` hand the settings, with ``random_state``,
    to the fit (never set on an already fitted model)."""
    import models.enrollment
    import models.score_calibration

    seen: list[EnrollmentSettings] = []

    class Fitted(Exception):
        pass

    def fake_fit(refs, settings, **kw):
        seen.append(settings)
        raise Fitted

    monkeypatch.setattr(models.enrollment, "fit_user_model", fake_fit)
    monkeypatch.setattr(models.score_calibration.ScoreCalibration, "from_dict",
                        staticmethod(lambda d: None))
    for calibration in ("none", "dev"):
        cfg = ExperimentConfig(data_dir=Path("."), methods=("ganomaly",),
                               calibration=calibration)
        with pytest.raises(Fitted):
            runner._fit_and_score(cfg, "ganomaly", None, 21, [], ([], []), [], [])
    cfg = ExperimentConfig(data_dir=Path("."), methods=("ganomaly",))
    with pytest.raises(Fitted):
        adaptive.replay_adaptive(cfg, "ganomaly", None, 22, [], ([], []), [], [], 0, {})
    assert [dict(s.verifier_params)["random_state"] for s in seen] == [21, 21, 22]
