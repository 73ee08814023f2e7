"""The harness's runner: enroll every identity through the product's pipeline and score its
attempts, in parallel; then the calibration pass. Its output -- one ``Trial`` per (identity,
method variant, seed) -- is exactly what scores.csv holds (``authapp.harness.scores``).

Everything random is seeded per (seed, identity), so results do not depend on ``jobs`` or on
the order identities are processed in.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from authapp.harness.adaptive import replay_adaptive
from authapp.harness.data import ExperimentError, load
from authapp.harness.draws import attempt_sessions, draw_trial, identity_seed
from authapp.harness.protocol import ExperimentConfig, IdentityJob, Plan, variant_name
from capture.trajectory import Trajectory
from core.errors import AirAuthError
from models.enrollment import EnrollmentQualityError, select_samples

log = logging.getLogger(__name__)


@dataclass
class Trial:
    """Scores of one (method variant, seed) on one identity's attempts."""

    method: str
    seed: int
    attempt_files: list[str]
    attempt_identities: list[str]
    types: np.ndarray  # str: "genuine" / "random" / "skilled"
    scores: np.ndarray
    threshold: float
    decisions: np.ndarray
    fit_s: float
    score_s: float
    cpu_s: float
    reference_files: list[str]
    fold: int = 0
    raw: np.ndarray | None = None
    """Calibrated models: (attempts, members) member scores; the calibration pass turns them
    into ``scores`` / ``decisions``."""
    cohort_raw: np.ndarray | None = None
    forgery_raw: np.ndarray | None = None
    cohort_people: int = 0
    left_out: list[str] = field(default_factory=list)
    """Reference samples the quality check left out (with why)."""
    refused: str | None = None
    """Why the enrollment was refused (failure to enroll): no attempts are scored."""
    level_thresholds: dict[str, float] = field(default_factory=dict)
    """Calibrated models: the account's threshold at every security level."""
    sessions: list[str] = field(default_factory=list)
    """Per attempt: "same" / "later" for genuine attempts (``protocol.attempt_sessions``),
    "" for impostors; empty when not recorded (older score files)."""
    adapted: int | None = None
    """With template adaptation: how many genuine attempts joined the references (the
    scores are then those of the adaptive replay, ``replay_adaptive``)."""
    calibration_thresholds: dict[str, float] = field(default_factory=dict)
    """Calibrated models: the calibration's own level thresholds (before the account's
    guards), from which 1:N searches scale theirs (``identification_threshold``)."""
    security: str | None = None
    """Calibrated models: the level of ``threshold``."""


def _source(traj: Trajectory, data_dir: Path) -> str:
    """The attempt's file for scores.csv: ``meta.extra["file"]`` when the loader recorded the
    file it read, else ``meta.source`` (for a native recording, where it was first recorded or
    imported from), relative to ``data_dir`` when inside it."""
    src = str(traj.meta.extra.get("file") or traj.meta.source or "")
    if not src:
        return f"{traj.meta.user or '?'}#{traj.meta.extra.get('sample', '?')}"
    try:
        return os.path.relpath(src, data_dir) if os.path.isabs(src) else src
    except ValueError:
        return src


def _fit_and_score(cfg: ExperimentConfig, method: str, generator: str | None, seed: int,
                   refs: list[Trajectory], pseudo: tuple[list, list], others: list[Trajectory],
                   attempts: list[Trajectory]) -> dict[str, Any]:
    """Fit one variant through the product's pipeline and score the attempts.

    Calibrated models return member scores (``raw``, ``cohort_raw``): the calibration is
    learned once every fold is done. Uncalibrated ones return scores and decisions.
    ``seed`` (this identity's) is the ``random_state`` of every estimator that takes one.
    """
    from models.base import Verifier
    from models.enrollment import fit_user_model

    settings = cfg.settings_for(method, generator, seed).with_random_state(seed)
    t0, c0 = time.perf_counter(), time.process_time()
    verifier, _ = fit_user_model(refs, settings, others=others, pseudo=pseudo)
    t1 = time.perf_counter()
    out: dict[str, Any] = {}
    if settings.calibrated:
        out["raw"] = verifier.raw_scores(attempts)
        out["cohort_raw"] = verifier.cohort_raw_
        out["cohort_people"] = verifier.cohort_people_
        out["forgery_raw"] = verifier.forgery_raw_
        n = len(attempts)
        out.update(scores=np.full(n, np.nan), decisions=np.full(n, np.nan), threshold=np.nan)
        if not np.all(np.isfinite(out["raw"])):
            raise ExperimentError(f"{method} returned NaN or infinite member scores")
    else:
        scores = verifier.score_samples(attempts)
        if type(verifier).decision_function is Verifier.decision_function:
            decisions = scores - float(verifier.threshold_)
        else:  # a verifier with its own decision rule: ask it (costs a second scoring pass)
            decisions = np.asarray(verifier.decision_function(attempts), dtype=np.float64)
        if scores.shape != (len(attempts),) or not np.all(np.isfinite(decisions)):
            raise ExperimentError(f"{method} returned {scores.shape} scores (NaN or infinite "
                                  f"among them?) for {len(attempts)} attempts")
        out.update(scores=scores, decisions=decisions, threshold=float(verifier.threshold_))
    t2, c2 = time.perf_counter(), time.process_time()
    out.update(fit_s=t1 - t0, score_s=t2 - t1, cpu_s=c2 - c0)
    return out


