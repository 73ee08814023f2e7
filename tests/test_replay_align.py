"""The replay alignment's nearest-point search: pruning by segment balls changes no result.

``authapp.replay_align._nearest`` searches outwards from a guess and skips segments whose
bounding ball is farther than the best distance so far. The replay and derived-replay
decisions rest on its exact output, so it must equal a plain scan of every segment in order,
bit for bit, ties included (the lowest-numbered segment at the smallest distance wins).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from authapp import replay_align


def _plain_scan(points: np.ndarray, poly: np.ndarray, guess: np.ndarray, span: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every segment of the window in order, the first strictly nearest kept."""
    nseg = poly.shape[0] - 1
    dist, near, seg = [], [], []
    for i, x in enumerate(points):
        best, where, at = math.inf, None, -1
        for s in range(max(0, guess[i] - span), min(nseg, guess[i] + span + 1)):
            ab = poly[s + 1] - poly[s]
            ab2 = 0.0
            apab = 0.0
            for k in range(poly.shape[1]):
                ab2 += ab[k] * ab[k]
            for k in range(poly.shape[1]):
                apab += (x[k] - poly[s, k]) * ab[k]
            u = 0.0 if ab2 <= 1e-18 else min(1.0, max(0.0, apab / ab2))
            d2 = 0.0
            for k in range(poly.shape[1]):
                diff = x[k] - (poly[s, k] + u * ab[k])
                d2 += diff * diff
            if d2 < best:
                best, at = d2, s
                where = np.array([poly[s, k] + u * ab[k] for k in range(poly.shape[1])])
        dist.append(math.sqrt(best))
        near.append(where)
        seg.append(at)
    return np.array(dist), np.array(near), np.array(seg)


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("case", ["noisy copy", "far points", "repeated vertices", "grid"])
def test_pruned_search_equals_plain_scan(dims: int, case: str) -> None:
    rng = np.random.default_rng(dims * 10 + len(case))
    t = np.linspace(0, 4 * np.pi, 200)
    poly = np.column_stack([np.cos(t), np.sin(2 * t), 0.1 * t][:dims]) * 50
    if case == "repeated vertices":  # zero-length segments and exact ties between neighbours
        poly = np.repeat(poly, 2, axis=0)
    if case == "grid":  # many exactly equal distances
        poly = np.round(poly)
    points = poly[rng.integers(0, poly.shape[0], 64)] + rng.normal(0, 0.5, (64, dims))
    if case == "far points":
        points = points * 3 + 100
    if case == "grid":
        points = np.round(points) + 0.5
    guess = rng.integers(0, poly.shape[0] - 1, 64)
    segs = replay_align._segments(poly)
    for span in (3, 24, 500):
        got = replay_align._nearest(points, poly, guess, span, *segs)
        want = _plain_scan(points, poly, guess, span)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
