"""The harness's calibration pass: learn the product's calibration on the other folds and apply
it to each fold's trials, exactly as an enrolled model would apply it.

Workers return the member scores of every attempt (``Trial.raw``) and of the cohort
(``Trial.cohort_raw``). For fold f, the calibration is fitted on the trials of the other
folds only -- their people are never the enrolled users, impostors or cohort of fold f's
trials -- and then every fold-f account gets the threshold ``decision_threshold`` gives it
(level threshold, raised by its cohort guard), the rule ``CalibratedVerifier`` applies.
``scripts/make_calibration.py`` uses the same pieces to make the shipped file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from authapp.harness.data import ExperimentError
from authapp.harness.protocol import ExperimentConfig, variant_name
from core.errors import AirAuthError
from models.calibrated import decision_threshold
from models.score_calibration import (
    SECURITY_LEVELS,
    CalibrationSet,
    ScoreCalibration,
    cohort_usable,
    load_calibrations,
    shipped_calibrations,
)
from models.score_calibration_fit import DevelopmentScores, fit_calibration

if TYPE_CHECKING:
    from authapp.harness.runner import Trial


def development_scores(trials: Iterable[Any]) -> DevelopmentScores:
    """Member scores of enrolled trials, grouped the way ``fit_calibration`` wants them."""
    dev = DevelopmentScores()
    for t in trials:
        if t.refused is not None or t.raw is None:
            continue
        who = np.asarray(t.attempt_identities)
        owner = who[t.types == "genuine"]
        dev.add(t.raw[t.types == "genuine"], t.raw[t.types == "random"],
                t.raw[t.types == "skilled"], t.cohort_raw,
                person=str(owner[0]) if owner.size else None,
                random_people=who[t.types == "random"])
    return dev


def trial_uses_cohort(trial: Any) -> bool:
    c = trial.cohort_raw
    return c is not None and cohort_usable(len(c), trial.cohort_people)


def apply_calibration(trial: Any, cal: ScoreCalibration, level: str,
                      guards: tuple[float, float]) -> None:
    """Scores, threshold and decisions of one account under ``cal`` (and every level's
    threshold, for the operating points of the other levels); ``guards``: (guard_far,
    forgery_far)."""
    trial.scores = cal.transform(trial.raw, trial.cohort_raw)
    trial.level_thresholds = {
        lv: decision_threshold(cal, lv, trial.cohort_raw, guards[0],
                               trial.forgery_raw, guards[1])[0]
        for lv in SECURITY_LEVELS}
    trial.threshold = trial.level_thresholds[level]
    trial.calibration_thresholds = {lv: cal.threshold(lv) for lv in SECURITY_LEVELS}
    trial.security = level
    trial.decisions = trial.scores - trial.threshold


def fixed_calibrations(source: str) -> CalibrationSet:
    """The package's calibrations ("shipped") or those of a file."""
    return shipped_calibrations() if source == "shipped" else load_calibrations(Path(source))


def calibrate_variant(trials: Sequence[Any], members: Sequence[str],
                      member_params: Mapping[str, Any], dims: int, source: str, level: str,
                      guards: tuple[float, float], provenance: Mapping[str, Any]
                      ) -> dict[int, dict[str, Any]]:
    """Calibrate every trial of one variant; returns {fold: calibration as a dict + "source"}.

    ``source`` "dev": learned on the other folds (needs two or more); otherwise the shipped
    calibrations or a calibration file.
    """
    folds = sorted({t.fold for t in trials})
    used: dict[int, dict[str, Any]] = {}
    for fold in folds:
        mine = [t for t in trials if t.fold == fold and t.refused is None]
        if not mine:
            continue
        cohort = trial_uses_cohort(mine[0])
        if source == "dev":
            dev = development_scores(t for t in trials if t.fold != fold)
            cal = fit_calibration(dev, members, member_params, dims, cohort,
                                  {**provenance, "folds": [f for f in folds if f != fold]})
            how = f"learned on the other fold(s) {[f for f in folds if f != fold]}"
        else:
            cal = fixed_calibrations(source).find(members, member_params, dims, cohort)
            how = "the package's shipped calibration" if source == "shipped" else source
        for t in mine:
            apply_calibration(t, cal, level, guards)
        used[fold] = {"source": how, **cal.to_dict()}
    return used


def calibration_source(requested: str, n_folds: int) -> str:
    """"dev" needs another fold to learn on; with one fold the shipped calibration stands in."""
    return "shipped" if requested == "dev" and n_folds < 2 else requested


def calibrate_trials(cfg: ExperimentConfig, dims: int,
                     trials: Mapping[str, Sequence[Trial]]) -> dict[str, Any]:
    """Second pass for calibrated models (this module's ``calibrate_variant`` per method
    variant); results.json's "calibration" section."""
    if not cfg.calibrated:
        return {"source": "none", "note": "each verifier's own per-user threshold (a research "
                "configuration: the product ships calibrated models)"}
    source = calibration_source(cfg.calibration, cfg.folds or 1)
    out: dict[str, Any] = {"requested": cfg.calibration, "source": source,
                           "security": cfg.security, "guard_far": cfg.guard_far,
                           "forgery_far": cfg.forgery_far,
                           "cohort": cfg.cohort,
                           "shipped_background": cfg.shipped_background, "variants": {}}
    for method, gen in cfg.variants():
        name = variant_name(method, gen)
        members, params = cfg.settings_for(method, gen, 0).members()
        mine = [t for ts in trials.values() for t in ts if t.method == name]
        try:
            out["variants"][name] = calibrate_variant(
                mine, members, params, dims, source, cfg.security,
                (cfg.guard_far, cfg.forgery_far),
                {"dataset": Path(cfg.data_dir).name, "references": cfg.references,
                 "seeds": list(cfg.seeds), "method": name})
        except AirAuthError as exc:
            raise ExperimentError(f"calibrating {name}: {exc}") from exc
    return out