def _refused_trial(name: str, seed: int, fold: int, ref_files: list[str], why: str) -> Trial:
    empty = np.zeros(0)
    return Trial(name, seed, [], [], np.zeros(0, dtype=str), empty, float("nan"), empty,
                 0.0, 0.0, 0.0, ref_files, fold=fold, refused=why)


def evaluate_identity(job: IdentityJob) -> tuple[list[Trial], dict[str, float]]:
    """All seeds and method variants for one identity (runs in a worker process).

    Returns the trials and the seconds spent generating pseudo data, per generator.
    """
    from threadpoolctl import threadpool_limits

    cfg = job.config
    dataset = load(cfg.data_dir, cfg.format, job.fingerprint)
    genuine = list(dataset.genuine(job.identity))
    forgeries = list(dataset.forgeries(job.identity))
    random_att = [(o, t) for o in job.impostor_ids for t in dataset.genuine(o)]
    background = [t for o in job.background_ids for t in dataset.genuine(o)]
    trials: list[Trial] = []
    gen_s: dict[str, float] = {}
    # One BLAS thread in every worker and in the main process alike: identical numbers for any
    # --jobs (loky limits its workers the same way).
    # the product's cohort: other people's enrollment samples (K each), not all their writing
    cohort = ([t for o in job.background_ids for t in dataset.genuine(o)[:cfg.references]]
              if cfg.calibrated and cfg.cohort else [])
    if cfg.calibrated and cfg.shipped_background == "on":
        from models.background import with_background

        cohort = with_background(cohort, genuine[0].dims)
    quality = cfg.settings_for(cfg.methods[0], None, 0)
    # One BLAS thread in every worker and in the main process alike: identical numbers for any
    # --jobs (loky limits its workers the same way).
    with threadpool_limits(limits=1):
        for seed in cfg.seeds:
            refs, tests, trial_random = draw_trial(cfg, job.identity, seed, genuine, random_att)
            attempts = tests + [t for _, t in trial_random] + forgeries
            att_ids = ([job.identity] * len(tests) + [o for o, _ in trial_random]
                       + [f"forger of {job.identity}"] * len(forgeries))
            types = np.array(["genuine"] * len(tests) + ["random"] * len(trial_random)
                             + ["skilled"] * len(forgeries))
            files = [_source(t, cfg.data_dir) for t in attempts]
            ref_files = [_source(t, cfg.data_dir) for t in refs]
            sessions = ((attempt_sessions(refs, tests) + [""] * (len(attempts) - len(tests)))
                        if cfg.split in ("sessions", "svc2004") else [])
            try:
                _, kept, left_out = select_samples(refs, quality)
            except EnrollmentQualityError as exc:  # a failure to enroll, as the product's
                for method, gen in cfg.variants():
                    trials.append(_refused_trial(variant_name(method, gen), seed, job.fold,
                                                 ref_files, str(exc)))
                continue
            kept_refs = [refs[k] for k in kept]
            notes = [f"{ref_files[k]}: {why}" for k, why in left_out]
            pseudo: dict[str, Any] = {}
            for name in sorted({g for _, g in cfg.variants() if g is not None}):
                generator = job.generators[name]  # the fold's, shared by its identities
                if "random_state" not in cfg.generator_params.get(name, {}):  # as verifiers'
                    generator = generator.with_random_state(
                        identity_seed(seed, job.identity, f"pseudo:{name}"))
                t0 = time.perf_counter()
                try:
                    pseudo[name] = generator.generate(kept_refs)
                except AirAuthError as exc:
                    raise ExperimentError(f"pseudo-data generator {name!r} failed for identity "
                                          f"{job.identity!r} (seed {seed}): {exc}") from exc
                gen_s[name] = gen_s.get(name, 0.0) + time.perf_counter() - t0
            for method, gen in cfg.variants():
                data = ((list(pseudo[gen].genuine), list(pseudo[gen].impostors))
                        if gen is not None else ([], []))
                others = cohort if cfg.calibrated else (
                    background if job.background_for.get(method, True) else [])
                name = variant_name(method, gen)
                v_seed = identity_seed(seed, job.identity, f"verifier:{name}")
                try:
                    if job.calibrations:  # second pass: the product's adaptive replay
                        out = replay_adaptive(cfg, method, gen, v_seed, kept_refs, data,
                                              others, attempts, len(tests),
                                              job.calibrations[name][job.fold])
                    else:
                        out = _fit_and_score(cfg, method, gen, v_seed, kept_refs, data,
                                             others, attempts)
                except AirAuthError as exc:
                    raise ExperimentError(f"{name} failed for identity {job.identity!r} "
                                          f"(seed {seed}): {exc}") from exc
                trials.append(Trial(
                    name, seed, files, att_ids, types, out["scores"], out["threshold"],
                    out["decisions"], out["fit_s"], out["score_s"], out["cpu_s"], ref_files,
                    fold=job.fold, raw=out.get("raw"), cohort_raw=out.get("cohort_raw"),
                    forgery_raw=out.get("forgery_raw"),
                    cohort_people=out.get("cohort_people", 0), left_out=notes,
                    level_thresholds=out.get("level_thresholds", {}), sessions=sessions,
                    adapted=out.get("adapted"),
                    calibration_thresholds=out.get("calibration_thresholds", {}),
                    security=out.get("security")))
    return trials, gen_s


