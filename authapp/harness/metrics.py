"""Verification metrics, in pure numpy, with the conventions written down once.

Conventions (every function here):

- ``genuine`` and ``impostor`` are 1-D arrays of scores, higher = more genuine.
- An attempt is **accepted** when ``score >= threshold``. In the harness the scores are the
  verifiers' ``decision_function`` values (score minus the verifier's own per-user
  threshold), so threshold 0 is "the verifier's own decision" and a pooled curve over all users
  moves one global offset on top of the per-user thresholds.
- FAR (= FMR) = accepted impostor attempts / impostor attempts; FRR (= FNMR) = rejected genuine
  attempts / genuine attempts. Rates are fractions in [0, 1].
- The ROC is traced by putting the threshold at every distinct score (and above the largest),
  so tied scores always move together: a tie between a genuine and an impostor score shows up
  as a diagonal ROC step, never as an optimistic corner.
- An empty genuine or impostor set raises :class:`MetricsError` (a clear message, never NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from authapp.harness.records import Record
from core.errors import AirAuthError


class MetricsError(AirAuthError, ValueError):
    """Metrics asked of data they cannot be computed from (e.g. no impostor attempts)."""


def _check(genuine: Any, impostor: Any) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(genuine, dtype=np.float64).ravel()
    i = np.asarray(impostor, dtype=np.float64).ravel()
    if g.size == 0:
        raise MetricsError("no genuine attempts: FRR, EER and AUC are undefined")
    if i.size == 0:
        raise MetricsError("no impostor attempts: FAR, EER and AUC are undefined")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(i))):
        raise MetricsError("scores contain NaN or infinite values")
    return g, i


def roc_points(genuine: Any, impostor: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, FAR, FRR) at every distinct score and at +inf, thresholds increasing.

    The first point accepts everything (FAR 1, FRR 0), the last rejects everything
    (FAR 0, FRR 1); FAR never increases and FRR never decreases along the arrays, and at
    least one of them changes strictly at each step.
    """
    g, i = _check(genuine, impostor)
    thr = np.unique(np.concatenate([g, i]))
    thr = np.append(thr, np.inf)
    gs, is_ = np.sort(g), np.sort(i)
    # accepted = score >= thr  ->  count of scores strictly below thr are rejected
    frr = np.searchsorted(gs, thr, side="left") / g.size
    far = 1.0 - np.searchsorted(is_, thr, side="left") / i.size
    return thr, far, frr


def eer(genuine: Any, impostor: Any) -> float:
    """Equal error rate, linearly interpolated between the two ROC points where FAR - FRR
    changes sign (FAR - FRR strictly decreases along the ROC, so the crossing is unique).

    All-equal scores give 0.5; perfectly separated scores give 0.
    """
    _, far, frr = roc_points(genuine, impostor)
    d = far - frr
    k = int(np.argmax(d <= 0))  # first point at or past the crossing (d[-1] = -1 always)
    if d[k] == 0:
        return float(far[k])
    a = d[k - 1] / (d[k - 1] - d[k])  # d[k-1] > 0 > d[k]
    return float(far[k - 1] + a * (far[k] - far[k - 1]))


def auc(genuine: Any, impostor: Any) -> float:
    """Area under the ROC = P(genuine score > impostor score) + 0.5 P(equal)
    (scikit-learn's ``roc_auc_score``, after this module's input checks)."""
    from sklearn.metrics import roc_auc_score

    g, i = _check(genuine, impostor)
    labels = np.concatenate([np.ones(g.size), np.zeros(i.size)])
    return float(roc_auc_score(labels, np.concatenate([g, i])))


def frr_at_far(genuine: Any, impostor: Any, target_far: float) -> float:
    """Lowest FRR among thresholds whose FAR is <= ``target_far`` (no interpolation).

    With n impostor attempts, FAR can only take values k/n: below 1/n this is the FRR at
    zero false accepts (the zero-FMR operating point).
    """
    _, far, frr = roc_points(genuine, impostor)
    ok = far <= target_far + 1e-12
    return float(frr[ok].min())  # the +inf threshold always has FAR 0


def rates_at(genuine: Any, impostor: Any, threshold: float = 0.0) -> tuple[float, float]:
    """(FAR, FRR) when accepting ``score >= threshold``."""
    g, i = _check(genuine, impostor)
    return float(np.mean(i >= threshold)), float(np.mean(g < threshold))


# -- calibration: is a score a usable log-likelihood ratio? -----------------------------------
def cllr(genuine_llr: Any, impostor_llr: Any) -> float:
    """Cost of the log-likelihood ratio (Bruemmer & du Preez 2006; BOSARIS, bob.measure), bits.

    The scores are natural-log likelihood ratios (log P(x | genuine) / P(x | impostor)):
    ``Cllr = (mean log2(1 + exp(-g)) + mean log2(1 + exp(i))) / 2``. 0 is perfect, 1 is a
    system that always says "LR = 1" (no information); above 1, the scores mislead. Unlike an
    error rate at one threshold it charges every attempt by how confidently it was wrong, so
    it measures how well the numbers can be read as evidence, not only how well they separate.
    """
    return _cllr_bits(*_check(genuine_llr, impostor_llr))


