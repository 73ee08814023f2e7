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

import functools
import math

import numpy as np
from numba import njit

from models.dtw import _dtw_full

ALIGN_POINTS = 128
"""Points of each path used to align the two and to measure the residual."""
DTW_BAND = 0.1
"""Sakoe-Chiba band (fraction of ``ALIGN_POINTS``) of the correspondence search."""
ICP_STEPS = 4
BLOCK = 8
"""Segments per block of ``_nearest``'s second-level pruning."""
SEARCH_SEGMENTS = 24
"""Nearest points are searched this many polyline segments either side of the
correspondence DTW found (the true nearest point of a copy is there; a genuine pair can only
come out farther apart, never closer, by this restriction)."""


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _apply(b: np.ndarray, x: np.ndarray) -> np.ndarray:
    d = x.shape[1]
    return np.ascontiguousarray(x) @ np.ascontiguousarray(b[:d]) + b[d]


@njit(cache=True, nogil=True)
def _segments(poly: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                         float, np.ndarray, np.ndarray]:
    """What ``_nearest`` needs of each segment of ``poly`` for every point: its vector and
    squared length, its midpoint and half length (a ball around the segment), the largest
    absolute coordinate (the scale of rounding errors), and per block of ``BLOCK``
    consecutive segments a ball holding all of their balls (centre, radius)."""
    nseg, d = max(poly.shape[0] - 1, 0), poly.shape[1]
    ab = np.empty((nseg, d))
    ab2 = np.zeros(nseg)
    mid = np.empty((nseg, d))
    half = np.empty(nseg)
    for s in range(nseg):
        for k in range(d):
            ab[s, k] = poly[s + 1, k] - poly[s, k]
            ab2[s] += ab[s, k] * ab[s, k]
            mid[s, k] = poly[s, k] + 0.5 * ab[s, k]
        half[s] = 0.5 * math.sqrt(ab2[s])
    nblock = (nseg + BLOCK - 1) // BLOCK
    bmid = np.zeros((nblock, d))
    brad = np.zeros(nblock)
    for b in range(nblock):
        lo, hi = b * BLOCK, min(nseg, (b + 1) * BLOCK)
        for k in range(d):  # the centre of the block's bounding box
            low, high = mid[lo, k], mid[lo, k]
            for s in range(lo, hi):
                low = min(low, mid[s, k])
                high = max(high, mid[s, k])
            bmid[b, k] = 0.5 * (low + high)
        r = 0.0
        for s in range(lo, hi):
            dm2 = 0.0
            for k in range(d):
                dm = mid[s, k] - bmid[b, k]
                dm2 += dm * dm
            r = max(r, math.sqrt(dm2) + half[s])
        brad[b] = r
    return ab, ab2, mid, half, np.abs(poly).max() if poly.size else 0.0, bmid, brad


