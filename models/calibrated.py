"""The product's verifier: member verifiers + a writer-independent calibration + a cohort guard.

Members (DTW, subspace, SVMs; each already normalises its score by the user's own
leave-one-out spread) are fitted on the user's samples only, so the same member scores mean
the same thing whoever enrolled and however many other people the store holds. A
``ScoreCalibration`` learned on a development population maps the member scores to one
calibrated score and gives the threshold of the chosen security level
(``models.score_calibration``).

The **cohort guard** uses other people's recordings (the store's other users; in the harness
the other fold) the way the field uses a cohort: they are scored against the new model, and
the user's threshold is raised until at most ``guard_far`` of them would be accepted. The
guard can only make a threshold stricter, never looser, so it bounds how many strangers an
unusually lenient account ("lamb") lets in without moving the threshold toward skilled
forgers -- which is what using other people as training negatives did (the fusion with
background accepted three imitators in four).

The optional **forgery guard** does the same against imitators, with pseudo-forgeries
(``models.pseudo``'s mask-and-inpaint generators: the user's own samples with a segment
regenerated from other people's writing, given as tagged ``impostors``): the threshold is
raised until at most ``forgery_far`` of them would be accepted. Off by default (1.0): on
SVC2004 it did not lower the skilled-forgery error (README, "Pseudo-forgeries").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from capture.trajectory import Trajectory
from models import calibration as loo_calibration
from models.base import NotFittedError, ParameterError
from models.ensemble import EnsembleVerifier, Members, ScoreTerm
from models.fixed_features import check_dims
from models.level_thresholds import identification_threshold
from models.score_calibration import (
    DEFAULT_LEVEL,
    CalibrationError,
    ScoreCalibration,
    check_level,
    cohort_usable,
)

DEFAULT_GUARD_FAR = 0.01
"""Largest share of the cohort an account may accept (with fewer than 100 cohort
recordings: none of them)."""


def cohort_guard(cohort_scores: np.ndarray, guard_far: float) -> float:
    """Lowest threshold at which at most ``guard_far`` of the cohort is accepted (-inf
    without a cohort or with ``guard_far`` 1, so that it never binds)."""
    s = np.asarray(cohort_scores, dtype=np.float64)
    if s.size == 0 or guard_far >= 1.0:
        return float("-inf")
    return loo_calibration.threshold_for_far(s, guard_far)


def decision_threshold(cal: ScoreCalibration, level: str, cohort_raw: np.ndarray,
                       guard_far: float, forgery_raw: np.ndarray | None = None,
                       forgery_far: float = 1.0) -> tuple[float, float, float]:
    """(threshold, level threshold, guard threshold) of one account; the guard threshold is
    the stricter of the cohort guard and the forgery guard.

    The one rule both the product and the experiment harness apply: the harness computes it
    from stored member scores, the verifier from its own fit, so they cannot drift apart.
    """
    level_thr = cal.threshold(level)
    cohort = np.asarray(cohort_raw, dtype=np.float64).reshape(-1, len(cal.members))
    guard = (cohort_guard(cal.transform(cohort, cohort), guard_far) if len(cohort)
             else float("-inf"))
    if forgery_raw is not None and len(forgery_raw) and forgery_far < 1.0:
        forged = np.asarray(forgery_raw, dtype=np.float64).reshape(-1, len(cal.members))
        guard = max(guard, cohort_guard(cal.transform(forged, cohort), forgery_far))
    return max(level_thr, guard), level_thr, guard


class CalibratedVerifier(EnsembleVerifier):
    """Member verifiers whose scores a writer-independent calibration combines.

    Parameters
    ----------
    members: ``(name, verifier)`` pairs (``models.ensemble``; None = ``FUSION_MEMBERS`` with
        default parameters), fitted on the user's samples only; in JSON (``from_config``)
        registry names + ``member_params``.
    calibration: a ``ScoreCalibration.to_dict()`` made for these members and this kind of
        data; None fits the members only (``raw_scores`` works, scoring needs
        ``calibrate``), which is how the harness learns calibrations from many fits.
    security: security level (``models.score_calibration.SECURITY_LEVELS``).
    guard_far: largest share of the cohort (other people given as ``impostors``) the
        account may accept; 1 turns the guard off.
    forgery_far: largest share of the pseudo-forgeries (generated samples tagged
        ``pseudo=impostor`` among ``impostors``) the account may accept; 1 (default) off.
    """

    name = "calibrated"
    uses_background: ClassVar[bool] = True  # the cohort: never training negatives

    def __init__(self, members: Members | None = None,
                 calibration: Mapping[str, Any] | None = None, security: str = DEFAULT_LEVEL,
                 guard_far: float = DEFAULT_GUARD_FAR, forgery_far: float = 1.0) -> None:
        self.members = members
        self.calibration = calibration
        self.security = security
        self.guard_far = guard_far
        self.forgery_far = forgery_far

    def _check_params(self) -> None:
        self._check_members()
        check_level(self.security)
        if not 0.0 <= self.guard_far <= 1.0:
            raise ParameterError(f"guard_far must be in [0, 1], got {self.guard_far}")
        if not 0.0 <= self.forgery_far <= 1.0:
            raise ParameterError(f"forgery_far must be in [0, 1], got {self.forgery_far}")

    # -- fitting ----------------------------------------------------------------------------
    def _fit(self, genuine: list[Trajectory], impostors: list[Trajectory]) -> None:
        self.dims_ = genuine[0].dims
        self.members_ = [m.fit(genuine) for m in self.fresh_members()]
        cohort = [t for t in impostors
                  if loo_calibration.pseudo_kind(t) is None and t.dims == self.dims_]
        self.cohort_raw_ = (self.raw_scores(cohort) if cohort
                            else np.zeros((0, len(self.members_))))
        self.cohort_people_ = len({t.meta.user for t in cohort})
        forged = [t for t in impostors
                  if loo_calibration.pseudo_kind(t) == "impostor" and t.dims == self.dims_]
        self.forgery_raw_ = (self.raw_scores(forged) if forged
                             else np.zeros((0, len(self.members_))))
        if self.calibration is not None:
            self._apply_calibration()

    def calibrate(self, calibration: ScoreCalibration | Mapping[str, Any],
                  security: str | None = None) -> CalibratedVerifier:
        """Set (or replace) the calibration and level of a fitted model; no refit needed."""
        if not hasattr(self, "members_"):
            raise NotFittedError("CalibratedVerifier is not fitted: call fit() first")
        self.calibration = (calibration.to_dict() if isinstance(calibration, ScoreCalibration)
                            else dict(calibration))
        if security is not None:
            self.security = security
        self.check_params()
        self._apply_calibration()
        return self

    def _apply_calibration(self) -> None:
        cal = ScoreCalibration.from_dict(self.calibration)
        names, params = self.member_config()
        if not cal.matches(names, params, self.dims_):
            raise CalibrationError(
                f"the calibration was made for members {list(cal.members)} on {cal.dims}-D "
                f"data, not for {names} on {self.dims_}-D data")
        if cal.cohort and not cohort_usable(len(self.cohort_raw_), self.cohort_people_):
            raise CalibrationError(
                f"the calibration needs a cohort; this model has {len(self.cohort_raw_)} "
                f"recordings of {self.cohort_people_} other people")
        self.calibration_ = cal
        self.threshold_, self.level_threshold_, self.guard_threshold_ = decision_threshold(
            cal, self.security, self.cohort_raw_, self.guard_far, self.forgery_raw_,
            self.forgery_far)

    def identification_offset(self, n_enrolled: int) -> float:
        """How much higher than a login's the margin must be for a 1:N search among
        ``n_enrolled`` accounts to name this account (``identification_threshold``: the
        level's random FAR holds for the whole search, not for each comparison)."""
        self._check_fitted()
        level = self.security
        return (identification_threshold(self.calibration_, level, n_enrolled)
                - self.calibration_.threshold(level))

    # -- scoring ----------------------------------------------------------------------------
    def raw_scores(self, trajectories: Sequence[Trajectory]) -> np.ndarray:
        """(n, members) matrix of the members' own scores (before calibration)."""
        if not hasattr(self, "members_"):
            raise NotFittedError("CalibratedVerifier is not fitted: call fit() first")
        items = list(trajectories)
        check_dims(items, self.dims_)
        return np.column_stack([m.score_samples(items) for m in self.members_])

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise NotFittedError("CalibratedVerifier is not fitted: call fit() first")
        if not hasattr(self, "calibration_"):
            raise NotFittedError("CalibratedVerifier has no calibration: call calibrate()")

    def _score(self, trajectories: list[Trajectory]) -> np.ndarray:
        return self.calibration_.transform(self.raw_scores(trajectories), self.cohort_raw_)

    def member_scores(self, trajectories: Sequence[Trajectory]) -> dict[str, np.ndarray]:
        """Each member's own score (higher = more genuine), for reports and the GUI."""
        raw = self.raw_scores(trajectories)
        return {n: raw[:, k] for k, n in enumerate(self.member_names())}

    def score_terms(self, trajectories: Sequence[Trajectory]) -> list[ScoreTerm]:
        """The calibrated score as a sum: each member's (clipped) own score times its
        calibration weight, the cohort feature's, and the constant (``ScoreTerm``)."""
        self._check_fitted()
        cal = self.calibration_
        x = cal.features(self.raw_scores(trajectories), self.cohort_raw_)
        names = self.member_names() + ([f"{self.member_names()[0]} vs cohort"]
                                       if x.shape[1] > len(self.member_names()) else [])
        terms = [ScoreTerm(n, x[:, k], float(cal.coef[k])) for k, n in enumerate(names)]
        return terms + [ScoreTerm("constant", np.full(len(x), float(cal.intercept)))]

    # -- state ------------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        entries, arrays = self.member_states()
        params: dict[str, Any] = {"params": self.to_config(), "dims": self.dims_,
                                  "cohort_people": self.cohort_people_, "members": entries}
        arrays["cohort_raw"] = self.cohort_raw_
        arrays["forgery_raw"] = self.forgery_raw_
        return params, arrays

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]
                   ) -> CalibratedVerifier:
        v = cls._from_member_state(params, arrays)
        v.cohort_raw_ = np.asarray(arrays["cohort_raw"], dtype=np.float64)
        v.cohort_people_ = int(params["cohort_people"])
        v.forgery_raw_ = np.asarray(  # absent from models saved before the forgery guard
            arrays.get("forgery_raw", np.zeros((0, len(v.members_)))), dtype=np.float64)
        for raw in (v.cohort_raw_, v.forgery_raw_):
            if raw.ndim != 2 or raw.shape[1] != len(v.members_):
                raise ValueError("stored cohort scores do not match the member count")
        if v.calibration is None:
            raise ValueError("stored calibrated model has no calibration")
        v._apply_calibration()
        return v