class ExperimentCancelled(ExperimentError):
    """The run was cancelled through ``run_experiment``'s ``cancel`` event."""


def _evaluate_pair(job: IdentityJob) -> tuple[str, tuple[list[Trial], dict[str, float]]]:
    """Worker entry point: one identity, with numba's own thread pool cut to one thread
    (loky already limits BLAS/OpenMP in its workers; numba's ``prange`` is not covered)."""
    try:
        import numba

        numba.set_num_threads(1)
    except Exception:  # noqa: BLE001, S110 - only a performance hint
        pass
    # the main process already reported the data set's skipped files; don't repeat per worker
    logging.getLogger("capture.datasets").setLevel(logging.ERROR)
    return job.identity, evaluate_identity(job)


def run_jobs(plan: Plan, generators: Mapping[int, Mapping[str, Any]], progress: bool = True,
             on_progress: Callable[[int, int], None] | None = None,
             cancel: threading.Event | None = None, checkpoint: Any = None,
             cluster: str | None = None
             ) -> tuple[dict[str, list[Trial]], dict[str, float]]:
    """Every identity's trials (in the plan's order, whatever finished first) and the seconds
    spent generating pseudo data per generator. ``on_progress(done, total)`` is called as
    identities finish; setting ``cancel`` stops between identities (``ExperimentCancelled``).

    ``checkpoint`` (an ``authapp.harness.checkpoint.Checkpoint``): identities it already holds are
    not run again, and each one that finishes is saved to it at once. ``cluster``: run the
    identities on that Dask cluster (``authapp.harness.cluster``) instead of ``cfg.jobs`` local
    processes."""
    from tqdm import tqdm

    cfg = plan.config
    done = checkpoint.start(plan) if checkpoint is not None else {}
    jobs = [replace(job, generators=generators.get(job.fold, {})) for job in plan.jobs
            if job.identity not in done]
    total = len(jobs) + len(done)
    bar = tqdm(total=total, initial=len(done), desc="experiment", unit="identity",
               file=sys.stderr, disable=not progress, leave=False)
    trials: dict[str, list[Trial]] = {ident: out[0] for ident, out in done.items()}
    gen_s: dict[str, float] = {}
    for out in done.values():
        for name, sec in out[1].items():
            gen_s[name] = gen_s.get(name, 0.0) + sec

    def check_cancel() -> None:  # leaving the joblib generator early cancels its queue
        if cancel is not None and cancel.is_set():
            raise ExperimentCancelled(f"experiment cancelled after {len(trials)} of "
                                      f"{total} identities")

    def collect(identity: str, out: tuple[list[Trial], dict[str, float]]) -> None:
        trials[identity] = out[0]
        for name, sec in out[1].items():
            gen_s[name] = gen_s.get(name, 0.0) + sec
        if checkpoint is not None:
            checkpoint.save(identity, out[0], out[1])
        bar.update()
        if on_progress is not None:
            on_progress(len(trials), total)
        check_cancel()

    if on_progress is not None:
        on_progress(len(trials), total)
    try:
        check_cancel()
        if not jobs:
            pass
        elif cluster is not None:
            from joblib import Parallel, delayed, parallel_config

            from authapp.harness.cluster import dask_client

            with dask_client(cluster), parallel_config(backend="dask"):
                par = Parallel(n_jobs=-1, return_as="generator_unordered")
                for identity, out in par(delayed(_evaluate_pair)(job) for job in jobs):
                    collect(identity, out)
        elif cfg.jobs == 1 or len(jobs) == 1:
            for job in jobs:
                collect(job.identity, evaluate_identity(job))
        else:
            from joblib import Parallel, delayed

            par = Parallel(n_jobs=min(cfg.jobs, len(jobs)), backend="loky",
                           return_as="generator_unordered")
            for identity, out in par(delayed(_evaluate_pair)(job) for job in jobs):
                collect(identity, out)
    finally:
        bar.close()
    return {ident: trials[ident] for ident in plan.eligible}, gen_s