@njit(cache=True, nogil=True)
def _nearest(points: np.ndarray, poly: np.ndarray, guess: np.ndarray, span: int,
             ab: np.ndarray, ab2: np.ndarray, mid: np.ndarray, half: np.ndarray,
             scale: float, bmid: np.ndarray, brad: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distance, nearest point, segment) on ``poly`` for each point, searching ``span``
    segments either side of segment ``guess[i]`` (``ab`` ... ``brad``: ``_segments(poly)``).

    The lowest-numbered segment at the smallest distance wins, as in a plain scan. Searched
    from the guess outwards, so the nearest is found early and most segments are ruled out
    by their ball (point farther from the ball than the best distance so far, by more than
    any rounding error: ``slack``) without projecting onto them, and whole blocks of
    segments by the ball holding theirs (a block ruled out now holds only segments that
    their own balls would rule out, then or later: the distance so far only shrinks); same
    result, fewer flops.
    """
    p, d = points.shape
    nseg = poly.shape[0] - 1
    dist = np.empty(p)
    near = np.empty((p, d))
    seg = np.empty(p, dtype=np.int64)
    slack = 1e-9 * (scale + np.abs(points).max() + 1.0)
    for i in range(p):
        lo = max(0, guess[i] - span)
        hi = min(nseg, guess[i] + span + 1)
        g = min(max(guess[i], lo), hi - 1)
        best = np.inf
        reach = np.inf  # sqrt(best) + slack: a ball farther than this cannot hold the nearest
        bs = min(lo, nseg - 1)
        bu = 0.0
        # upwards from the guess (g .. hi - 1), then downwards (g - 1 .. lo), as a plain
        # scan in that order would go
        s = g
        up = hi > lo
        while True:
            if up and s >= hi:
                up = False
                s = g - 1
            if not up and (s < lo or hi <= lo):
                break
            # a block is tested where the walk enters it
            entering = (s % BLOCK == 0) if up else (s % BLOCK == BLOCK - 1 or s == g - 1)
            if entering and reach < np.inf:
                b = s // BLOCK
                db2 = 0.0
                for k in range(d):
                    db = points[i, k] - bmid[b, k]
                    db2 += db * db
                rb = reach + brad[b] + slack
                if db2 > rb * rb:  # the whole block is out of reach
                    s = (b + 1) * BLOCK if up else b * BLOCK - 1
                    continue
            if reach < np.inf:
                dm2 = 0.0
                for k in range(d):
                    dm = points[i, k] - mid[s, k]
                    dm2 += dm * dm
                r = reach + half[s]
                if dm2 > r * r:
                    s = s + 1 if up else s - 1
                    continue
            apab = 0.0
            for k in range(d):
                apab += (points[i, k] - poly[s, k]) * ab[s, k]
            u = 0.0 if ab2[s] <= 1e-18 else min(1.0, max(0.0, apab / ab2[s]))
            d2 = 0.0
            for k in range(d):
                diff = points[i, k] - (poly[s, k] + u * ab[s, k])
                d2 += diff * diff
            if d2 < best or (d2 == best and s < bs):
                if d2 < best:
                    reach = math.sqrt(d2) + slack
                best = d2
                bs = s
                bu = u
            s = s + 1 if up else s - 1
        seg[i] = bs
        for k in range(d):
            near[i, k] = poly[bs, k] + bu * ab[bs, k]
        dist[i] = math.sqrt(best)
    return dist, near, seg


@njit(cache=True, nogil=True)
def _refine(qs: np.ndarray, stored: np.ndarray, qdense: np.ndarray, ps: np.ndarray,
            b: np.ndarray, q_guess: np.ndarray, p_guess: np.ndarray, steps: int,
            span: int) -> tuple[float, float]:
    """ICP refinement of the affine map ``b`` (query -> stored), then the mean distances
    (query points to the stored polyline, stored points to the aligned query polyline)."""
    guess = q_guess.copy()
    segs = _segments(stored)
    for _ in range(steps):
        _, near, guess = _nearest(_apply(b, qs), stored, guess, span, *segs)
        b = _affine_fit(qs, near)
    dq, _, _ = _nearest(_apply(b, qs), stored, guess, span, *segs)
    aligned = _apply(b, qdense)
    dp, _, _ = _nearest(ps, aligned, p_guess, span, *_segments(aligned))
    return dq.mean(), dp.mean()


@njit(cache=True, nogil=True)
def _residual(q: np.ndarray, p: np.ndarray, qi: np.ndarray, pi: np.ndarray, band: float,
              steps: int, min_span: int) -> float:
    """The larger directed mean distance of ``aligned_residual`` (``qi``, ``pi``: the
    subsampled points' indices), compiled whole: a derived-replay check aligns hundreds of
    pairs per login, and calling the kernels one by one from Python cost as much as they."""
    n, m = q.shape[0], qi.shape[0]
    d = p.shape[1]
    qs = np.empty((m, d))
    ps = np.empty((m, d))
    for i in range(m):
        qs[i] = q[qi[i]]
        ps[i] = p[pi[i]]
    b = _affine_fit(qs, ps)  # equal arc-length fractions correspond, to begin with
    _, path = _dtw_full(_apply(b, qs), ps, -1, band, 0)
    b = _affine_fit(qs[path[:, 0]], ps[path[:, 1]])
    # where on the dense polylines each subsampled point's partner lies, per DTW
    q_to_p = np.zeros(m, dtype=np.int64)
    p_to_q = np.zeros(m, dtype=np.int64)
    for r in range(path.shape[0]):
        q_to_p[path[r, 0]] = max(q_to_p[path[r, 0]], path[r, 1])
        p_to_q[path[r, 1]] = max(p_to_q[path[r, 1]], path[r, 0])
    q_guess = (q_to_p * (p.shape[0] - 1)) // (m - 1)
    p_guess = (p_to_q * (n - 1)) // (m - 1)
    span = max(min_span, int(math.ceil(2 * max(p.shape[0], n) / m)))  # noqa: RUF046 (numba: an int)
    dq, dp = _refine(qs, p, q, ps, b, q_guess, p_guess, steps, span)
    return max(dq, dp)


def _subsample(x: np.ndarray, m: int) -> np.ndarray:
    return x[_subsample_index(x.shape[0], m)]


@functools.lru_cache(maxsize=256)
def _subsample_index(n: int, m: int) -> np.ndarray:
    """Indices of ``m`` points spread evenly over ``n`` (fingerprints have few lengths)."""
    out = np.linspace(0, n - 1, m).round().astype(np.int64)
    out.flags.writeable = False
    return out


def aligned_residual(query: np.ndarray, stored: np.ndarray) -> float:
    """Residual of ``query`` after the best affine alignment onto ``stored`` (both
    fingerprints), as a fraction of ``stored``'s RMS radius; ``inf`` if they cannot match.

    See the module docstring. Symmetric in what it measures (the larger of the two directed
    mean distances), so a copy of half a path does not match the whole one.
    """
    q = np.ascontiguousarray(query, dtype=np.float64)
    p = np.ascontiguousarray(stored, dtype=np.float64)
    if (q.ndim != 2 or p.ndim != 2 or q.shape[1] != p.shape[1] or q.shape[0] < 4
            or p.shape[0] < 4 or not (np.isfinite(q).all() and np.isfinite(p).all())):
        return float("inf")
    size = float(np.sqrt(np.mean(np.sum((p - p.mean(axis=0)) ** 2, axis=1))))
    if size <= 0:
        return float("inf")
    m = ALIGN_POINTS
    return float(_residual(q, p, _subsample_index(q.shape[0], m),
                           _subsample_index(p.shape[0], m), DTW_BAND, ICP_STEPS,
                           SEARCH_SEGMENTS)) / size


# -- the check of stores before schema 3 --------------------------------------------------------
def legacy_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The check of stores before schema 3 between two version-1 fingerprints: mean
    distance (mm) to the other's polyline after the best translation, the larger way round."""
    def directed(q: np.ndarray, p: np.ndarray) -> float:
        q = _subsample(q, 96)
        q = q - q.mean(axis=0) + p.mean(axis=0)
        guess = np.zeros(q.shape[0], dtype=np.int64)
        segs = _segments(p)
        for _ in range(3):
            _, near, guess = _nearest(q, p, guess, p.shape[0], *segs)
            q = q + np.mean(near - q, axis=0)
        d, _, _ = _nearest(q, p, guess, p.shape[0], *segs)
        return float(d.mean())

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        return float("inf")
    return max(directed(x, y), directed(y, x))
