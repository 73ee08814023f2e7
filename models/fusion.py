"""Score fusion: DTW + subspace + SVM (+ SS-SVM), normalised per user, one threshold per user.

Each member verifier is fitted on the user's enrollment data; its scores are z-normalised
per user and the normalised scores are combined, so that members with different scales and
different users with different variability become comparable:

* **With impostor examples** (pseudo-impostors and/or a background set of other people,
  at least ``min_impostors``): the impostors are split in two halves.  The members learn from
  one half; their scores on the other, unseen half give each member's impostor mean and
  spread (classic Z-norm: impostor scores ~ N(0, 1) for every user), and the same held-out
  impostors set the user's threshold for ``target_far``.  Members that ignore impostors
  (DTW, subspace) simply see none of them as training data.
* **Without**: each real enrollment sample is left out in turn, the members are refitted on
  the rest and score it; the mean and spread of those leave-one-out genuine scores
  normalise each member (genuine ~ N(0, 1)), and the threshold is ``genuine_z`` spreads below
  the genuine mean (a target false-accept rate cannot be estimated without impostors).

Combination: a weighted sum of the normalised scores (``weights``, default
``DEFAULT_WEIGHTS``: DTW counts six times, the others once), or a
logistic regression on leave-one-out genuine vs held-out impostor scores
(``combine="logistic"``, only with impostors; costs a refit per enrollment sample).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from capture.trajectory import Trajectory
from models import calibration
from models.base import ParameterError, Verifier
from models.ensemble import EnsembleVerifier, Members, ScoreTerm

DEFAULT_WEIGHTS: Mapping[str, float] = {"dtw": 6.0}
"""Weights used when ``weights`` is None (missing names weigh 1).

DTW with its duration term is the only member that separates skilled forgers well, and the
one whose per-user normalisation transfers to other people; weighting it up helped on every
set, pen and in-air (the measurements are in the README).
"""
COMBINE = ("sum", "logistic")
NORMS = ("impostor", "genuine", "gap", "none")
MEMBER_NORMS = NORMS + ("own",)
"""Per-member overrides (``member_norms``); "own" keeps the member's own per-user scale."""
THRESHOLD_RULES = ("fixed", "far")


def split_impostors(impostors: list[Trajectory]) -> tuple[list[Trajectory], list[Trajectory]]:
    """Two halves split by person, so no one is in both (generated samples alternate)."""
    people = sorted({t.meta.user for t in impostors if calibration.pseudo_kind(t) is None})
    calib_people = set(people[1::2])
    train, calib = [], []
    k = 0
    for t in impostors:
        if calibration.pseudo_kind(t) is None:
            (calib if t.meta.user in calib_people else train).append(t)
        else:
            (calib if k % 2 else train).append(t)
            k += 1
    if not calib or not train:  # one person only: alternate samples
        return impostors[0::2], impostors[1::2]
    return train, calib


def _column_stats(raw: np.ndarray) -> np.ndarray:
    """(members, 2) rows of (mean, std) per column."""
    return np.array([calibration.mean_std(raw[:, k]) for k in range(raw.shape[1])])


