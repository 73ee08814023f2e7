"""Multivariate dynamic time warping (DP matching) with a Sakoe-Chiba band, compiled with numba.

Conventions (the same in the compiled kernels and in ``dtw_distance_reference``):

* Local cost: Euclidean distance between two frames (``metric="euclidean"``), so a distance
  is in the units of the feature channels. ``metric="sqeuclidean"`` accumulates squared
  distances instead; ``sqrt`` of that with ``normalize="none"`` is what dtaidistance and
  tslearn return (used by the benchmark to compare like with like).
* Steps: symmetric (i-1, j-1), (i-1, j), (i, j-1), each adding the local cost of the new cell.
  Among predecessors of equal accumulated cost the one with the shorter path wins (then the
  diagonal, then (i-1, j), then (i, j-1)); preferring the shorter path rather than a fixed
  step order keeps ``normalize="path"`` exactly symmetric, ``d(a, b) == d(b, a)``, on ties.
* Band: cells with ``|i - j| <= w``, where ``w`` is ``window`` frames (an int), or ``window`` times
  the longer length (a float in [0, 1]), widened to ``|n - m|`` so the end cell stays reachable.
  ``window=None`` means no band.
* ``normalize="path"`` divides the accumulated cost by the number of cells on the optimal
  path (an average cost per aligned pair), so sequences of different lengths compare fairly;
  ``"length"`` divides by ``n + m`` (does not reward extra warping steps the way a per-path
  average does); ``"none"`` returns the accumulated cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit, prange

from core.errors import AirAuthError

_METRICS = {"euclidean": 0, "sqeuclidean": 1}
_NORMALIZE = ("path", "length", "none")


class DTWInputError(AirAuthError, ValueError):
    """Sequences or options that DTW cannot work with."""


# -- argument checking ------------------------------------------------------------------------
def _as_sequence(x: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise DTWInputError(f"{what} must be a non-empty (frames, channels) array, "
                            f"got shape {np.shape(x)}")
    if not np.all(np.isfinite(arr)):
        raise DTWInputError(f"{what} contains NaN or infinite values")
    return np.ascontiguousarray(arr)


def _as_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = _as_sequence(a, "a")
    b = _as_sequence(b, "b")
    if a.shape[1] != b.shape[1]:
        raise DTWInputError(f"channel counts differ: {a.shape[1]} vs {b.shape[1]}")
    return a, b


def _window_args(window: float | None) -> tuple[int, float]:
    """(frames, fraction) for the kernels; -1 marks "not given"."""
    if window is None:
        return -1, -1.0
    if isinstance(window, (bool, np.bool_)):
        raise DTWInputError("window must be None, an int (frames) or a float fraction")
    if isinstance(window, (int, np.integer)):
        if window < 0:
            raise DTWInputError(f"window must be >= 0 frames, got {window}")
        return int(window), -1.0
    if isinstance(window, (float, np.floating)):
        if not 0.0 <= float(window) <= 1.0:
            raise DTWInputError(f"a fractional window must be in [0, 1], got {window}")
        return -1, float(window)
    raise DTWInputError(f"window must be None, an int or a float, got {type(window).__name__}")


def _metric_code(metric: str) -> int:
    try:
        return _METRICS[metric]
    except KeyError:
        raise DTWInputError(f"unknown metric {metric!r}; known: {sorted(_METRICS)}") from None


def _check_normalize(normalize: str) -> int:
    """Kernel code: 0 none, 1 path, 2 length."""
    if normalize not in _NORMALIZE:
        raise DTWInputError(f"normalize must be one of {_NORMALIZE}, got {normalize!r}")
    return {"none": 0, "path": 1, "length": 2}[normalize]


def band_width(n: int, m: int, window: float | None) -> int:
    """Half-width of the band in frames for lengths ``n`` and ``m`` (see module docstring)."""
    frames, frac = _window_args(window)
    return int(_band(n, m, frames, frac))


@njit(cache=True, inline="always")
def _band(n: int, m: int, frames: int, frac: float) -> int:
    longest = max(n, m)
    if frames >= 0:
        w = frames
    elif frac >= 0.0:
        w = int(math.ceil(frac * longest))  # noqa: RUF046 (numba: keep it an int)
    else:
        w = longest
    return max(w, abs(n - m))


# -- compiled kernels ---------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _cost(a: np.ndarray, i: int, b: np.ndarray, j: int, metric: int) -> float:
    s = 0.0
    for k in range(a.shape[1]):
        diff = a[i, k] - b[j, k]
        s += diff * diff
    if metric == 0:
        return math.sqrt(s)
    return s


@njit(cache=True, nogil=True)
def _dtw_kernel(a: np.ndarray, b: np.ndarray, frames: int, frac: float, metric: int,
                norm: int) -> float:
    """Two-row DP over the band only (O(n * w) time, O(m) memory).

    Why it is written this way: the DP is one long dependency chain along a row, so the left
    neighbour stays in a register (no store-to-load round trip), the local cost is fused into
    the loop (independent work the CPU overlaps with the chain), and the optimal path's length
    is only tracked when ``normalize="path"`` needs it.  Same operations in the same order as
    ``dtw_distance_reference``, so results agree to the last bits (no fastmath).
    """
    n, m = a.shape[0], b.shape[0]
    nc = a.shape[1]
    w = _band(n, m, frames, frac)
    inf = np.inf
    track = norm == 1
    prev = np.full(m + 1, inf)
    cur = np.full(m + 1, inf)
    prev_len = np.zeros(m + 1)
    cur_len = np.zeros(m + 1)
    prev[0] = 0.0
    for i in range(1, n + 1):
        lo = max(1, i - w)
        hi = min(m, i + w)
        cur[lo - 1] = inf
        left = inf  # cur[j - 1]
        left_len = 0.0
        for j in range(lo, hi + 1):
            s = 0.0
            for k in range(nc):
                d = a[i - 1, k] - b[j - 1, k]
                s += d * d
            if metric == 0:
                s = math.sqrt(s)
            if track:  # (cost, path length) lexicographic minimum, as in the reference
                best = prev[j - 1]
                blen = prev_len[j - 1]
                up = prev[j]
                up_len = prev_len[j]
                if up < best or (up == best and up_len < blen):
                    best = up
                    blen = up_len
                if left < best or (left == best and left_len < blen):
                    best = left
                    blen = left_len
                left = best + s
                left_len = blen + 1.0
                cur_len[j] = left_len
            else:
                left = min(min(prev[j - 1], prev[j]), left) + s
            cur[j] = left
        if hi + 1 <= m:
            cur[hi + 1] = inf
        prev, cur = cur, prev
        prev_len, cur_len = cur_len, prev_len
    total = prev[m]
    if norm == 1:
        return total / prev_len[m]
    if norm == 2:
        return total / (n + m)
    return total


@njit(cache=True, parallel=True)
def _dtw_many(qdata: np.ndarray, qoff: np.ndarray, tdata: np.ndarray, toff: np.ndarray,
              pairs: np.ndarray, frames: int, frac: float, metric: int,
              norm: int) -> np.ndarray:
    out = np.empty(pairs.shape[0])
    for p in prange(pairs.shape[0]):
        qi, ti = pairs[p, 0], pairs[p, 1]
        a = qdata[qoff[qi]:qoff[qi + 1]]
        b = tdata[toff[ti]:toff[ti + 1]]
        out[p] = _dtw_kernel(a, b, frames, frac, metric, norm)
    return out


@njit(cache=True, nogil=True)
def _dtw_many_serial(qdata: np.ndarray, qoff: np.ndarray, tdata: np.ndarray, toff: np.ndarray,
                     pairs: np.ndarray, frames: int, frac: float, metric: int,
                     norm: int) -> np.ndarray:
    """``_dtw_many`` on one thread: for small jobs, such as scoring one login."""
    out = np.empty(pairs.shape[0])
    for p in range(pairs.shape[0]):
        qi, ti = pairs[p, 0], pairs[p, 1]
        a = qdata[qoff[qi]:qoff[qi + 1]]
        b = tdata[toff[ti]:toff[ti + 1]]
        out[p] = _dtw_kernel(a, b, frames, frac, metric, norm)
    return out


@njit(cache=True, inline="always")
def _step(acc: np.ndarray, length: np.ndarray, i: int, j: int) -> int:
    """Best predecessor of cell (i, j): 0 diagonal, 1 (i-1, j), 2 (i, j-1) (see module doc)."""
    best = acc[i - 1, j - 1]
    blen = length[i - 1, j - 1]
    step = 0
    if acc[i - 1, j] < best or (acc[i - 1, j] == best and length[i - 1, j] < blen):
        best = acc[i - 1, j]
        blen = length[i - 1, j]
        step = 1
    if acc[i, j - 1] < best or (acc[i, j - 1] == best and length[i, j - 1] < blen):
        step = 2
    return step


@njit(cache=True, nogil=True)
def _dtw_full(a: np.ndarray, b: np.ndarray, frames: int, frac: float,
              metric: int) -> tuple[np.ndarray, np.ndarray]:
    """Full accumulated-cost matrix (inf outside the band) and the optimal path, start to end.

    Backtracking repeats the forward choice, so ``len(path)`` is the divisor that
    ``normalize="path"`` uses.
    """
    n, m = a.shape[0], b.shape[0]
    w = _band(n, m, frames, frac)
    acc = np.full((n + 1, m + 1), np.inf)
    length = np.zeros((n + 1, m + 1))
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(max(1, i - w), min(m, i + w) + 1):
            step = _step(acc, length, i, j)
            pi, pj = (i - 1, j - 1) if step == 0 else ((i - 1, j) if step == 1 else (i, j - 1))
            acc[i, j] = acc[pi, pj] + _cost(a, i - 1, b, j - 1, metric)
            length[i, j] = length[pi, pj] + 1.0
    path = np.empty((n + m, 2), dtype=np.int64)
    i, j, k = n, m, 0
    while True:
        path[k, 0] = i - 1
        path[k, 1] = j - 1
        k += 1
        if i == 1 and j == 1:
            break
        step = _step(acc, length, i, j)
        if step == 0:
            i -= 1
            j -= 1
        elif step == 1:
            i -= 1
        else:
            j -= 1
    return acc[1:, 1:], path[:k][::-1].copy()


# -- public API ---------------------------------------------------------------------------------
def dtw_distance(a: np.ndarray, b: np.ndarray, window: float | None = None,
                 normalize: str = "path", metric: str = "euclidean") -> float:
    """DTW distance between sequences ``a`` (n, C) and ``b`` (m, C); see the module docstring."""
    a, b = _as_pair(a, b)
    frames, frac = _window_args(window)
    return float(_dtw_kernel(a, b, frames, frac, _metric_code(metric),
                             _check_normalize(normalize)))


def dtw_path(a: np.ndarray, b: np.ndarray, window: float | None = None,
             metric: str = "euclidean") -> tuple[float, np.ndarray]:
    """Accumulated cost (not normalised) and the optimal alignment as (L, 2) index pairs.

    Used to align a query to a template point by point (per-point differences, averaging).
    """
    a, b = _as_pair(a, b)
    frames, frac = _window_args(window)
    acc, path = _dtw_full(a, b, frames, frac, _metric_code(metric))
    return float(acc[-1, -1]), path


# Below this many DP cells a job runs on one thread: starting the OpenMP thread team costs
# microseconds on an idle machine but milliseconds when the cores are shared and busy (measured:
# 5 login-vs-template pairs, 1.2 ms serial vs 3.5-11 ms in parallel at load 9 on 2 cores).
PARALLEL_MIN_CELLS = 2_000_000


def _run_pairs(qdata: np.ndarray, qoff: np.ndarray, tdata: np.ndarray, toff: np.ndarray,
               pairs: np.ndarray, frames: int, frac: float, metric: int,
               norm: int) -> np.ndarray:
    n = np.diff(qoff)[pairs[:, 0]]
    m = np.diff(toff)[pairs[:, 1]]
    longest = np.maximum(n, m)
    if frames >= 0:
        w = np.full_like(longest, frames)
    elif frac >= 0:
        w = np.ceil(frac * longest).astype(np.int64)
    else:
        w = longest
    w = np.maximum(w, np.abs(n - m))
    cells = int(np.sum(n * np.minimum(m, 2 * w + 1)))
    run = _dtw_many if cells >= PARALLEL_MIN_CELLS else _dtw_many_serial
    return run(qdata, qoff, tdata, toff, pairs, frames, frac, metric, norm)


def _pack(seqs: Sequence[np.ndarray], what: str) -> tuple[np.ndarray, np.ndarray]:
    arrs = [_as_sequence(s, f"{what}[{i}]") for i, s in enumerate(seqs)]
    if not arrs:
        raise DTWInputError(f"{what} is empty")
    dims = {a.shape[1] for a in arrs}
    if len(dims) != 1:
        raise DTWInputError(f"{what}: all sequences need the same channel count, got {sorted(dims)}")
    offsets = np.zeros(len(arrs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([a.shape[0] for a in arrs])
    return np.ascontiguousarray(np.concatenate(arrs, axis=0)), offsets


def dtw_distance_matrix(queries: Sequence[np.ndarray], templates: Sequence[np.ndarray] | None = None,
                        window: float | None = None, normalize: str = "path",
                        metric: str = "euclidean") -> np.ndarray:
    """(Q, T) DTW distances, pairs computed in parallel (numba ``prange``) for big jobs.

    With ``templates=None`` the symmetric (Q, Q) matrix among ``queries`` is returned, each pair
    computed once and a zero diagonal.
    """
    frames, frac = _window_args(window)
    code = _metric_code(metric)
    norm = _check_normalize(normalize)
    qdata, qoff = _pack(queries, "queries")
    nq = len(qoff) - 1
    if templates is None:
        iu = np.triu_indices(nq, k=1)
        pairs = np.ascontiguousarray(np.column_stack(iu).astype(np.int64))
        out = np.zeros((nq, nq))
        if pairs.shape[0]:
            vals = _run_pairs(qdata, qoff, qdata, qoff, pairs, frames, frac, code, norm)
            out[iu] = vals
            out[(iu[1], iu[0])] = vals
        return out
    tdata, toff = _pack(templates, "templates")
    if tdata.shape[1] != qdata.shape[1]:
        raise DTWInputError(f"channel counts differ: {qdata.shape[1]} vs {tdata.shape[1]}")
    nt = len(toff) - 1
    qi, ti = np.meshgrid(np.arange(nq), np.arange(nt), indexing="ij")
    pairs = np.ascontiguousarray(np.column_stack([qi.ravel(), ti.ravel()]).astype(np.int64))
    vals = _run_pairs(qdata, qoff, tdata, toff, pairs, frames, frac, code, norm)
    return vals.reshape(nq, nt)


def dtw_distance_reference(a: np.ndarray, b: np.ndarray, window: float | None = None,
                           normalize: str = "path", metric: str = "euclidean") -> float:
    """Plain numpy DTW (full matrices, no numba): the definition the kernels are tested against."""
    a, b = _as_pair(a, b)
    n, m = a.shape[0], b.shape[0]
    frames, frac = _window_args(window)
    if frames >= 0:
        w = frames
    elif frac >= 0:
        w = math.ceil(frac * max(n, m))
    else:
        w = max(n, m)
    w = max(w, abs(n - m))
    sq = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    cost = np.sqrt(sq) if _metric_code(metric) == 0 else sq
    ii, jj = np.indices((n, m))
    cost = np.where(np.abs(ii - jj) <= w, cost, np.inf)
    acc = np.full((n + 1, m + 1), np.inf)
    length = np.zeros((n + 1, m + 1))
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if not np.isfinite(cost[i - 1, j - 1]):
                continue
            cands = (acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
            lens = (length[i - 1, j - 1], length[i - 1, j], length[i, j - 1])
            # lowest cost, then shortest path, then diagonal, up, left (see module docstring)
            k = min(range(3), key=lambda t: (cands[t], lens[t]))
            acc[i, j] = cands[k] + cost[i - 1, j - 1]
            length[i, j] = lens[k] + 1
    code = _check_normalize(normalize)
    if code == 1:
        return float(acc[n, m] / length[n, m])
    if code == 2:
        return float(acc[n, m] / (n + m))
    return float(acc[n, m])
