"""The one enrollment pipeline: how a user's model is built, for the product and the harness.

``authapp enroll`` (``AuthService.enroll``) and ``authapp experiment`` both call
``build_user_model`` with an ``EnrollmentSettings``, so what the experiment measures is what
the product ships. Steps:

1. **Quality check** (``models.quality``): a sample inconsistent with the others (much larger,
   slower, another shape) is left out with its reason -- one atypical sample must not loosen
   the account -- and the enrollment is refused when fewer than ``min_samples`` remain.
2. **Pseudo data** (optional): a generator fitted on other people expands the kept samples.
3. **Model**: by default a ``CalibratedVerifier`` (members fitted on the user's samples only,
   a writer-independent calibration and security level, a cohort guard from other people);
   ``calibrated=False`` gives the verifier's own per-user threshold instead (a research
   configuration, not what the product ships).

Nothing here touches a store or a file: ``authapp`` decides where models and data live.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from capture.trajectory import Trajectory
from core.errors import AirAuthError
from models.base import Verifier, check_trajectories
from models.calibrated import DEFAULT_GUARD_FAR, CalibratedVerifier
from models.ensemble import FUSION_MEMBERS, EnsembleVerifier
from models.quality import QualityConfig, QualityReport, check_enrollment
from models.registry import VERIFIERS
from models.score_calibration import (
    DEFAULT_LEVEL,
    CalibrationSet,
    ScoreCalibration,
    check_level,
    cohort_usable,
)

PRODUCT_VERIFIERS = ("fusion", "dtw", "subspace", "svm", "ss-svm")
"""Verifier kinds a user can enroll with; "fusion" combines every single one."""

RECOMMENDED_VERIFIERS = ("fusion", "dtw")
"""The kinds whose calibrated thresholds keep FRR low on their own (README, "Every verifier":
subspace, svm and ss-svm alone reject many genuine attempts); the others are offered for
experiments and as fusion members."""


def verifier_advice(settings: EnrollmentSettings) -> list[str]:
    """A note for the person enrolling when the chosen kind is not one to rely on alone."""
    if not settings.calibrated or settings.verifier in RECOMMENDED_VERIFIERS:
        return []
    note = (f"verifier {settings.verifier!r} alone is meant for experiments: at the product's "
            "calibrated thresholds it rejects many genuine attempts; enroll with "
            f"{' or '.join(RECOMMENDED_VERIFIERS)} (the default is fusion)")
    return [note]


class EnrollmentQualityError(AirAuthError, ValueError):
    """Too few usable samples remain after the quality check; ``report`` says which and why."""

    def __init__(self, report: QualityReport | None, extra: Sequence[str] = ()) -> None:
        msgs = [] if report is None else report.messages_rejecting()
        msgs += list(extra)
        super().__init__("enrollment rejected: " + "; ".join(msgs))
        self.report = report
        self.extra = list(extra)


@dataclass(frozen=True)
class EnrollmentSettings:
    """Everything that decides how a user's model is built (see the module docstring).

    ``verifier``: one of ``PRODUCT_VERIFIERS``; ``verifier_params``: for a single verifier its
    constructor parameters, for "fusion" {member: params}. ``security``: the level whose
    threshold the calibration gives. ``guard_far``: share of the cohort an account may accept;
    ``forgery_far``: share of the pseudo-forgeries (with a mask-and-inpaint ``pseudo``
    generator) it may accept (1: no forgery guard).
    ``background_negatives``: uncalibrated only -- other people as training negatives (the
    old harness configuration). ``min_samples``: samples that must survive the quality check.
    """

    verifier: str = "fusion"
    verifier_params: Mapping[str, Any] = field(default_factory=dict)
    calibrated: bool = True
    security: str = DEFAULT_LEVEL
    guard_far: float = DEFAULT_GUARD_FAR
    forgery_far: float = 1.0
    background_negatives: bool = False
    pseudo: str | None = None
    check_quality: bool = True
    quality: QualityConfig = field(default_factory=QualityConfig)
    min_samples: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        check_level(self.security)
        if self.min_samples < 2:
            raise AirAuthError("min_samples must be at least 2")

    def with_random_state(self, random_state: int) -> EnrollmentSettings:
        """These settings with ``random_state`` given to every verifier (or calibrated /
        fused member) that draws random numbers, unless its params already name one: how
        the harness's per-(seed, identity) seed reaches them before they are fitted.
        Deterministic verifiers have no such parameter and are left as they are."""
        def seeded(params: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
            out = {k: dict(v or {}) for k, v in params.items()}
            for name in names:
                if "random_state" in VERIFIERS.cls(name)._get_param_names():
                    out.setdefault(name, {}).setdefault("random_state", random_state)
            return out

        if self.verifier == "fusion" and self.calibrated:  # {member: params}
            own = seeded(self.verifier_params, FUSION_MEMBERS)
        else:
            own = seeded({self.verifier: self.verifier_params}, [self.verifier])[self.verifier]
            if issubclass(VERIFIERS.cls(self.verifier), EnsembleVerifier):  # its members
                given = seeded(own.get("member_params") or {},
                               own.get("members") or FUSION_MEMBERS)
                if given:
                    own["member_params"] = given
        return replace(self, verifier_params=own)

    def members(self) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
        """(member names, {member: params}) of the calibrated model for ``verifier``:
        "fusion" is every single verifier of the product; any other registered verifier is
        calibrated on its own (``CalibratedVerifier`` checks the names)."""
        if self.verifier == "fusion":
            return FUSION_MEMBERS, {k: dict(v) for k, v in self.verifier_params.items()}
        params = dict(self.verifier_params)
        return (self.verifier,), ({self.verifier: params} if params else {})


@dataclass
class UserModel:
    """A fitted model and what the pipeline did to get it."""

    verifier: Verifier
    quality: QualityReport | None
    kept: list[int]
    left_out: list[tuple[int, str]]
    pseudo_genuine: list[Trajectory]
    pseudo_impostors: list[Trajectory]
    n_cohort: int

    def notes(self) -> list[str]:
        """What the person enrolling should know (left-out samples first)."""
        out = [f"left out of the model: {why}"
               for i, why in self.left_out]
        if self.quality is not None:
            kept = set(self.kept)
            out += [n for s in self.quality.samples if s.index in kept for n in s.notes]
        return out + lamb_notes(self.verifier)


def lamb_notes(verifier: Verifier) -> list[str]:
    """Why the cohort guard raised this account's threshold, if it did.

    The guard binds only when, at the security level's own threshold, the account would
    accept more than its share (1 %) of other people's recordings -- at least ten times what
    the level promises: samples that look like other people's writing. The threshold is
    raised, so strangers stay out, but the owner will be rejected more often; better samples
    are the real fix.
    """
    guard = getattr(verifier, "guard_threshold_", None)
    level = getattr(verifier, "level_threshold_", None)
    cohort = getattr(verifier, "cohort_raw_", None)
    if guard is None or level is None or cohort is None or not len(cohort) or guard <= level:
        return []
    scores = verifier.calibration_.transform(cohort, cohort)
    accepted = int(np.sum(scores >= level))
    return [(f"these samples look like other people's writing: at the security level's "
            f"threshold this account would accept {accepted} of {len(scores)} recordings of "
            f"{verifier.cohort_people_} other people, so its threshold was raised (you may be "
            "rejected more often); enroll again with samples that are more your own: a longer "
            "or more personal gesture, written the same way each time")]


def select_samples(recordings: Sequence[Trajectory], settings: EnrollmentSettings
                   ) -> tuple[QualityReport | None, list[int], list[tuple[int, str]]]:
    """(quality report, kept indices, [(left-out index, reason)]) or ``EnrollmentQualityError``.

    Samples the check rejects are left out; the set is refused when fewer than
    ``min_samples`` remain (or the set itself is unusable, e.g. mixed devices).
    """
    recs = check_trajectories(recordings, "enrollment samples", min_count=0)
    if not settings.check_quality:
        if len(recs) < settings.min_samples:
            raise EnrollmentQualityError(None, [(f"too few samples: {len(recs)} given, at "
                                               f"least {settings.min_samples} needed")])
        return None, list(range(len(recs))), []
    cfg = settings.quality
    report = check_enrollment(recs, cfg)
    left_out = [(s.index, "; ".join(s.reasons)) for s in report.samples if s.reasons]
    kept = [s.index for s in report.samples if not s.reasons]
    if len(kept) < settings.min_samples or report.problems:
        extra = [] if report.problems else [
            (f"only {len(kept)} usable sample(s) of {len(recs)}, at least {settings.min_samples}"
            " needed: record the rejected ones again")]
        raise EnrollmentQualityError(report, extra)
    return report, kept, left_out


def choose_calibration(calibrations: CalibrationSet | ScoreCalibration | None,
                       settings: EnrollmentSettings, dims: int,
                       others: Sequence[Trajectory]) -> ScoreCalibration | None:
    """The calibration for this enrollment: from a set, the one made for these members,
    this kind of data and whether the cohort is big enough for the cohort feature."""
    if calibrations is None or isinstance(calibrations, ScoreCalibration):
        return calibrations
    members, params = settings.members()
    people = len({t.meta.user for t in others})
    return calibrations.find(members, params, dims, cohort_usable(len(others), people))


def make_verifier_for(settings: EnrollmentSettings,
                      calibration: ScoreCalibration | None) -> Verifier:
    """The unfitted model ``settings`` ask for (calibrated or the verifier's own)."""
    if settings.calibrated:
        members, params = settings.members()
        return CalibratedVerifier.from_config({
            "members": list(members), "member_params": params or None,
            "calibration": None if calibration is None else calibration.to_dict(),
            "security": settings.security, "guard_far": settings.guard_far,
            "forgery_far": settings.forgery_far})
    return VERIFIERS.make(settings.verifier, **dict(settings.verifier_params))


def fit_user_model(refs: Sequence[Trajectory], settings: EnrollmentSettings, *,
                   calibration: ScoreCalibration | None = None,
                   others: Sequence[Trajectory] = (),
                   pseudo: tuple[Sequence[Trajectory], Sequence[Trajectory]] = ((), ()),
                   ) -> tuple[Verifier, int]:
    """(fitted model, cohort size) from the kept samples and (pseudo-genuine,
    pseudo-impostor) data; see ``build_user_model``."""
    verifier = make_verifier_for(settings, calibration)
    dims = refs[0].dims
    others = [t for t in others if t.dims == dims]
    negatives = list(pseudo[1])
    uses_others = settings.calibrated or (
        settings.background_negatives and verifier.uses_background)
    if uses_others:
        negatives += others
    verifier.fit(list(refs) + list(pseudo[0]), impostors=negatives or None)
    return verifier, len(others) if uses_others else 0


def build_user_model(recordings: Sequence[Trajectory], settings: EnrollmentSettings, *,
                     calibrations: CalibrationSet | ScoreCalibration | None = None,
                     others: Sequence[Trajectory] = (), generator: Any = None) -> UserModel:
    """Quality check, pseudo data, fit: the user's model (see the module docstring).

    ``others``: other people's recordings (the store's other users, the harness's other
    fold): the calibrated model's cohort, or training negatives with
    ``background_negatives``. ``generator``: a fitted pseudo-data generator (None: none);
    it generates with ``settings.seed`` as its ``random_state``.
    ``calibrations``: a set to choose from (``choose_calibration``), one calibration, or
    None (a calibrated model is then fitted without one: ``calibrate`` it later).
    """
    report, kept, left_out = select_samples(recordings, settings)
    refs = [recordings[i] for i in kept]
    pseudo: tuple[list[Trajectory], list[Trajectory]] = ([], [])
    if generator is not None:
        data = generator.with_random_state(settings.seed).generate(refs)
        pseudo = (list(data.genuine), list(data.impostors))
    others = [t for t in others if t.dims == refs[0].dims]
    cal = (choose_calibration(calibrations, settings, refs[0].dims, others)
           if settings.calibrated else None)
    verifier, n_cohort = fit_user_model(refs, settings, calibration=cal, others=others,
                                        pseudo=pseudo)
    return UserModel(verifier, report, kept, left_out, pseudo[0], pseudo[1], n_cohort)
