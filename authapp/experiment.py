"""The impersonation test: replay recorded data set trajectories against per-user verifiers.

Protocol (what ``authapp experiment`` runs; results.json repeats it under ``"protocol"``):

- **Folds.** All identities of the data set (also those too small to enroll) are split into
  ``folds`` disjoint groups with ``fold_seed`` (identities that can enroll are spread evenly).
  For a user in fold f, *random impostors* are the genuine samples of the other identities of
  fold f, and *background* data (negatives for verifiers that learn from other people, and the
  corpus pseudo-data generators are fitted on) are the genuine samples of the identities of the
  other folds. So no person is both background and impostor for the same user. ``folds=1``
  means: no background at all, every other identity is a random impostor. ``folds=None``
  (the default) picks 2 when at least ``2 * MIN_FOLD_IDENTITIES`` identities can enroll,
  else 1: with a handful of identities, splitting would leave a user almost no random
  impostors (FMKit's two identities would never be tested against each other).
- **Trials.** For each identity and seed, ``references`` genuine samples drawn with a
  generator seeded by (seed, identity) enroll; the remaining genuine samples are genuine
  attempts; skilled impostors are that identity's forgeries when the data has them. An identity
  with fewer than ``references + 1`` genuine samples is skipped (and listed).
  With ``split="svc2004"`` (the SVC2004 competition's protocol, for comparing with its
  published numbers): the references are drawn from the first half of the identity's genuine
  samples (S1-S10), the second half (S11-S20, written in a later session) are the genuine
  attempts, and the random impostors of a trial are ``SVC2004_RANDOM_FORGERIES`` genuine
  samples drawn from the other identities of the fold; SVC2004 ran 10 such trials per user.
- **Pseudo data** (``pseudo`` = "on" / "both") is generated from the references only, and the
  verifier is fitted on references + pseudo-genuine, with pseudo-impostors (+ background when
  the method uses it) as negatives; it is reported as ``"<method>+<generator>"``.
- **Scores.** Every attempt of a user is scored in one ``score_samples`` call; the decision
  value is score - the verifier's own ``threshold_`` (accept when >= 0), so FAR/FRR are at the
  per-user thresholds the verifier chose, and pooled EER/AUC/DET curves apply one global offset
  on top of them.

Everything random is seeded per (seed, identity), so results do not depend on ``jobs`` or on
the order identities are processed in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from authapp import metrics
from capture.errors import AirAuthError
from capture.trajectory import Trajectory
from models.enrollment import EnrollmentQualityError, select_samples

ATTEMPT_TYPES = ("genuine", "random", "skilled")
IMPOSTOR_TYPES = ("random", "skilled")
PSEUDO_MODES = ("off", "on", "both")
CALIBRATIONS = ("dev", "shipped", "none")
SPLITS = ("random", "svc2004")
SVC2004_RANDOM_FORGERIES = 20
"""Random forgeries per trial in SVC2004's own protocol (genuine samples of other users)."""
DEFAULT_METHODS = ("dtw", "subspace", "svm", "ss-svm", "fusion")
DEFAULT_GENERATORS = ("pseudo", "vae", "gan")

USES_BACKGROUND: dict[str, bool] = {
    "dtw": False,
    "subspace": False,
    "svm": True,
    "ss-svm": True,
    "fusion": True,
}
"""Per-method setting: does the method get background identities as ``impostors=`` in fit?

Methods that learn a boundary against other people (the SVMs, and the fusion, which contains
one) get them; template matchers (DTW, CLAFIC) do not need them. A verifier class may override
this with a class attribute ``uses_background``; unknown methods get background data (a
verifier that ignores negatives still works, it only costs time).
"""


class ExperimentError(AirAuthError):
    """The experiment cannot run as asked (bad data set, unknown method, nothing to test)."""


def uses_background(method: str) -> bool:
    from models.registry import verifier_class

    flag = getattr(verifier_class(method), "uses_background", None)
    return bool(flag) if flag is not None else USES_BACKGROUND.get(method, True)