def _cllr_bits(g: np.ndarray, i: np.ndarray) -> float:
    """Cllr of checked LLR arrays (+-inf allowed: a sure and right answer costs 0)."""
    return float((np.mean(np.logaddexp(0.0, -g)) + np.mean(np.logaddexp(0.0, i)))
                 / (2 * np.log(2.0)))


def pav_llrs(genuine: Any, impostor: Any) -> tuple[np.ndarray, np.ndarray]:
    """(genuine, impostor) scores replaced by the best monotone recalibration's LLRs.

    Pool-adjacent-violators (isotonic regression) of the labels on the scores, each class
    weighted to half the total (so the fitted posterior is at prior odds 1 and its log-odds
    are LLRs); tied scores are pooled first and always get the same value. Blocks holding one
    class only give +-inf.
    """
    g, i = _check(genuine, impostor)
    s = np.concatenate([g, i])
    w = np.concatenate([np.full(g.size, 0.5 / g.size), np.full(i.size, 0.5 / i.size)])
    y = np.concatenate([np.ones(g.size), np.zeros(i.size)])
    uniq, inverse = np.unique(s, return_inverse=True)
    wsum = np.bincount(inverse, weights=w)
    ysum = np.bincount(inverse, weights=w * y)
    # PAV over the distinct scores (increasing): blocks as (weight, weighted label sum, size)
    bw: list[float] = []
    by: list[float] = []
    bn: list[int] = []
    for k in range(uniq.size):
        bw.append(float(wsum[k]))
        by.append(float(ysum[k]))
        bn.append(1)
        while len(bw) > 1 and by[-2] / bw[-2] >= by[-1] / bw[-1]:
            y_last, w_last, n_last = by.pop(), bw.pop(), bn.pop()
            by[-1] += y_last
            bw[-1] += w_last
            bn[-1] += n_last
    p = np.repeat(np.array(by) / np.array(bw), bn)[inverse]
    with np.errstate(divide="ignore"):
        llr = np.log(p) - np.log1p(-p)
    return llr[: g.size], llr[g.size:]


def min_cllr(genuine: Any, impostor: Any) -> float:
    """Cllr after the best monotone recalibration (``pav_llrs``), bits: what is left once the
    scores' calibration is perfect, i.e. their discrimination alone. ``cllr - min_cllr`` is
    the calibration loss. Depends only on the order of the scores."""
    return _cllr_bits(*pav_llrs(genuine, impostor))


@dataclass(frozen=True)
class Summary(Record):
    """The error rates of one method against one impostor type (``figures.MethodSummary``
    adds the calibration costs and intervals that results.json keeps beside them)."""

    eer: float
    auc: float
    far: float
    frr: float
    frr_at_far_1pct: float
    frr_at_far_0_1pct: float
    recognition_rate: float
    n_genuine: int
    n_impostor: int
    false_accepts: int
    false_rejects: int


def summarize(genuine: Any, impostor: Any, threshold: float = 0.0) -> Summary:
    """Every reported metric for one set of genuine and impostor decision values.

    ``far``/``frr``/``recognition_rate`` are at ``threshold`` (0 = the verifiers' own per-user
    thresholds when the scores are ``decision_function`` values); ``recognition_rate`` is the
    accuracy over all attempts there.
    """
    g, i = _check(genuine, impostor)
    fa = int(np.sum(i >= threshold))
    fr = int(np.sum(g < threshold))
    return Summary(
        eer=eer(g, i),
        auc=auc(g, i),
        far=fa / i.size,
        frr=fr / g.size,
        frr_at_far_1pct=frr_at_far(g, i, 0.01),
        frr_at_far_0_1pct=frr_at_far(g, i, 0.001),
        recognition_rate=1.0 - (fa + fr) / (g.size + i.size),
        n_genuine=int(g.size),
        n_impostor=int(i.size),
        false_accepts=fa,
        false_rejects=fr,
    )


# -- is a change in EER real? ---------------------------------------------------------------
@dataclass(frozen=True)
class EERChange:
    """EER of variant B minus variant A on the same attempts, with a bootstrap interval.

    Attempts are resampled by cluster (in the harness: the enrolled identity, all its seeds
    together), because attempts scored by one user's model are not independent: a user who
    writes inconsistently fails many of them at once. The interval is the percentile interval
    of the paired differences; ``resamples`` counts the ones that had both kinds of attempts.
    """

    change: float
    ci_low: float
    ci_high: float
    level: float
    resamples: int
    clusters: int

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change, "ci": [self.ci_low, self.ci_high], "level": self.level,
                "resamples": self.resamples, "clusters": self.clusters}


