"""Thresholds that keep a security level's promise beyond the development attempts.

A level (``models.score_calibration.SECURITY_LEVELS``) names a target false-accept rate, and
``fit_calibration`` sets its threshold on a development population. Two places ask more of it
than that population's plain empirical threshold gives: a *new* population of people, whose
impostor tail is its own (``people_threshold_for_far``: a people bootstrap, used when the
thresholds are learned), and a 1:N search, where any of N accounts may name a stranger
(``identification_threshold``: used at identification time). Both are here, apart from the
calibration's data format, because both are statistics of the level's target, not of the
mapping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from models import calibration as loo_calibration
from models.score_calibration import SECURITY_LEVELS, ScoreCalibration, check_level

THRESHOLD_CONFIDENCE = 0.9
"""Level thresholds hold their random-FAR targets on this share of resampled development
populations (``people_threshold_for_far``); 0.5 is the plain threshold. Chosen on Leap,
leave-people-out: the trade between kept promise and FRR is in the README ("Promise
table")."""
BOOTSTRAP_RESAMPLES = 200


def people_threshold_for_far(scores: np.ndarray, far: float, clusters: Sequence[np.ndarray],
                             confidence: float = THRESHOLD_CONFIDENCE,
                             n_boot: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> float:
    """A threshold that keeps ``far`` on *other* people, not only on these.

    The empirical threshold (``threshold_for_far``) meets the target on the development
    attempts, but impostor tails differ from one group of people to the next: a few easy
    accounts and good impostors make the top impostor scores, and a new population has its
    own: on Leap, the thresholds learned on one fold let in several times their target on
    the other fold (README). Here
    the people are resampled (a two-way "pigeonhole" bootstrap: enrolled people and writers
    of the attempts drawn with replacement, each independently; an attempt weighs the product
    of its two multiplicities), the empirical threshold is taken on every resample, and the
    ``confidence`` quantile of those thresholds is returned (never below the plain one): the
    target holds for that share of populations like the development one.
    ``clusters``: per score, integer codes of each way (``DevelopmentScores.random_clusters``).
    """
    s = np.asarray(scores, dtype=np.float64)
    plain = loo_calibration.threshold_for_far(s, far)
    if n_boot < 1 or not clusters:
        return plain
    order = np.argsort(-s, kind="stable")
    s_desc = s[order]
    codes = [np.asarray(c)[order] for c in clusters]
    rng = np.random.default_rng(seed)
    found = np.empty(n_boot)
    for b in range(n_boot):
        w = np.ones(s.size)
        for c in codes:
            n = int(c.max()) + 1
            w *= np.bincount(rng.integers(0, n, n), minlength=n)[c]
        allowed = np.floor(far * w.sum())
        k = int(np.searchsorted(np.cumsum(w), allowed, side="right"))  # first cum > allowed
        found[b] = np.inf if k >= s.size else np.nextafter(s_desc[k], np.inf)
    found = found[np.isfinite(found)]
    if found.size == 0:
        return plain
    return float(max(plain, np.quantile(found, confidence)))


def identification_threshold(cal: ScoreCalibration | Mapping[str, float], level: str,
                             n_enrolled: int) -> float:
    """Threshold on the calibrated score for a 1:N search among ``n_enrolled`` accounts that
    keeps ``level``'s random FAR as the rate of strangers named as someone.

    An open-set search names a stranger when any of the N accounts accepts them, so its false
    identification rate is at most N x the per-comparison FAR (the union bound; about equal
    when it is small). Keeping the level's promise for 1:N therefore needs the threshold of a
    per-comparison FAR of ``random_far / N``. The calibration knows three points of its
    development impostors' tail: each level's threshold is that of its random-FAR target
    (1 %, 0.1 %, 0.01 %; on pen data the skilled target may raise it, which only makes what
    follows stricter). Between them the threshold is interpolated linearly in log FAR; below
    the strictest level it is extrapolated along the last segment -- an assumption: the
    impostor scores' tail is exponential there (measured on Leap with N = 12: no
    never-enrolled attempt named at level normal, README "Identification among N") --
    never below the level's own threshold (``n_enrolled`` <= 1 gives it).
    ``cal``: a calibration or its ``thresholds`` mapping.
    """
    thresholds = cal.thresholds if isinstance(cal, ScoreCalibration) else cal
    base = float(thresholds[check_level(level)])
    if n_enrolled <= 1:
        return base
    pts = sorted((math.log10(t.random_far), float(thresholds[lv]))
                 for lv, t in SECURITY_LEVELS.items())  # log FAR increasing
    x = math.log10(SECURITY_LEVELS[level].random_far / n_enrolled)
    (x0, y0), (x1, y1) = pts[0], pts[1]
    if x >= x0:
        thr = float(np.interp(x, [p[0] for p in pts], [p[1] for p in pts]))
    else:
        slope = (y1 - y0) / (x1 - x0)
        if slope >= 0:  # a strictest level no stricter than the next: use the whole span
            slope = (pts[-1][1] - y0) / (pts[-1][0] - x0)
        thr = y0 + (x - x0) * min(slope, 0.0)
    return max(base, thr)