@dataclass(frozen=True)
class ExperimentConfig:
    """What to run. ``methods`` are registry names; ``generators`` pseudo-data generator names."""

    data_dir: Path
    format: str | None = None
    references: int = 5
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = DEFAULT_METHODS
    pseudo: str = "off"
    generators: tuple[str, ...] = ("pseudo",)
    folds: int | None = None  # None: auto_folds()
    fold_seed: int = 0
    split: str = "random"  # SPLITS: how references, genuine attempts and random impostors are drawn
    jobs: int = 1
    method_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    generator_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per-generator constructor params, e.g. {"pseudo": {"cache_dir": ...}} so a rerun reuses
    the trained embedding network."""
    calibration: str = "dev"
    """CALIBRATIONS, or a calibration file: "dev" learns the product's writer-independent
    calibration on the other folds (the package's own with one fold), "shipped" uses the
    package's, "none" evaluates each verifier's own per-user threshold (not what ships)."""
    security: str = "normal"
    cohort: bool = True
    """Give calibrated models a cohort (K recordings of each other-fold identity), as the
    product gives the store's other users; False: like a store's first user."""
    guard_far: float = 0.01
    background_negatives: bool = True
    """With ``calibration="none"``: verifiers that learn from other people get the other
    folds as training negatives (the configuration earlier versions reported)."""

    @property
    def calibrated(self) -> bool:
        return self.calibration != "none"

    def settings_for(self, method: str, generator: str | None, seed: int) -> Any:
        """The ``EnrollmentSettings`` the product would use for this variant."""
        from models.enrollment import EnrollmentSettings

        return EnrollmentSettings(
            verifier=method, verifier_params=dict(self.method_params.get(method, {})),
            calibrated=self.calibrated, security=self.security, guard_far=self.guard_far,
            background_negatives=self.background_negatives, pseudo=generator, seed=seed)

    def variants(self) -> list[tuple[str, str | None]]:
        """(method, generator or None) pairs in report order."""
        gens: list[str | None] = []
        if self.pseudo in ("off", "both"):
            gens.append(None)
        if self.pseudo in ("on", "both"):
            gens.extend(self.generators)
        return [(m, g) for m in self.methods for g in gens]


def variant_name(method: str, generator: str | None) -> str:
    return method if generator is None else f"{method}+{generator}"


# -- seeding ------------------------------------------------------------------------------
def identity_seed(seed: int, identity: str, purpose: str = "") -> int:
    """A 32-bit seed from (run seed, identity, purpose), stable across processes and runs."""
    key = zlib.crc32(f"{identity}\x00{purpose}".encode())
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, key]).generate_state(1)[0])


MIN_FOLD_IDENTITIES = 3
"""Enrolling identities each fold needs before the data set is split (``folds=None``)."""


def auto_folds(n_eligible: int) -> int:
    """2 disjoint folds when each keeps ``MIN_FOLD_IDENTITIES`` enrolling identities, else 1."""
    return 2 if n_eligible >= 2 * MIN_FOLD_IDENTITIES else 1


def assign_folds(identities: Sequence[str], eligible: Iterable[str], folds: int,
                 seed: int) -> dict[str, int]:
    """Seeded split into ``folds`` groups, enrolling identities spread evenly over them."""
    if folds < 1:
        raise ExperimentError(f"--folds must be at least 1, got {folds}")
    rng = np.random.default_rng(seed)
    eligible = set(eligible)
    fold_of: dict[str, int] = {}
    for group in ([i for i in identities if i in eligible],
                  [i for i in identities if i not in eligible]):
        order = [group[k] for k in rng.permutation(len(group))]
        offset = int(rng.integers(folds))
        for k, ident in enumerate(order):
            fold_of[ident] = (k + offset) % folds
    return fold_of


# -- data set loading (cached per process so loky workers load it once) -------------------
_DATASETS: dict[tuple[str, str | None, str], Any] = {}


def dataset_fingerprint(data_dir: Path) -> str:
    """Cheap identity of a directory's contents (paths, sizes, mtimes) for the worker cache."""
    h = hashlib.sha1()
    for root, dirs, files in os.walk(data_dir):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(root, name)
            try:
                st = os.stat(p)
            except OSError:
                continue
            h.update(f"{os.path.relpath(p, data_dir)}\x00{st.st_size}\x00{st.st_mtime_ns}\n"
                     .encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def load(data_dir: Path, fmt: str | None, fingerprint: str | None = None) -> Any:
    """``capture.datasets.load_dataset`` with a clear error and a per-process cache."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ExperimentError(f"data directory not found: {data_dir}")
    fingerprint = fingerprint or dataset_fingerprint(data_dir)
    key = (str(data_dir.resolve()), fmt, fingerprint)
    if key not in _DATASETS:
        try:
            from capture.datasets import load_dataset
        except ImportError as exc:
            raise ExperimentError(f"data set loading is not available: {exc}") from exc
        _DATASETS.clear()  # one data set per process is enough; don't hoard memory
        _DATASETS[key] = load_dataset(data_dir, fmt)
    return _DATASETS[key]


# -- one identity ---------------------------------------------------------------------------
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
    cohort_people: int = 0
    left_out: list[str] = field(default_factory=list)
    """Reference samples the quality check left out (with why)."""
    refused: str | None = None
    """Why the enrollment was refused (failure to enroll): no attempts are scored."""
    level_thresholds: dict[str, float] = field(default_factory=dict)
    """Calibrated models: the account's threshold at every security level."""


@dataclass(frozen=True)
class IdentityJob:
    """Everything one worker needs for one identity (the data set itself comes from cache)."""

    identity: str
    impostor_ids: tuple[str, ...]
    background_ids: tuple[str, ...]
    config: ExperimentConfig
    fingerprint: str
    background_for: Mapping[str, bool]
    generators: Mapping[str, Any]  # fitted generators of this identity's fold
    fold: int = 0


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
    """
    from models.base import Verifier
    from models.enrollment import fit_user_model

    settings = cfg.settings_for(method, generator, seed)
    t0, c0 = time.perf_counter(), time.process_time()
    verifier, _ = fit_user_model(refs, settings, others=others, pseudo=pseudo)
    if "random_state" in verifier.get_params() and "random_state" not in settings.verifier_params:
        verifier.random_state = seed
    t1 = time.perf_counter()
    out: dict[str, Any] = {}
    if settings.calibrated:
        out["raw"] = verifier.raw_scores(attempts)
        out["cohort_raw"] = verifier.cohort_raw_
        out["cohort_people"] = verifier.cohort_people_
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


def draw_trial(cfg: ExperimentConfig, identity: str, seed: int, genuine: list[Trajectory],
               random_att: list[tuple[str, Trajectory]]
               ) -> tuple[list[Trajectory], list[Trajectory], list[tuple[str, Trajectory]]]:
    """(references, genuine attempts, random impostor attempts) of one trial (``cfg.split``)."""
    rng = np.random.default_rng(identity_seed(seed, identity, "references"))
    if cfg.split == "svc2004":
        first = len(genuine) // 2
        ref_idx = set(rng.choice(first, cfg.references, replace=False).tolist())
        refs = [genuine[k] for k in sorted(ref_idx)]
        pick = np.random.default_rng(identity_seed(seed, identity, "random forgeries"))
        n = min(SVC2004_RANDOM_FORGERIES, len(random_att))
        chosen = sorted(pick.choice(len(random_att), n, replace=False).tolist())
        return refs, genuine[first:], [random_att[k] for k in chosen]
    ref_idx = set(rng.choice(len(genuine), cfg.references, replace=False).tolist())
    refs = [t for k, t in enumerate(genuine) if k in ref_idx]
    tests = [t for k, t in enumerate(genuine) if k not in ref_idx]
    return refs, tests, random_att


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
                gen_seed = identity_seed(seed, job.identity, f"pseudo:{name}")
                t0 = time.perf_counter()
                try:
                    pseudo[name] = job.generators[name].generate(kept_refs, seed=gen_seed)
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
                try:
                    out = _fit_and_score(cfg, method, gen,
                                         identity_seed(seed, job.identity, f"verifier:{name}"),
                                         kept_refs, data, others, attempts)
                except (AirAuthError, ImportError) as exc:
                    raise ExperimentError(f"{name} failed for identity {job.identity!r} "
                                          f"(seed {seed}): {exc}") from exc
                trials.append(Trial(
                    name, seed, files, att_ids, types, out["scores"], out["threshold"],
                    out["decisions"], out["fit_s"], out["score_s"], out["cpu_s"], ref_files,
                    fold=job.fold, raw=out.get("raw"), cohort_raw=out.get("cohort_raw"),
                    cohort_people=out.get("cohort_people", 0), left_out=notes))
    return trials, gen_s


# -- the whole run --------------------------------------------------------------------------
@dataclass
class ExperimentResult:
    """results.json content plus the per-attempt scores the report and scores.csv need."""

    results: dict[str, Any]
    trials: dict[str, list[Trial]]  # identity -> its trials
    variants: list[str]

    def decisions(self, method: str, kind: str) -> np.ndarray:
        """All decision values of ``method`` for attempt type ``kind``, pooled."""
        parts = [t.decisions[t.types == kind] for ts in self.trials.values() for t in ts
                 if t.method == method]
        return np.concatenate(parts) if parts else np.zeros(0)


def _check_methods(cfg: ExperimentConfig) -> None:
    from models.registry import UnknownVerifierError, verifier_class

    if not cfg.methods:
        raise ExperimentError("no methods to evaluate")
    for m in cfg.methods:
        try:
            verifier_class(m)
        except UnknownVerifierError as exc:
            raise ExperimentError(str(exc)) from None
        except ImportError as exc:
            raise ExperimentError(f"method {m!r} is not available: {exc}") from exc


def available_methods(candidates: Sequence[str] = DEFAULT_METHODS) -> tuple[list[str], list[str]]:
    """(importable, missing) registry names, for the default --methods."""
    from models.registry import verifier_class

    ok, missing = [], []
    for m in candidates:
        try:
            verifier_class(m)
            ok.append(m)
        except ImportError:
            missing.append(m)
    return ok, missing


def fit_generators(cfg: ExperimentConfig, dataset: Any, fold_of: Mapping[str, int],
                   verbose: bool = False
                   ) -> tuple[dict[int, dict[str, Any]], dict[str, float]]:
    """Pseudo-data generators fitted once per fold on that fold's background identities
    (``verbose``: a line on stderr per fit, as training a network can take minutes)."""
    if cfg.pseudo == "off":
        return {}, {}
    try:
        from models.pseudo import make_generator
    except ImportError as exc:
        raise ExperimentError(
            f"--pseudo {cfg.pseudo} needs the pseudo-data package models.pseudo, which is not "
            f"available: {exc}") from exc
    fitted: dict[int, dict[str, Any]] = {}
    fit_s: dict[str, float] = {name: 0.0 for name in cfg.generators}
    for fold in sorted(set(fold_of.values())):
        background = [t for ident, f in fold_of.items() if f != fold
                      for t in dataset.genuine(ident)]
        fitted[fold] = {}
        for name in cfg.generators:
            try:
                gen = make_generator(name, **dict(cfg.generator_params.get(name, {})))
            except (AirAuthError, KeyError, ValueError, ImportError, TypeError) as exc:
                raise ExperimentError(f"pseudo-data generator {name!r} is not available: "
                                      f"{exc}") from exc
            if verbose:
                print(f"fitting pseudo-data generator {name!r} for fold {fold} on "
                      f"{len(background)} background recordings ...", file=sys.stderr,
                      flush=True)
            t0 = time.perf_counter()
            try:
                fitted[fold][name] = gen.fit(
                    background, seed=identity_seed(cfg.fold_seed, f"fold{fold}", name))
            except (AirAuthError, ImportError) as exc:
                raise ExperimentError(f"pseudo-data generator {name!r} could not be fitted on "
                                      f"the background of fold {fold}: {exc}") from exc
            fit_s[name] += time.perf_counter() - t0
    return fitted, fit_s


class ExperimentCancelled(ExperimentError):
    """The run was cancelled through ``run_experiment``'s ``cancel`` event."""


def run_experiment(cfg: ExperimentConfig, progress: bool = True,
                   on_progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None) -> ExperimentResult:
    """Run the protocol described in the module docstring and compute every metric.

    For a front end (the GUI's Experiments tab): ``on_progress(done, total)`` is called as
    identities finish, and setting ``cancel`` stops the run between identities with
    ``ExperimentCancelled``.
    """
    t_start = time.perf_counter()
    if cfg.references < 2:
        raise ExperimentError(f"--references must be at least 2, got {cfg.references}")
    if cfg.pseudo not in PSEUDO_MODES:
        raise ExperimentError(f"--pseudo must be one of {', '.join(PSEUDO_MODES)}")
    if not cfg.seeds:
        raise ExperimentError("no seeds given")
    if cfg.jobs < 1:
        raise ExperimentError(f"--jobs must be at least 1, got {cfg.jobs}")
    if cfg.calibration not in CALIBRATIONS and not Path(cfg.calibration).is_file():
        raise ExperimentError(f"--calibration must be one of {', '.join(CALIBRATIONS)} or a "
                              f"calibration file, got {cfg.calibration!r}")
    from models.score_calibration import SECURITY_LEVELS

    if cfg.security not in SECURITY_LEVELS:
        raise ExperimentError(f"--security must be one of {', '.join(SECURITY_LEVELS)}")
    _check_methods(cfg)
    fingerprint = dataset_fingerprint(Path(cfg.data_dir)) if Path(cfg.data_dir).is_dir() else ""
    dataset = load(cfg.data_dir, cfg.format, fingerprint)
    identities = list(dataset.identities)
    if not identities:
        raise ExperimentError(f"no recordings found in {cfg.data_dir}")
    if cfg.split not in SPLITS:
        raise ExperimentError(f"--split must be one of {', '.join(SPLITS)}, got {cfg.split!r}")
    if cfg.split == "random":
        need, why = cfg.references + 1, f"{cfg.references} references + 1 attempt"
    else:  # the references come from the first half of the genuine samples
        need, why = 2 * cfg.references, (f"--split svc2004: {cfg.references} references from "
                                         "the first half")
    eligible, skipped = [], []
    for ident in identities:
        n = len(dataset.genuine(ident))
        if n >= need:
            eligible.append(ident)
        else:
            skipped.append({"identity": ident, "genuine_samples": n,
                            "reason": f"{n} genuine sample(s); {need} needed ({why})"})
    if not eligible:
        raise ExperimentError(f"no identity in {cfg.data_dir} has the {need} genuine samples "
                              f"needed ({why})")
    folds_auto = cfg.folds is None
    if folds_auto:
        cfg = replace(cfg, folds=auto_folds(len(eligible)))
    fold_of = assign_folds(identities, eligible, cfg.folds, cfg.fold_seed)
    background_for = {m: uses_background(m) for m in cfg.methods}
    generators, gen_fit_s = fit_generators(cfg, dataset, fold_of, verbose=progress)
    jobs = [IdentityJob(
        identity=ident,
        impostor_ids=tuple(o for o in identities if o != ident and fold_of[o] == fold_of[ident]),
        background_ids=tuple(o for o in identities if fold_of[o] != fold_of[ident]),
        config=cfg, fingerprint=fingerprint, background_for=background_for,
        generators=generators.get(fold_of[ident], {}), fold=fold_of[ident],
    ) for ident in eligible]

    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc="experiment", unit="identity", file=sys.stderr,
               disable=not progress, leave=False)
    trials: dict[str, list[Trial]] = {}
    gen_s: dict[str, float] = {}

    def collect(identity: str, out: tuple[list[Trial], dict[str, float]]) -> None:
        trials[identity] = out[0]
        for name, sec in out[1].items():
            gen_s[name] = gen_s.get(name, 0.0) + sec
        bar.update()
        if on_progress is not None:
            on_progress(len(trials), len(jobs))
        check_cancel()

    def check_cancel() -> None:  # leaving the joblib generator early cancels its queue
        if cancel is not None and cancel.is_set():
            raise ExperimentCancelled(f"experiment cancelled after {len(trials)} of "
                                      f"{len(jobs)} identities")

    if on_progress is not None:
        on_progress(0, len(jobs))
    try:
        check_cancel()
        if cfg.jobs == 1 or len(jobs) == 1:
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
    trials = {ident: trials[ident] for ident in eligible}  # fixed order, whatever finished first
    variants = [variant_name(m, g) for m, g in cfg.variants()]
    result = ExperimentResult({}, trials, variants)
    calibrations = calibrate_trials(cfg, dataset, result, eligible)
    result.results = _results_json(cfg, dataset, result, fold_of, background_for, skipped,
                                   gen_fit_s, gen_s, time.perf_counter() - t_start,
                                   folds_auto)
    result.results["calibration"] = calibrations
    return result


def calibrate_trials(cfg: ExperimentConfig, dataset: Any, result: ExperimentResult,
                     eligible: Sequence[str]) -> dict[str, Any]:
    """Second pass for calibrated models (``authapp.calibration_pass``); results.json's
    "calibration" section."""
    from authapp.calibration_pass import calibrate_variant, calibration_source

    if not cfg.calibrated:
        return {"source": "none", "note": "each verifier's own per-user threshold (a research "
                "configuration: the product ships calibrated models)"}
    source = calibration_source(cfg.calibration, cfg.folds or 1)
    dims = dataset.genuine(eligible[0])[0].dims
    out: dict[str, Any] = {"requested": cfg.calibration, "source": source,
                           "security": cfg.security, "guard_far": cfg.guard_far,
                           "cohort": cfg.cohort, "variants": {}}
    for method, gen in cfg.variants():
        name = variant_name(method, gen)
        members, params = cfg.settings_for(method, gen, 0).members()
        mine = [t for ts in result.trials.values() for t in ts if t.method == name]
        try:
            out["variants"][name] = calibrate_variant(
                mine, members, params, dims, source, cfg.security, cfg.guard_far,
                {"dataset": Path(cfg.data_dir).name, "references": cfg.references,
                 "seeds": list(cfg.seeds), "method": name})
        except AirAuthError as exc:
            raise ExperimentError(f"calibrating {name}: {exc}") from exc
    return out


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


# -- aggregation ----------------------------------------------------------------------------
def _safe_eer(gen: np.ndarray, imp: np.ndarray) -> float | None:
    return metrics.eer(gen, imp) if gen.size and imp.size else None


def identity_groups(result: ExperimentResult, method: str, kind: str
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(genuine, ``kind`` impostor) decision values of ``method`` per enrolled identity, all
    seeds together, identities sorted: the clusters the bootstrap intervals resample."""
    groups = []
    for ident in sorted(result.trials):
        mine = [t for t in result.trials[ident] if t.method == method]
        groups.append((np.concatenate([t.decisions[t.types == "genuine"] for t in mine]),
                       np.concatenate([t.decisions[t.types == kind] for t in mine])))
    return groups


BOOTSTRAP_RESAMPLES = 1000
"""Resamples of the enrolled identities behind every EER interval (seed 0: reproducible)."""


def summarize_result(result: ExperimentResult, has_forgeries: bool
                     ) -> tuple[dict, dict, dict]:
    """(methods, per_user, per_seed_eer) sections of results.json from the trials."""
    methods: dict[str, Any] = {}
    per_user: dict[str, Any] = {}
    per_seed: dict[str, Any] = {}
    for name in result.variants:
        methods[name], per_user[name], per_seed[name] = {}, {}, {}
        gen = result.decisions(name, "genuine")
        for kind in IMPOSTOR_TYPES:
            imp = result.decisions(name, kind)
            if kind == "skilled" and not has_forgeries:
                methods[name][kind] = None
                per_seed[name][kind] = None
                continue
            if imp.size == 0:
                raise ExperimentError(
                    f"no {kind} impostor attempts for {name}: every identity's fold holds no "
                    f"other identity (use more identities or --folds 1)")
            summary = metrics.summarize(gen, imp).to_dict()
            user_eers = []
            groups = identity_groups(result, name, kind)
            for ident, (g, i) in zip(sorted(result.trials), groups):
                e = _safe_eer(g, i)
                per_user[name].setdefault(ident, {})[kind] = e
                per_user[name][ident][f"n_{kind}"] = int(i.size)
                per_user[name][ident]["n_genuine"] = int(g.size)
                if e is not None:
                    user_eers.append(e)
            summary["eer_ci"] = list(metrics.bootstrap_eer_interval(
                groups, n_boot=BOOTSTRAP_RESAMPLES, seed=0))
            summary["eer_user_mean"] = float(np.mean(user_eers)) if user_eers else None
            trial_eers = [_safe_eer(t.decisions[t.types == "genuine"], t.decisions[t.types == kind])
                          for ts in result.trials.values() for t in ts if t.method == name]
            trial_eers = [e for e in trial_eers if e is not None]
            summary["eer_trial_mean"] = float(np.mean(trial_eers)) if trial_eers else None
            seeds = sorted({t.seed for ts in result.trials.values() for t in ts})
            by_seed = []
            for s in seeds:
                mine = [t for ts in result.trials.values() for t in ts
                        if t.method == name and t.seed == s]
                g = np.concatenate([t.decisions[t.types == "genuine"] for t in mine])
                i = np.concatenate([t.decisions[t.types == kind] for t in mine])
                by_seed.append(_safe_eer(g, i))
            per_seed[name][kind] = by_seed
            methods[name][kind] = summary
        for ident in per_user[name]:
            per_user[name][ident].setdefault("skilled", None)
    return methods, per_user, per_seed


def pseudo_effects(result: ExperimentResult, has_forgeries: bool,
                   n_boot: int = BOOTSTRAP_RESAMPLES) -> dict[str, Any]:
    """For every ``<method>+<generator>`` variant: its pooled EER minus ``<method>``'s, with a
    95 % interval from a paired bootstrap over the enrolled identities (seed 0).

    A difference of a few attempts can be luck; the interval says whether the change would
    survive a different draw of people (the unit accuracy is judged on).
    """
    changes: dict[str, Any] = {}
    for name in result.variants:
        base, plus, _ = name.partition("+")
        if not plus or base not in result.variants:
            continue
        changes[name] = {}
        for kind in IMPOSTOR_TYPES:
            if kind == "skilled" and not has_forgeries:
                changes[name][kind] = None
                continue
            changes[name][kind] = metrics.bootstrap_eer_change(
                identity_groups(result, base, kind), identity_groups(result, name, kind),
                n_boot=n_boot, seed=0).to_dict()
    return {"compared": "pooled EER of <method>+<generator> minus <method>'s (fractions)",
            "interval": (f"95 % percentile interval of {n_boot} paired bootstrap resamples of "
                         "the enrolled identities (all seeds of an identity together)"),
            "changes": changes}


def operating_points(cfg: ExperimentConfig, result: ExperimentResult,
                     fold_of: Mapping[str, int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """results.json's "operating_point" (per variant: at the configured threshold, and for
    calibrated models at every security level) and "identification" sections."""
    from authapp.operating_point import identification, operating_point
    from models.score_calibration import SECURITY_LEVELS

    ops: dict[str, Any] = {}
    idents: dict[str, Any] = {}
    for name in result.variants:
        pairs = [(i, t) for i, ts in result.trials.items() for t in ts if t.method == name]
        ops[name] = operating_point(pairs)
        if cfg.calibrated:
            ops[name]["levels"] = {lv: {k: v for k, v in operating_point(pairs, lv).items()
                                        if k in ("frr", "far_random", "far_skilled",
                                                 "accounts_far_over_5pct")}
                                   for lv in SECURITY_LEVELS}
        idents[name] = identification(result.trials, name, fold_of)
    return ops, idents


def _skipped_file(item: Any, data_dir: Path) -> str:
    """A data set's skipped-file entry, (path, reason) or anything else, as one line."""
    if isinstance(item, tuple) and len(item) == 2:
        path, reason = item
        try:
            path = os.path.relpath(path, data_dir)
        except ValueError:
            pass
        return f"{path}: {reason}"
    return str(item)


def _results_json(cfg: ExperimentConfig, dataset: Any, result: ExperimentResult,
                  fold_of: Mapping[str, int], background_for: Mapping[str, bool],
                  skipped: list[dict[str, Any]], gen_fit_s: Mapping[str, float],
                  gen_s: Mapping[str, float], wall_s: float,
                  folds_auto: bool = False) -> dict[str, Any]:
    has_forgeries = bool(getattr(dataset, "has_forgeries", False))
    methods, per_user, per_seed = summarize_result(result, has_forgeries)
    operating, ident = operating_points(cfg, result, fold_of)
    timing: dict[str, Any] = {"wall_s": None, "jobs": cfg.jobs, "per_method": {}}
    for name in result.variants:
        mine = [t for ts in result.trials.values() for t in ts if t.method == name]
        timing["per_method"][name] = {"fit_s": float(sum(t.fit_s for t in mine)),
                                      "score_s": float(sum(t.score_s for t in mine)),
                                      "cpu_s": float(sum(t.cpu_s for t in mine))}
    timing["generator_fit_s"] = dict(gen_fit_s)
    timing["generate_s"] = dict(gen_s)
    timing["wall_s"] = wall_s  # filled again by the CLI once plots and files are written
    import numpy
    import sklearn

    return {
        "dataset": Path(cfg.data_dir).resolve().name,
        "data_dir": str(Path(cfg.data_dir).resolve()),
        "format": cfg.format,
        "references": cfg.references,
        "seeds": list(cfg.seeds),
        "security": cfg.security if cfg.calibrated else None,
        "operating_point": operating,
        "identification": ident,
        "methods": methods,
        "per_user": per_user,
        "per_seed_eer": per_seed,
        "protocol": {
            "folds": cfg.folds,
            "folds_chosen": "auto" if folds_auto else "given",
            "fold_seed": cfg.fold_seed,
            "fold_of": {ident: fold_of[ident] for ident in dataset.identities},
            "scheme": (
                f"identities split into {cfg.folds} disjoint folds (seed {cfg.fold_seed}); "
                "random impostors against a user = genuine samples of the other identities in "
                "the user's fold; background (verifier negatives, pseudo-generator training) = "
                "identities of the other folds, so no person is both background and impostor "
                "for the same user" if cfg.folds > 1 else
                "one fold: random impostors against a user = genuine samples of every other "
                "identity; no background (no verifier or generator sees other people's data)"),
            "background_for": dict(background_for),
            "split": cfg.split,
            "references": (f"{cfg.references} genuine samples per identity and seed, drawn "
                           "with a generator seeded by (seed, identity); the rest are genuine "
                           "attempts" if cfg.split == "random" else
                           f"SVC2004's protocol: {cfg.references} references per identity and "
                           "seed drawn from the first half of its genuine samples (S1-S10), "
                           "the second half (S11-S20) are the genuine attempts, and "
                           f"{SVC2004_RANDOM_FORGERIES} genuine samples of other identities "
                           "of the fold, drawn per trial, are the random impostors"),
            "thresholds": (
                "FAR/FRR/recognition rate and the operating point at each account's own "
                "threshold (score minus threshold >= 0 accepts): the product's calibrated "
                f"threshold at security level '{cfg.security}' (calibration: "
                f"{cfg.calibration}), raised by the account's cohort guard"
                if cfg.calibrated else
                "FAR/FRR/recognition rate at each verifier's own per-user threshold (a research "
                "configuration, not what the product ships)"),
            "eer": ("EER/AUC/FRR at FAR pooled over users and seeds on score minus the "
                    "account's threshold (one global offset on top of them); EER 95 % CI = "
                    f"percentile interval of that EER over {BOOTSTRAP_RESAMPLES} bootstrap "
                    "resamples of the enrolled identities; user EER = mean of per-user EERs "
                    "(each pooled over seeds); trial EER = mean of the EERs of each (user, "
                    "seed) trial"),
        },
        "pseudo": {"mode": cfg.pseudo,
                   "generators": list(cfg.generators) if cfg.pseudo != "off" else []},
        "pseudo_effect": pseudo_effects(result, has_forgeries),
        "method_params": {m: dict(p) for m, p in cfg.method_params.items()},
        "identities": list(result.trials),
        "reference_files": {ident: {str(t.seed): t.reference_files for t in ts}
                            for ident, ts in result.trials.items()},
        "skipped": skipped,
        "skipped_files": [_skipped_file(s, cfg.data_dir)
                          for s in getattr(dataset, "skipped", []) or []],
        "timing": timing,
        "versions": {"python": sys.version.split()[0], "numpy": numpy.__version__,
                     "scikit-learn": sklearn.__version__},
    }
