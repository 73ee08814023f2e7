"""Correspondence between two samples of the same writing, for segment swaps.

A swap needs the warping PATH (which frames of sample B correspond to frames a..b of sample
A): ``models.dtw.dtw_path`` gives it. Sequences are centred, scale-normalised and subsampled
to at most ``max_len`` points first: a segment boundary does not need frame accuracy, and the
swap must stay cheap inside enrollment.
"""

from __future__ import annotations

import numpy as np

from capture.preprocess import scale_normalize
from models.dtw import dtw_path


def match_indices(a: np.ndarray, b: np.ndarray, max_len: int = 150,
                  window: float = 0.25) -> np.ndarray:
    """For every frame of ``a`` (N, D), the index of the corresponding frame of ``b`` (M, D)."""
    a = scale_normalize(np.asarray(a, dtype=np.float64))
    b = scale_normalize(np.asarray(b, dtype=np.float64))
    ia = np.unique(np.linspace(0, a.shape[0] - 1, min(max_len, a.shape[0])).round().astype(int))
    ib = np.unique(np.linspace(0, b.shape[0] - 1, min(max_len, b.shape[0])).round().astype(int))
    _, path = dtw_path(a[ia], b[ib], window=window)
    # first matching b frame for every subsampled a frame, then back to full resolution
    first = np.full(len(ia), -1, dtype=np.int64)
    for i, j in path[::-1] if path[0, 0] > path[-1, 0] else path:
        if first[i] < 0:
            first[i] = j
    return np.interp(np.arange(a.shape[0]), ia, ib[first]).round().astype(np.int64)
