"""Learning a ``ScoreCalibration`` from development accounts' member scores.

The calibration's data, its use and why it is learned on a development population are in
``models.score_calibration``; this module makes one: a non-negative logistic regression maps
the member scores, and each security level's threshold meets its targets on the same
attempts (through the people bootstrap of ``models.level_thresholds``). Fitting is apart
from the data because only ``scripts/make_calibration.py`` (the shipped file) and the
harness's calibration pass (``authapp.calibration_pass``) learn calibrations; an enrolled
model only reads one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models import calibration as loo_calibration
from models.level_thresholds import people_threshold_for_far
from models.score_calibration import (
    SECURITY_LEVELS,
    CalibrationError,
    ScoreCalibration,
    calibration_features,
)


def _weights(*groups: np.ndarray) -> np.ndarray:
    """Each group weighs the same in total, whatever its size (classes are not balanced)."""
    w = np.concatenate([np.full(len(g), 1.0 / len(g)) for g in groups if len(g)])
    return w / w.mean()


def nonnegative_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-4
                         ) -> tuple[np.ndarray, float]:
    """(coef >= 0, intercept) of a weighted, lightly L2-penalised logistic regression.

    scikit-learn's LogisticRegression cannot bound coefficients; L-BFGS-B with bounds on the
    same loss can (see ``models.score_calibration``'s docstring for why the bound).
    """
    from scipy.optimize import minimize

    n_feat = x.shape[1]
    sign = 2.0 * y - 1.0
    wsum = float(np.sum(w))

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        coef, b = p[:n_feat], p[n_feat]
        m = -sign * (x @ coef + b)
        value = float(np.sum(w * np.logaddexp(0.0, m)) / wsum + l2 * coef @ coef)
        g = -(w * sign) * (0.5 * (1.0 + np.tanh(0.5 * m)))  # d/dz of the loss terms
        return value, np.r_[x.T @ g / wsum + 2.0 * l2 * coef, np.sum(g) / wsum]

    start = np.r_[np.full(n_feat, 0.1), 0.0]
    res = minimize(loss, start, jac=True, method="L-BFGS-B",
                   bounds=[(0.0, None)] * n_feat + [(None, None)])
    return res.x[:n_feat].copy(), float(res.x[n_feat])


@dataclass
class DevelopmentScores:
    """Member scores of development trials, one entry per enrollment (account).

    ``genuine`` / ``random`` / ``skilled``: (n, members) scores of that account's genuine
    attempts, other people's attempts and skilled forgeries; ``cohort``: the cohort's scores
    under the account's model (None without a cohort).
    """

    genuine: list[np.ndarray] = field(default_factory=list)
    random: list[np.ndarray] = field(default_factory=list)
    skilled: list[np.ndarray] = field(default_factory=list)
    cohort: list[np.ndarray | None] = field(default_factory=list)
    person: list[str | None] = field(default_factory=list)
    """Who enrolled each account (None: unknown, the account is its own person)."""
    random_people: list[np.ndarray | None] = field(default_factory=list)
    """Who wrote each random attempt (None: unknown)."""

    def add(self, genuine: np.ndarray, random: np.ndarray, skilled: np.ndarray,
            cohort: np.ndarray | None, person: str | None = None,
            random_people: Sequence[str] | None = None) -> None:
        self.genuine.append(np.asarray(genuine, dtype=np.float64))
        self.random.append(np.asarray(random, dtype=np.float64))
        self.skilled.append(np.asarray(skilled, dtype=np.float64))
        self.cohort.append(None if cohort is None else np.asarray(cohort, dtype=np.float64))
        self.person.append(person)
        self.random_people.append(None if random_people is None
                                  else np.asarray(random_people, dtype=str))

    def random_clusters(self, n_members: int) -> list[np.ndarray]:
        """Per random attempt (in ``random``'s order): the enrolled person and the writer, as
        integer codes -- the two ways attempts hang together (an easy account, "lamb", is
        easy for every stranger; a good impostor, "wolf", for many accounts). Unknown people
        are coded one per account / attempt."""
        owners, writers = [], []
        for k, r in enumerate(self.random):
            n = r.size // n_members  # rows as fit_calibration reads them
            who = self.person[k] if k < len(self.person) else None
            owners += [f"person:{who}" if who is not None else f"account:{k}"] * n
            wr = self.random_people[k] if k < len(self.random_people) else None
            writers += ([f"person:{w}" for w in wr] if wr is not None and len(wr) == n
                        else [f"attempt:{k}:{j}" for j in range(n)])
        return [np.unique(np.asarray(owners), return_inverse=True)[1],
                np.unique(np.asarray(writers), return_inverse=True)[1]]

    def __len__(self) -> int:
        return len(self.genuine)



def fit_calibration(dev: DevelopmentScores, members: Sequence[str],
                    member_params: Mapping[str, Mapping[str, Any]], dims: int, cohort: bool,
                    provenance: Mapping[str, Any] | None = None) -> ScoreCalibration:
    """Learn the mapping and the level thresholds from development accounts' attempts.

    Every attempt was scored by the model of an account that is not its writer's own; the
    mapping weighs genuine, random-impostor and (when present) skilled-forgery attempts
    equally in total, and each level's threshold meets its targets on the same attempts.
    """
    n = len(members)

    def feats(parts: list[np.ndarray]) -> np.ndarray:
        rows = [calibration_features(p.reshape(-1, n), n, c, cohort)
                for p, c in zip(parts, dev.cohort) if p.size]
        return np.vstack(rows) if rows else np.zeros((0, n + int(cohort)))

    g, r, s = feats(dev.genuine), feats(dev.random), feats(dev.skilled)
    if len(g) < 10 or len(r) < 10:
        raise CalibrationError("too few development attempts to calibrate (need at least 10 "
                               "genuine and 10 impostor attempts)")
    x = np.vstack([g, r, s])
    y = np.r_[np.ones(len(g)), np.zeros(len(r) + len(s))]
    coef, intercept = nonnegative_logistic(x, y, _weights(g, r, s))
    cal_g, cal_r = g @ coef + intercept, r @ coef + intercept
    cal_s = s @ coef + intercept if len(s) else None
    thresholds: dict[str, float] = {}
    points: dict[str, Any] = {}
    clusters = dev.random_clusters(n)
    for level, target in SECURITY_LEVELS.items():
        thr = people_threshold_for_far(cal_r, target.random_far, clusters)
        if cal_s is not None:
            thr = max(thr, loo_calibration.threshold_for_far(cal_s, target.skilled_far))
        thresholds[level] = float(thr)
        points[level] = {"frr": float(np.mean(cal_g < thr)),
                         "random_far": float(np.mean(cal_r >= thr)),
                         "skilled_far": None if cal_s is None else float(np.mean(cal_s >= thr))}
    prov = dict(provenance or {})
    prov.update({"accounts": len(dev), "genuine_attempts": len(g),
                 "random_attempts": len(r), "skilled_attempts": len(s),
                 "development_operating_points": points,
                 "levels": {k: {"random_far": v.random_far, "skilled_far": v.skilled_far}
                            for k, v in SECURITY_LEVELS.items()}})
    return ScoreCalibration(tuple(members), {k: dict(v) for k, v in member_params.items()},
                            int(dims), bool(cohort), tuple(float(c) for c in coef),
                            float(intercept), thresholds, prov)
