"""The impersonation test's protocol: which people enroll, with what, against whom.

The harness is four parts with one hand-off each: ``protocol`` (this module: the
configuration and the per-identity job specs, with ``draws`` for folds, reference draws and
sessions), ``runner`` (enroll through the product's pipeline, score every
attempt -> score rows, the columns of scores.csv), ``evaluation`` (score table -> results)
and ``report`` (results.json, plots, HTML). ``authapp.harness.experiment.run_experiment`` chains
them; ``authapp evaluate scores.csv`` re-runs the last two from a score file alone.
The data set it reads comes from ``authapp.harness.data`` (loaded once per process, keyed by
the folder's fingerprint) and the words results.json says about it from
``authapp.harness.run_description``.

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
- **Enrollment** goes through ``models.enrollment`` exactly as ``authapp enroll`` does
  (quality check, pseudo data, model). By default (``calibration="dev"``) models are the
  product's calibrated ones: the cohort of a user in fold f is the first K samples of every
  other-fold identity, and fold f's calibration is learned on the other folds' accounts
  (``authapp.harness.calibration_pass``).
- **Scores.** Every attempt of a user is scored in one call; the decision value is score
  minus the account's own threshold (accept when >= 0), so FAR/FRR are at the thresholds the
  product uses, and pooled EER/AUC/DET curves apply one global offset on top of them.

Everything random is seeded per (seed, identity), so results do not depend on ``jobs`` or on
the order identities are processed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from authapp.harness.data import (
    ExperimentError,
    dataset_fingerprint,
    load,
)
from authapp.harness.draws import (
    assign_folds,
    auto_folds,
    resolve_split,
    session_groups,
)

ATTEMPT_TYPES = ("genuine", "random", "skilled")


IMPOSTOR_TYPES = ("random", "skilled")


PSEUDO_MODES = ("off", "on", "both")


CALIBRATIONS = ("dev", "shipped", "none")


SPLITS = ("auto", "sessions", "random", "svc2004")
"""How references and attempts are drawn (``draw_trial``); "auto" is "sessions" for data sets
whose recordings carry sessions (SVC2004) and "random" for single-session ones."""

SESSION_TAGS = ("same", "later")
"""A genuine attempt's sitting relative to the enrollment: the enrollment's own session, or a
later one (days later: the FRR a returning user meets)."""


DEFAULT_METHODS = ("dtw", "subspace", "svm", "ss-svm", "fusion")
NOT_A_METHOD = ("calibrated",)
"""Registered verifiers that ``--methods`` does not take: ``calibrated`` is what every method
becomes under a calibration (the product's thresholds), not a method of its own."""


DEFAULT_GENERATORS = ("pseudo", "vae", "gan")
BOOTSTRAP_RESAMPLES = 1000
"""Resamples of the enrolled identities behind every EER interval (seed 0: reproducible)."""


def uses_background(method: str) -> bool:
    """Does ``method``'s verifier learn from other people (``Verifier.uses_background``)?"""
    from models.registry import verifier_class

    return verifier_class(method).uses_background


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
    split: str = "auto"  # SPLITS: how references, genuine attempts and random impostors are drawn
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
    forgery_far: float = 1.0
    """Calibrated models: share of pseudo-forgeries an account may accept (1: no guard)."""
    shipped_background: str = "off"
    """SHIPPED_BACKGROUND: "off" (default): the package's background people
    (``models.background``) play no part; "on": they join every calibrated account's cohort
    while it holds fewer than ``MIN_STORE_PEOPLE`` people, as in a young store; "left-out":
    nothing is added. With "on" and "left-out" the data set's own identities that are among
    the shipped people are left out of the run (never both a tested impostor and a cohort
    member), so the two measure the background's effect on the same people."""
    background_negatives: bool = True
    """With ``calibration="none"``: verifiers that learn from other people get the other
    folds as training negatives (the configuration earlier versions reported)."""
    adaptation: bool = True
    """Calibrated models: replay the genuine attempts in recorded order with the product's
    template adaptation (``adaptive.replay_adaptive``), as the product decides; False: every
    attempt against the enrollment model alone."""
    adapt_margin: float | None = None
    max_adapted: int | None = None
    """Adaptation policy (None: the product's defaults, ``models.adaptation``)."""

    def adaptation_policy(self) -> Any:
        """The ``AdaptationPolicy`` the product would apply with these settings."""
        from models.adaptation import AdaptationPolicy

        kw: dict[str, Any] = {"enabled": self.adaptation}
        if self.adapt_margin is not None:
            kw["margin"] = self.adapt_margin
        if self.max_adapted is not None:
            kw["max_adapted"] = self.max_adapted
        return AdaptationPolicy(**kw)

    @property
    def calibrated(self) -> bool:
        return self.calibration != "none"

    def settings_for(self, method: str, generator: str | None, seed: int) -> Any:
        """The ``EnrollmentSettings`` the product would use for this variant."""
        from models.enrollment import EnrollmentSettings

        return EnrollmentSettings(
            verifier=method, verifier_params=dict(self.method_params.get(method, {})),
            calibrated=self.calibrated, security=self.security, guard_far=self.guard_far,
            forgery_far=self.forgery_far,
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
    calibrations: Mapping[str, Mapping[int, Mapping[str, Any]]] = field(default_factory=dict)
    """Second (adaptive) pass: {variant: {fold: calibration dict}} from the first pass."""


def _check_methods(cfg: ExperimentConfig) -> None:
    from models.registry import VERIFIERS, UnknownVerifierError, verifier_class

    if not cfg.methods:
        raise ExperimentError("no methods to evaluate")
    known = [n for n in sorted(VERIFIERS) if n not in NOT_A_METHOD]
    for m in cfg.methods:
        if m not in known:
            raise ExperimentError(f"unknown method {m!r}; known: {', '.join(known)}")
        try:
            verifier_class(m)
        except UnknownVerifierError as exc:
            raise ExperimentError(str(exc)) from None


@dataclass
class Plan:
    """What a run will do: the data set, who can enroll, the folds, one job per identity."""

    config: ExperimentConfig  # with ``folds`` resolved
    dataset: Any
    fingerprint: str
    eligible: list[str]
    skipped: list[dict[str, Any]]
    fold_of: dict[str, int]
    folds_auto: bool
    background_for: dict[str, bool]
    jobs: list[IdentityJob] = field(default_factory=list)


def check_config(cfg: ExperimentConfig) -> None:
    """Clear errors for options that cannot work, before any data is read."""
    from models.score_calibration import SECURITY_LEVELS

    if cfg.shipped_background not in SHIPPED_BACKGROUND:
        raise ExperimentError(f"shipped_background must be one of {SHIPPED_BACKGROUND}, got "
                              f"{cfg.shipped_background!r}")

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
    if cfg.security not in SECURITY_LEVELS:
        raise ExperimentError(f"--security must be one of {', '.join(SECURITY_LEVELS)}")
    if cfg.split not in SPLITS:
        raise ExperimentError(f"--split must be one of {', '.join(SPLITS)}, got {cfg.split!r}")
    _check_methods(cfg)


SHIPPED_BACKGROUND = ("off", "on", "left-out")


def shipped_people(data_set: str) -> set[str]:
    """Identities of data set ``data_set`` (a folder name) among the shipped background."""
    from models.background import shipped_background

    out = set()
    for dims in (2, 3):
        for r in shipped_background(dims):
            ds, _, ident = str(r.meta.extra.get("background", "")).rpartition("/")
            if ds == data_set:
                out.add(ident)
    return out


def plan_experiment(cfg: ExperimentConfig) -> Plan:
    """Check ``cfg``, load the data set, choose who enrolls and the folds, make the jobs
    (the generators of each job are filled in by the runner)."""
    check_config(cfg)
    fingerprint = dataset_fingerprint(Path(cfg.data_dir)) if Path(cfg.data_dir).is_dir() else ""
    dataset = load(cfg.data_dir, cfg.format, fingerprint)
    identities = list(dataset.identities)
    if cfg.shipped_background != "off":
        shipped = shipped_people(Path(cfg.data_dir).name)
        identities = [i for i in identities if i not in shipped]
    if not identities:
        raise ExperimentError(f"no recordings found in {cfg.data_dir}")
    cfg = replace(cfg, split=resolve_split(cfg.split, dataset))
    if cfg.split == "sessions":
        need = cfg.references + 1
        why = f"{cfg.references} references from the earliest session + 1 attempt"
        eligible, skipped = [], []
        for ident in identities:
            n = len(session_groups(dataset.genuine(ident))[0])
            total = len(dataset.genuine(ident))
            if n >= cfg.references and total >= need:
                eligible.append(ident)
            else:
                skipped.append({"identity": ident, "genuine_samples": total,
                                "reason": f"{n} sample(s) in the earliest session, {total} in "
                                          f"all; {need} needed ({why})"})
    elif cfg.split == "random":
        need, why = cfg.references + 1, f"{cfg.references} references + 1 attempt"
    else:  # the references come from the first half of the genuine samples
        need, why = 2 * cfg.references, (f"--split svc2004: {cfg.references} references from "
                                         "the first half")
    if cfg.split != "sessions":
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
    jobs = [IdentityJob(
        identity=ident,
        impostor_ids=tuple(o for o in identities if o != ident and fold_of[o] == fold_of[ident]),
        background_ids=tuple(o for o in identities if fold_of[o] != fold_of[ident]),
        config=cfg, fingerprint=fingerprint, background_for=background_for,
        generators={}, fold=fold_of[ident],
    ) for ident in eligible]
    return Plan(cfg, dataset, fingerprint, eligible, skipped, fold_of, folds_auto,
                background_for, jobs)
