"""The compiled recursion of ``capture.filtering`` (its own module so that numba is imported
only when a filter first runs)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def section(x: np.ndarray, z0: np.ndarray, z1: np.ndarray, b0: float, b1: float, b2: float,
            a1: float, a2: float) -> np.ndarray:  # pragma: no cover - compiled
    """One second-order section, transposed direct form II, per column of ``x`` (n, k),
    from states ``z0``, ``z1`` (k,): scipy's ``sosfilt`` arithmetic, term for term."""
    n, k = x.shape
    y = np.empty((n, k))
    for j in range(k):
        s0 = z0[j]
        s1 = z1[j]
        for i in range(n):
            xi = x[i, j]
            yi = b0 * xi + s0
            s0 = b1 * xi - a1 * yi + s1
            s1 = b2 * xi - a2 * yi
            y[i, j] = yi
    return y
