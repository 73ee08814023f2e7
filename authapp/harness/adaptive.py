"""The product with template adaptation, replayed by the harness: a user's later logins are
decided one after the other, in recorded order, each accepted one that the adaptation policy
lets in joining the references, so the figures are what an adapting product would decide
(issue 21). Kept apart from the runner, which calls it for sessions data sets with
adaptation on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from authapp.harness.data import ExperimentError
from authapp.harness.protocol import ExperimentConfig
from capture.trajectory import Trajectory


def replay_adaptive(cfg: ExperimentConfig, method: str, generator: str | None, seed: int,
                    refs: list[Trajectory], pseudo: tuple[list, list],
                    others: list[Trajectory], attempts: list[Trajectory], n_genuine: int,
                    calibration: Mapping[str, Any]) -> dict[str, Any]:
    """The product with template adaptation, replayed: the genuine attempts (the first
    ``n_genuine``, in recorded order) are decided one after the other by the account's
    current model, and each that ``models.adaptation.AdaptationPolicy`` lets in joins the
    references (the model is refitted as the product refits it); the impostor attempts are
    then decided by the final, most adapted model (the one an impostor meets after the user
    has logged in for a while). ``calibration``: the fold's calibration (from the first pass).
    """
    from models.adaptation import refit
    from models.calibrated import decision_threshold
    from models.enrollment import fit_user_model
    from models.score_calibration import SECURITY_LEVELS, ScoreCalibration

    settings = cfg.settings_for(method, generator, seed).with_random_state(seed)
    cal = ScoreCalibration.from_dict({k: v for k, v in calibration.items() if k != "source"})
    policy = cfg.adaptation_policy()

    def fit(samples: list[Trajectory]) -> Any:
        return fit_user_model(samples, settings, calibration=cal, others=others,
                              pseudo=pseudo)[0]

    t0, c0 = time.perf_counter(), time.process_time()
    anchor = model = fit(refs)
    adapted: list[Trajectory] = []
    n = len(attempts)
    scores, decisions = np.full(n, np.nan), np.full(n, np.nan)
    for k in range(n_genuine):
        value = float(model.decision_function([attempts[k]])[0])
        scores[k], decisions[k] = value + float(model.threshold_), value
        joins, _ = policy.admits(value, lambda k=k, m=model, v=value: (
            v if m is anchor else float(anchor.decision_function([attempts[k]])[0])))
        if joins:
            adapted = policy.updated(adapted, attempts[k])
            model = refit(refs, adapted, fit)
    t1 = time.perf_counter()
    if n > n_genuine:
        rest = model.score_samples(attempts[n_genuine:])
        scores[n_genuine:] = rest
        decisions[n_genuine:] = rest - float(model.threshold_)
    if not np.all(np.isfinite(decisions)):
        raise ExperimentError(f"{method} returned NaN or infinite scores")
    levels = {lv: decision_threshold(cal, lv, model.cohort_raw_, cfg.guard_far,
                                     model.forgery_raw_, cfg.forgery_far)[0]
              for lv in SECURITY_LEVELS}
    t2, c2 = time.perf_counter(), time.process_time()
    return {"scores": scores, "decisions": decisions, "threshold": float(model.threshold_),
            "level_thresholds": levels, "adapted": len(adapted), "fit_s": t1 - t0,
            "score_s": t2 - t1, "cpu_s": c2 - c0, "cohort_raw": model.cohort_raw_,
            "calibration_thresholds": {lv: cal.threshold(lv) for lv in SECURITY_LEVELS},
            "security": cfg.security,
            "forgery_raw": model.forgery_raw_, "cohort_people": model.cohort_people_}