def normalizer(norm: str, g_stats: np.ndarray, i_stats: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per-member (offset, scale) from genuine / impostor (mean, std) rows.

    "impostor": Z-norm, impostors ~ N(0, 1); "genuine": genuine ~ N(0, 1); "gap": impostor
    mean -> 0 and genuine mean -> 1, so the scale is the member's own separation (but never
    below the genuine or impostor spread: a member that does not separate this user's samples
    must not blow its scores up).
    """
    if norm == "none":
        return np.zeros(len(g_stats)), np.ones(len(g_stats))
    if norm == "impostor":
        return i_stats[:, 0], i_stats[:, 1]
    if norm == "genuine":
        return g_stats[:, 0], g_stats[:, 1]
    # The gap is floored at the larger of the two spreads: with 5 enrollment samples a member
    # can show a tiny or even negative gap for one user (LOO genuine mean at the impostor
    # mean), and dividing by ~0 made that user's every score +-1e5, which alone ruined the
    # pooled low-FAR operating points (Leap: FRR at FAR 0.1 % was 99.75 %).
    floor = np.maximum(np.maximum(g_stats[:, 1], i_stats[:, 1]), calibration.MIN_SPREAD)
    gap = np.maximum(g_stats[:, 0] - i_stats[:, 0], floor)
    return i_stats[:, 0], gap


class FusionVerifier(EnsembleVerifier):
    """Per-user normalised combination of several registered verifiers.

    Parameters
    ----------
    members: ``(name, verifier)`` pairs (``models.ensemble``; None = ``FUSION_MEMBERS`` with
        default parameters); in JSON (``from_config``) registry names + ``member_params``.
    combine: "sum" (weighted sum of normalised scores) or "logistic" (per-user logistic
        regression; falls back to "sum" when there are no impostors).
    weights: {name: weight} for "sum" (missing names weigh 1; None = ``DEFAULT_WEIGHTS``).
    target_far: false-accept rate the per-user threshold aims at (with impostors).
    genuine_z: without impostors, accept scores above (genuine mean - genuine_z spreads).
    min_impostors: fewer impostors than this are treated as none.
    member_norms: {name: norm} overriding ``norm`` for single members.  "own" keeps a
        member's own per-user normalisation and only moves its threshold to 0.5 (the "gap"
        units' boundary): for DTW, whose score is already divided by the user's spread, this
        stops the random-impostor gap from setting its scale.  It helped against skilled
        forgers on pen data but hurt against random impostors in the air, where the gap
        scale is what helps, so the default stays "gap" for every member.
    """

    name = "fusion"
    uses_background: ClassVar[bool] = True

    def __init__(self, members: Members | None = None, combine: str = "sum",
                 weights: Mapping[str, float] | None = None,
                 norm: str = "gap", threshold_rule: str = "fixed", threshold: float = 0.5,
                 target_far: float = 0.01, genuine_z: float = 3.0,
                 min_impostors: int = 10,
                 member_norms: Mapping[str, str] | None = None) -> None:
        self.members = members
        self.combine = combine
        self.weights = weights
        self.norm = norm
        self.threshold_rule = threshold_rule
        self.threshold = threshold
        self.target_far = target_far
        self.genuine_z = genuine_z
        self.min_impostors = min_impostors
        self.member_norms = member_norms

    # -- helpers ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        self._check_members()
        names = self.member_names()
        if self.combine not in COMBINE:
            raise ParameterError(f"combine must be one of {COMBINE}, got {self.combine!r}")
        if self.norm not in NORMS:
            raise ParameterError(f"norm must be one of {NORMS}, got {self.norm!r}")
        for n, own in (self.member_norms or {}).items():
            if n not in names:
                raise ParameterError(f"member_norms names {n!r}, which is not a member")
            if own not in MEMBER_NORMS:
                raise ParameterError(f"member norm must be one of {MEMBER_NORMS}, got {own!r}")
        if self.threshold_rule not in THRESHOLD_RULES:
            raise ParameterError(f"threshold_rule must be one of {THRESHOLD_RULES}")
        if not 0.0 <= self.target_far < 1.0:
            raise ParameterError(f"target_far must be in [0, 1), got {self.target_far}")

    def _weight_vector(self) -> np.ndarray:
        w = dict(DEFAULT_WEIGHTS if self.weights is None else self.weights)
        return np.array([float(w.get(n, 1.0)) for n in self.member_names()])

    def _raw(self, trajs: list[Trajectory], fitted: list[Verifier] | None = None) -> np.ndarray:
        """(n, members) matrix of the members' own scores."""
        fitted = self.members_ if fitted is None else fitted
        return np.column_stack([m.score_samples(trajs) for m in fitted])

    def _combined(self, raw: np.ndarray) -> np.ndarray:
        z = (raw - self.mu_) / self.sd_
        return z @ self.coef_ + self.intercept_

    def _loo_genuine(self, genuine: list[Trajectory], impostors: list[Trajectory]) -> np.ndarray:
        """(n_real, members) scores of each real sample by members fitted without it.

        With only two recorded samples no member can be fitted on the rest (one recorded
        sample and generated copies of it give a member no spread to normalise by); then the
        final members' own (optimistic) scores of the enrollment samples stand in.
        """
        rows = []
        for i, train in calibration.loo_splits(genuine):
            if len(calibration.real_indices([genuine[j] for j in train])) < 2:
                continue
            rest = [genuine[j] for j in train]
            fitted = [m.fit(rest, impostors or None) for m in self.fresh_members()]
            rows.append(self._raw([genuine[i]], fitted)[0])
        if not rows:
            return self._raw(genuine)
        return np.array(rows)

    # -- fitting ----------------------------------------------------------------------------
    def _fit(self, genuine: list[Trajectory], impostors: list[Trajectory]) -> None:
        self.dims_ = genuine[0].dims
        impostors = [t for t in impostors if t.dims == self.dims_]
        self.with_impostors_ = len(impostors) >= self.min_impostors
        self.members_ = [m.fit(genuine, impostors or None) for m in self.fresh_members()]
        raw_gen = self._loo_genuine(genuine, impostors)
        g_stats = _column_stats(raw_gen)
        self.genuine_stats_ = g_stats  # diagnostics only (not stored with the model)
        if self.with_impostors_:
            raw_imp = self._impostor_scores(genuine, impostors)
            self.impostor_stats_ = _column_stats(raw_imp)
            self.mu_, self.sd_ = normalizer(self.norm, g_stats, self.impostor_stats_)
        elif self.norm == "none":
            self.mu_, self.sd_ = normalizer("none", g_stats, g_stats)
        else:
            self.mu_, self.sd_ = g_stats[:, 0], g_stats[:, 1]
        self.mu_, self.sd_ = np.array(self.mu_, dtype=float), np.array(self.sd_, dtype=float)
        for k, n in enumerate(self.member_names()):
            own = (self.member_norms or {}).get(n)
            if own == "own":  # its threshold -> 0.5, its own score units kept
                self.mu_[k], self.sd_[k] = self.members_[k].threshold_ - 0.5, 1.0
            elif own is not None:
                i_st = self.impostor_stats_ if self.with_impostors_ else g_stats
                mu, sd = normalizer(own, g_stats[k:k + 1], i_st[k:k + 1])
                self.mu_[k], self.sd_[k] = mu[0], sd[0]
        w = self._weight_vector()
        self.coef_, self.intercept_ = w / w.sum(), 0.0
        if self.combine == "logistic" and self.with_impostors_:
            self._fit_logistic((raw_gen - self.mu_) / self.sd_, (raw_imp - self.mu_) / self.sd_)
        if self.with_impostors_ and self.threshold_rule == "fixed":
            self.threshold_ = float(self.threshold)
        elif self.with_impostors_:
            self.threshold_ = calibration.threshold_for_far(self._combined(raw_imp),
                                                            self.target_far)
        else:
            mu, sd = calibration.mean_std(self._combined(raw_gen))
            self.threshold_ = float(mu - self.genuine_z * sd)

    def _impostor_scores(self, genuine: list[Trajectory], impostors: list[Trajectory]
                         ) -> np.ndarray:
        """(n_impostors, members) scores of impostors no member has learned from.

        Members that ignore impostors (``uses_background = False``) score them directly;
        the others are cross-fitted on two halves split by person (fit on one, score the
        other): a member that has seen some of a person's samples rates that person's other
        samples as clearly impostor, which would make the calibration optimistic.
        """
        half_a, half_b = split_impostors(impostors)
        pos = {id(t): k for k, t in enumerate(impostors)}
        out = np.empty((len(impostors), len(self.members_)))
        from sklearn.base import clone  # (fitting only: a login loads and scores)

        for k, ((_, template), member) in enumerate(zip(self.member_list(), self.members_)):
            if not template.uses_background:
                out[:, k] = member.score_samples(impostors)
                continue
            for train, test in ((half_a, half_b), (half_b, half_a)):
                sub = clone(template).fit(genuine, train)
                out[[pos[id(t)] for t in test], k] = sub.score_samples(test)
        return out

    def _fit_logistic(self, z_gen: np.ndarray, z_imp: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression

        x = np.vstack([z_gen, z_imp])
        y = np.r_[np.ones(len(z_gen)), np.zeros(len(z_imp))]
        lr = LogisticRegression(C=1.0, class_weight="balanced").fit(x, y)
        self.coef_ = lr.coef_[0].astype(np.float64)
        self.intercept_ = float(lr.intercept_[0])

    # -- scoring ----------------------------------------------------------------------------
    def _score(self, trajectories: list[Trajectory]) -> np.ndarray:
        return self._combined(self._raw(trajectories))

    def member_scores(self, trajectories: Sequence[Trajectory]) -> dict[str, np.ndarray]:
        """Each member's normalised score (what the fusion adds up), for reports and tuning."""
        self._check_fitted()
        z = (self._raw(list(trajectories)) - self.mu_) / self.sd_
        return {n: z[:, k] for k, n in enumerate(self.member_names())}

    def score_terms(self, trajectories: Sequence[Trajectory]) -> list[ScoreTerm]:
        """The fusion's score as a sum: each member's normalised score times its weight, and
        the constant (``ScoreTerm``)."""
        z = self.member_scores(trajectories)
        terms = [ScoreTerm(n, z[n], float(self.coef_[k]))
                 for k, n in enumerate(self.member_names())]
        n = len(terms[0].value) if terms else 0
        return terms + [ScoreTerm("constant", np.full(n, float(self.intercept_)))]

    # -- state ------------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        entries, arrays = self.member_states()
        params: dict[str, Any] = {
            "params": self.to_config(), "dims": self.dims_,
            "with_impostors": self.with_impostors_, "intercept": self.intercept_,
            "threshold": self.threshold_, "members": entries,
        }
        arrays.update({"mu": self.mu_, "sd": self.sd_, "coef": self.coef_})
        return params, arrays

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]
                   ) -> FusionVerifier:
        v = cls._from_member_state(params, arrays)
        v.with_impostors_ = bool(params["with_impostors"])
        v.mu_ = np.asarray(arrays["mu"], dtype=np.float64)
        v.sd_ = np.asarray(arrays["sd"], dtype=np.float64)
        v.coef_ = np.asarray(arrays["coef"], dtype=np.float64)
        if not (v.mu_.shape == v.sd_.shape == v.coef_.shape == (len(v.members_),)):
            raise ValueError("fusion normalisation arrays do not match the member count")
        v.intercept_ = float(params["intercept"])
        v.threshold_ = float(params["threshold"])
        return v