class _ClusteredScores:
    """One variant's attempts sorted once, so that a resample only re-weights them."""

    def __init__(self, groups: list[tuple[Any, Any]]) -> None:
        scores, genuine, cluster = [], [], []
        for c, (g, i) in enumerate(groups):
            g = np.asarray(g, dtype=np.float64).ravel()
            i = np.asarray(i, dtype=np.float64).ravel()
            scores += [g, i]
            genuine += [np.ones(g.size, bool), np.zeros(i.size, bool)]
            cluster += [np.full(g.size + i.size, c)]
        s = np.concatenate(scores)
        order = np.argsort(s, kind="stable")
        self.genuine = np.concatenate(genuine)[order]
        self.cluster = np.concatenate(cluster)[order]
        s = s[order]
        # thresholds as in roc_points: every distinct score (its first position) and +inf
        self.starts = np.append(np.flatnonzero(np.r_[True, s[1:] != s[:-1]]), s.size)

    def eers(self, weights: np.ndarray) -> np.ndarray:
        """EER for each row of cluster weights (rows with an empty class give NaN)."""
        w = weights[:, self.cluster]
        wg = np.where(self.genuine, w, 0.0)
        wi = w - wg
        zero = np.zeros((w.shape[0], 1))
        cg = np.concatenate([zero, np.cumsum(wg, axis=1)], axis=1)[:, self.starts]
        ci = np.concatenate([zero, np.cumsum(wi, axis=1)], axis=1)[:, self.starts]
        g_tot, i_tot = cg[:, -1:], ci[:, -1:]
        ok = (g_tot[:, 0] > 0) & (i_tot[:, 0] > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            frr = cg / g_tot
            far = 1.0 - ci / i_tot
        d = far - frr
        k = np.argmax(d <= 0, axis=1)
        k = np.where(ok, np.maximum(k, 1), 1)  # d[:, 0] = 1 > 0 whenever both classes exist
        rows = np.arange(d.shape[0])
        d0, d1 = d[rows, k - 1], d[rows, k]
        f0, f1 = far[rows, k - 1], far[rows, k]
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.where(d1 == 0, 1.0, d0 / (d0 - d1))
        out = f0 + a * (f1 - f0)
        return np.where(ok, out, np.nan)


def _check_groups(groups: list[tuple[Any, Any]]) -> None:
    if not groups:
        raise MetricsError("no clusters to resample")
    g = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x, _ in groups])
    i = np.concatenate([np.asarray(y, dtype=np.float64).ravel() for _, y in groups])
    _check(g, i)


def _check_resampling(n_boot: int, level: float) -> None:
    if n_boot < 1:
        raise MetricsError(f"n_boot must be at least 1, got {n_boot}")
    if not 0 < level < 1:
        raise MetricsError(f"level must be in (0, 1), got {level}")


def _resampled_eers(variants: list[_ClusteredScores], n: int, n_boot: int, seed: int,
                    chunk: int = 100) -> np.ndarray:
    """(variants, n_boot) EERs, every variant weighted by the same cluster resamples."""
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        draws = rng.integers(0, n, size=(m, n))
        weights = np.stack([np.bincount(row, minlength=n) for row in draws]).astype(np.float64)
        out.append(np.stack([v.eers(weights) for v in variants]))
    return np.concatenate(out, axis=1)


def _interval(values: np.ndarray, level: float) -> tuple[float, float, int]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        raise MetricsError("no resample had both genuine and impostor attempts")
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(v, [tail, 100 - tail])
    return float(lo), float(hi), int(v.size)


def bootstrap_eer_interval(groups: list[tuple[Any, Any]], n_boot: int = 1000, seed: int = 0,
                           level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the pooled EER over resamples of the clusters (users).

    ``groups[c]`` is cluster c's (genuine, impostor) scores. With a few dozen users the pooled
    EER moves by whole percentage points with the draw of people; this says by how much.
    """
    _check_groups(groups)
    _check_resampling(n_boot, level)
    eers = _resampled_eers([_ClusteredScores(groups)], len(groups), n_boot, seed)[0]
    lo, hi, _ = _interval(eers, level)
    return lo, hi


def bootstrap_eer_change(groups_a: list[tuple[Any, Any]], groups_b: list[tuple[Any, Any]],
                         n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> EERChange:
    """Pooled EER of B minus A, with a paired cluster-bootstrap interval.

    ``groups_a[c]`` / ``groups_b[c]`` are cluster c's (genuine, impostor) scores for the two
    variants (the same attempts scored two ways, or at least the same clusters). Each resample
    draws clusters with replacement and weights both variants alike, so the difference is
    paired. Deterministic for a seed.
    """
    if len(groups_a) != len(groups_b):
        raise MetricsError(f"paired comparison needs the same clusters: {len(groups_a)} "
                           f"against {len(groups_b)}")
    _check_groups(groups_a)
    _check_groups(groups_b)
    _check_resampling(n_boot, level)
    a, b = _ClusteredScores(groups_a), _ClusteredScores(groups_b)
    n = len(groups_a)
    ones = np.ones((1, n))
    change = float(b.eers(ones)[0] - a.eers(ones)[0])
    eers = _resampled_eers([a, b], n, n_boot, seed)
    lo, hi, used = _interval(eers[1] - eers[0], level)
    return EERChange(change=change, ci_low=lo, ci_high=hi, level=level, resamples=used,
                     clusters=n)
