"""Replay residual: how far one fingerprint is from another after the best affine alignment.

Two fingerprints (``authapp.replay_fingerprint``) are compared by aligning the query onto the
stored one with an **affine map** (translation, scale per axis, rotation, shear) on point
correspondences found by DTW and refined by nearest points on the stored polyline (ICP). The
**residual** is the mean distance left after that alignment, in both directions, divided by
the stored path's RMS radius: a unit-free fraction of the writing's size. The verifier ignores
exactly those transformations, so the replay check must ignore them too.

Kept apart from ``authapp.security`` (which decides what counts as a replay) because it is
numerical code, compiled with numba, with no policy in it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from models.dtw import dtw_path

ALIGN_POINTS = 128
"""Points of each path used to align the two and to measure the residual."""
DTW_BAND = 0.1
"""Sakoe-Chiba band (fraction of ``ALIGN_POINTS``) of the correspondence search."""
ICP_STEPS = 4
SEARCH_SEGMENTS = 24
"""Nearest points are searched this many polyline segments either side of the
correspondence DTW found (the true nearest point of a copy is there; a genuine pair can only
come out farther apart, never closer, by this restriction)."""


@njit(cache=True)
def _affine_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares affine map (D + 1, D) taking points ``x`` (m, D) onto ``y``: the linear
    part in the first D rows, the translation in the last.

    Fitted on centred points; a tiny ridge keeps it defined for flat or straight paths.
    """
    m, d = x.shape
    mx = np.zeros(d)
    my = np.zeros(d)
    for i in range(m):
        mx += x[i]
        my += y[i]
    mx /= m
    my /= m
    xc = x - mx
    yc = y - my
    xtx = xc.T @ xc
    ridge = 1e-12 * (np.trace(xtx) + 1.0)
    for k in range(d):
        xtx[k, k] += ridge
    out = np.empty((d + 1, d))
    lin = np.linalg.solve(xtx, xc.T @ yc)
    out[:d] = lin
    out[d] = my - mx @ lin
    return out


@njit(cache=True)
def _apply(b: np.ndarray, x: np.ndarray) -> np.ndarray:
    d = x.shape[1]
    return np.ascontiguousarray(x) @ np.ascontiguousarray(b[:d]) + b[d]


@njit(cache=True)
def _nearest(points: np.ndarray, poly: np.ndarray, guess: np.ndarray, span: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distance, nearest point, segment) on ``poly`` for each point, searching ``span``
    segments either side of segment ``guess[i]``."""
    p, d = points.shape
    nseg = poly.shape[0] - 1
    dist = np.empty(p)
    near = np.empty((p, d))
    seg = np.empty(p, dtype=np.int64)
    for i in range(p):
        lo = max(0, guess[i] - span)
        hi = min(nseg, guess[i] + span + 1)
        best = np.inf
        for s in range(lo, hi):
            ab2 = 0.0
            apab = 0.0
            for k in range(d):
                ab = poly[s + 1, k] - poly[s, k]
                ab2 += ab * ab
                apab += (points[i, k] - poly[s, k]) * ab
            u = 0.0 if ab2 <= 1e-18 else min(1.0, max(0.0, apab / ab2))
            d2 = 0.0
            for k in range(d):
                diff = points[i, k] - (poly[s, k] + u * (poly[s + 1, k] - poly[s, k]))
                d2 += diff * diff
            if d2 < best:
                best = d2
                seg[i] = s
                for k in range(d):
                    near[i, k] = poly[s, k] + u * (poly[s + 1, k] - poly[s, k])
        dist[i] = math.sqrt(best)
    return dist, near, seg


@njit(cache=True)
def _refine(qs: np.ndarray, stored: np.ndarray, qdense: np.ndarray, ps: np.ndarray,
            b: np.ndarray, q_guess: np.ndarray, p_guess: np.ndarray, steps: int,
            span: int) -> tuple[float, float]:
    """ICP refinement of the affine map ``b`` (query -> stored), then the mean distances
    (query points to the stored polyline, stored points to the aligned query polyline)."""
    guess = q_guess.copy()
    for _ in range(steps):
        _, near, guess = _nearest(_apply(b, qs), stored, guess, span)
        b = _affine_fit(qs, near)
    dq, _, _ = _nearest(_apply(b, qs), stored, guess, span)
    dp, _, _ = _nearest(ps, _apply(b, qdense), p_guess, span)
    return dq.mean(), dp.mean()


def _subsample(x: np.ndarray, m: int) -> np.ndarray:
    return x[np.linspace(0, x.shape[0] - 1, m).round().astype(np.int64)]


def aligned_residual(query: np.ndarray, stored: np.ndarray) -> float:
    """Residual of ``query`` after the best affine alignment onto ``stored`` (both
    fingerprints), as a fraction of ``stored``'s RMS radius; ``inf`` if they cannot match.

    See the module docstring. Symmetric in what it measures (the larger of the two directed
    mean distances), so a copy of half a path does not match the whole one.
    """
    q = np.asarray(query, dtype=np.float64)
    p = np.asarray(stored, dtype=np.float64)
    if (q.ndim != 2 or p.ndim != 2 or q.shape[1] != p.shape[1] or q.shape[0] < 4
            or p.shape[0] < 4 or not (np.all(np.isfinite(q)) and np.all(np.isfinite(p)))):
        return float("inf")
    size = float(np.sqrt(np.mean(np.sum((p - p.mean(axis=0)) ** 2, axis=1))))
    if size <= 0:
        return float("inf")
    m = ALIGN_POINTS
    qs, ps = _subsample(q, m), _subsample(p, m)
    b = _affine_fit(qs, ps)  # equal arc-length fractions correspond, to begin with
    _, path = dtw_path(_apply(b, qs), ps, window=DTW_BAND)
    b = _affine_fit(qs[path[:, 0]], ps[path[:, 1]])
    # where on the dense polylines each subsampled point's partner lies, per DTW
    q_to_p = np.zeros(m, dtype=np.int64)
    p_to_q = np.zeros(m, dtype=np.int64)
    np.maximum.at(q_to_p, path[:, 0], path[:, 1])
    np.maximum.at(p_to_q, path[:, 1], path[:, 0])
    q_guess = (q_to_p * (p.shape[0] - 1)) // (m - 1)
    p_guess = (p_to_q * (q.shape[0] - 1)) // (m - 1)
    span = max(SEARCH_SEGMENTS, int(np.ceil(2 * max(p.shape[0], q.shape[0]) / m)))
    dq, dp = _refine(qs, p, q, ps, b, q_guess, p_guess, ICP_STEPS, span)
    return max(float(dq), float(dp)) / size


# -- the check of stores before schema 3 --------------------------------------------------------
def legacy_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The check of stores before schema 3 between two version-1 fingerprints: mean
    distance (mm) to the other's polyline after the best translation, the larger way round."""
    def directed(q: np.ndarray, p: np.ndarray) -> float:
        q = _subsample(q, 96)
        q = q - q.mean(axis=0) + p.mean(axis=0)
        guess = np.zeros(q.shape[0], dtype=np.int64)
        for _ in range(3):
            _, near, guess = _nearest(q, p, guess, p.shape[0])
            q = q + np.mean(near - q, axis=0)
        d, _, _ = _nearest(q, p, guess, p.shape[0])
        return float(d.mean())

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        return float("inf")
    return max(directed(x, y), directed(y, x))
