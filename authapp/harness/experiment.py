"""``run_experiment``: the impersonation test from a config to results, in four steps.

``authapp.harness.protocol`` plans it (folds, who enrolls, one job per identity), ``authapp.harness.runner``
enrolls and scores (the score table: scores.csv), ``authapp.harness.evaluation`` turns the score table
into figures, and ``authapp.harness.report`` writes results.json, scores.csv, the plots and the HTML.
The protocol itself is described in ``authapp.harness.protocol``.

The names other modules and the tests use are re-exported here, so ``authapp.harness.experiment``
stays the one import for running an experiment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from authapp.harness.calibration_pass import calibrate_trials
from authapp.harness.draws import (
    MIN_FOLD_IDENTITIES,
    SVC2004_RANDOM_FORGERIES,
    assign_folds,
    auto_folds,
    draw_trial,
    identity_seed,
)
from authapp.harness.evaluation import (
    ExperimentResult,
    ScoreFacts,
    evaluate,
    identity_groups,
    pseudo_effects,
    summarize_result,
)
from authapp.harness.figures import Figures, MethodTiming
from authapp.harness.generators import fit_generators
from authapp.harness.protocol import (
    ATTEMPT_TYPES,
    BOOTSTRAP_RESAMPLES,
    CALIBRATIONS,
    DEFAULT_GENERATORS,
    DEFAULT_METHODS,
    IMPOSTOR_TYPES,
    PSEUDO_MODES,
    SPLITS,
    ExperimentConfig,
    ExperimentError,
    IdentityJob,
    Plan,
    dataset_fingerprint,
    load,
    plan_experiment,
    uses_background,
    variant_name,
)
from authapp.harness.results import (
    Adaptation,
    AdaptationOutcome,
    AdaptationPoint,
    CalibrationInfo,
    Description,
    Results,
    Timing,
)
from authapp.harness.run_description import describe
from authapp.harness.runner import ExperimentCancelled, Trial, evaluate_identity, run_jobs

__all__ = [
    "ATTEMPT_TYPES", "BOOTSTRAP_RESAMPLES", "CALIBRATIONS", "DEFAULT_GENERATORS",
    "DEFAULT_METHODS", "IMPOSTOR_TYPES", "MIN_FOLD_IDENTITIES", "PSEUDO_MODES", "SPLITS",
    "SVC2004_RANDOM_FORGERIES", "ExperimentCancelled", "ExperimentConfig", "ExperimentError",
    "ExperimentResult", "IdentityJob", "Plan", "ScoreFacts", "Trial", "assemble_results",
    "assign_folds", "auto_folds", "dataset_fingerprint", "draw_trial",
    "evaluate_identity", "evaluate_scores", "identity_groups", "identity_seed", "load", "pseudo_effects",
    "run_experiment", "summarize_result", "uses_background", "variant_name",
]


def assemble_results(described: Description, scored: tuple[Figures, Mapping[str, MethodTiming]],
                     timing: Timing, calibration: CalibrationInfo,
                     adaptation: Adaptation | None = None) -> Results:
    """results.json from what was run, the figures and seconds per variant (``evaluate``),
    the timings, the calibrations used and (adaptive runs) the operating points with and
    without template adaptation."""
    figures, per_method = scored
    return Results(description=described, figures=figures,
                   timing=replace(timing, per_method=dict(per_method)),
                   calibration=calibration, adaptation=adaptation)


def run_experiment(cfg: ExperimentConfig, progress: bool = True,
                   on_progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None, checkpoint: Any = None,
                   cluster: str | None = None) -> ExperimentResult:
    """Run the protocol (``authapp.harness.protocol``) and compute every figure.

    For a front end (the GUI's Experiments tab): ``on_progress(done, total)`` is called as
    identities finish, and setting ``cancel`` stops the run between identities with
    ``ExperimentCancelled``. ``checkpoint`` (``authapp.harness.checkpoint.Checkpoint``) saves each
    finished identity and, resuming, skips those it holds; ``cluster`` runs the identities
    on a Dask cluster (``authapp.harness.cluster``). Neither changes a score.
    """
    t_start = time.perf_counter()
    plan = plan_experiment(cfg)
    cfg = plan.config
    generators, gen_fit_s = fit_generators(cfg, plan.dataset, plan.fold_of)
    trials, gen_s = run_jobs(plan, generators, progress, on_progress, cancel,
                             checkpoint=checkpoint, cluster=cluster)
    dims = plan.dataset.genuine(plan.eligible[0])[0].dims
    calibration = calibrate_trials(cfg, dims, trials)
    adaptation = None
    if cfg.calibrated and cfg.adaptation:
        static = trials
        cals = {name: v for name, v in calibration["variants"].items()}
        replay = replace(plan, jobs=[replace(j, calibrations=cals) for j in plan.jobs])
        trials, _ = run_jobs(replay, generators, progress, on_progress, cancel)
        adaptation = adaptation_summary(cfg, static, trials)
    variants = [variant_name(m, g) for m, g in cfg.variants()]
    facts = ScoreFacts(variants, dict(plan.fold_of),
                       bool(getattr(plan.dataset, "has_forgeries", False)), cfg.calibrated)
    timing = Timing(wall_s=time.perf_counter() - t_start, jobs=cfg.jobs, cluster=cluster,
                    generator_fit_s=dict(gen_fit_s), generate_s=dict(gen_s))
    results = assemble_results(describe(plan), evaluate(trials, facts), timing,
                               CalibrationInfo.from_dict(calibration), adaptation)
    return ExperimentResult(results, trials, variants, facts)


def adaptation_summary(cfg: ExperimentConfig, static: dict[str, list[Trial]],
                       adaptive: dict[str, list[Trial]]) -> Adaptation:
    """results.json's "adaptation": the policy, and per variant the operating point without
    adaptation (every attempt against the enrollment model) next to the one with it."""
    from dataclasses import asdict

    from authapp.harness.operating_point import operating_point

    keys = ("frr", "frr_same", "frr_later", "far_random", "far_skilled")
    variants: dict[str, AdaptationOutcome] = {}
    for m, g in cfg.variants():
        name = variant_name(m, g)
        before = operating_point([(i, t) for i, ts in static.items() for t in ts
                                  if t.method == name])
        after_pairs = [(i, t) for i, ts in adaptive.items() for t in ts if t.method == name]
        after = operating_point(after_pairs)
        counts = [t.adapted for _, t in after_pairs if t.adapted is not None]
        variants[name] = AdaptationOutcome(
            without=AdaptationPoint(**{k: before.get(k) for k in keys}),
            with_=AdaptationPoint(**{k: after.get(k) for k in keys}),
            adapted_per_account=float(np.mean(counts)) if counts else None)
    return Adaptation(policy=asdict(cfg.adaptation_policy()), variants=variants)


def evaluate_scores(path: Path) -> ExperimentResult:
    """The result of the run a scores.csv came from, its figures recomputed from the score
    rows alone (``authapp evaluate``)."""
    from authapp.harness.scores import read_scores

    result = read_scores(path)
    run = result.results
    result.results = assemble_results(run.description, evaluate(result.trials, result.facts),
                                      run.timing, run.calibration, run.adaptation)
    return result
