"""The replay alignment's nearest-point search: pruning by segment balls changes no result.

``authapp.replay_align._nearest`` searches outwards from a guess and skips segments whose
bounding ball is farther than the best distance so far. The replay and derived-replay
decisions rest on its exact output, so it must equal a plain scan of every segment in order,
bit for bit, ties included (the lowest-numbered segment at the smallest distance wins).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

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


# -- the derived-replay check's threads ----------------------------------------------------------
def _derived_case(fmkit_dir: Path) -> tuple:
    """(a stored set of 5 samples, a copy of the first with 10 % cut off, a fresh sample)."""
    from authapp import replay_derived
    from capture.formats import load_recording
    from capture.trajectory import Trajectory

    recs = [load_recording(fmkit_dir / f"luduo_luduo_{i:02d}.txt") for i in range(1, 7)]
    stored = replay_derived.stored_set(
        [replay_derived.reference(f"sample {i}", r) for i, r in enumerate(recs[:5], 1)])
    first = recs[0]
    n = len(first)
    cut = Trajectory(first.t[n // 10:], first.positions[n // 10:])  # its first 10 % cut off
    return stored, cut, recs[5]


def _check_in_child(fmkit_dir: Path, queue: Any) -> None:
    from authapp import replay_derived

    stored, cut, fresh = _derived_case(fmkit_dir)
    match = replay_derived.find_derived_replay(cut, stored)
    queue.put((match.ref if match else None,
               replay_derived.find_derived_replay(fresh, stored)))


def test_crop_search_threads_change_nothing_and_survive_a_fork(fmkit_dir, monkeypatch) -> None:
    """One thread or several: the same match. A process forked after a check (the parent's
    pool threads do not exist in it) still checks, instead of waiting forever."""
    import multiprocessing

    from authapp import replay_derived

    stored, cut, fresh = _derived_case(fmkit_dir)
    threaded = replay_derived.find_derived_replay(cut, stored)
    assert threaded is not None and "sample 1" in threaded.ref
    assert replay_derived.find_derived_replay(fresh, stored) is None
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_check_in_child, args=(fmkit_dir, queue))
    child.start()
    child.join(300)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked child's derived-replay check never finished"
    assert queue.get(timeout=10) == (threaded.ref, None)
    monkeypatch.setattr(replay_derived, "CROP_THREADS", 1)
    monkeypatch.setattr(replay_derived, "_POOLS", {})
    assert replay_derived.find_derived_replay(cut, replay_derived.stored_set(
        list(stored.refs))) == threaded


def test_crop_search_aligns_each_cut_once_and_finds_what_separate_searches_find(
        fmkit_dir, monkeypatch) -> None:
    """The grid and the three pattern searches of a stored sample share the residuals they
    computed: no cut is aligned twice, and every search visits the cuts it would visit alone
    (its path depends only on the values), so the best cut is the same."""
    from authapp import replay_derived

    stored, cut, _ = _derived_case(fmkit_dir)
    q = replay_derived.reference("login", cut).shapes
    real = replay_derived._crop_residual
    calls: list[tuple[int, tuple[float, float]]] = []

    def counted(shapes: Any, r: Any, c: tuple[float, float]) -> float:
        calls.append((id(r), (round(c[0], 4), round(c[1], 4))))
        return real(shapes, r, c)

    monkeypatch.setattr(replay_derived, "_crop_residual", counted)
    for r in stored.refs:
        grid = [(real(q, r, c), c) for c in replay_derived.CROPS]
        g = replay_derived._GRID
        known = {c: v for v, c in grid}
        calls.clear()
        shared = [replay_derived._crops(q, r, min(s)[1], known)
                  for s in (grid[:g], grid[g:2 * g], grid[2 * g:])]
        assert len(calls) == len(set(calls))  # nothing aligned twice, the grid's cuts reused
        alone = [replay_derived._crops(q, r, min(s)[1], {})
                 for s in (grid[:g], grid[g:2 * g], grid[2 * g:])]
        assert shared == alone
    match = replay_derived.find_derived_replay(cut, stored)
    assert match is not None and "sample 1" in match.ref


def test_bounds_align_each_pair_of_stored_samples_once(fmkit_dir) -> None:
    """The shape measure aligns both ways and keeps the smaller, so it is symmetric: the
    closest pair is found from each unordered pair once, and is what every ordered pair
    gives."""
    from authapp import replay_derived

    stored, _, _ = _derived_case(fmkit_dir)
    refs = list(stored.refs)
    every = min(replay_derived._shape(a.shapes, b.shapes)
                for a in refs for b in refs if a is not b)
    assert replay_derived.derived_bounds(refs)["shape"] == every == stored.bounds["shape"]
    for a in refs[:3]:
        for b in refs[:3]:
            assert replay_derived._shape(a.shapes, b.shapes) == replay_derived._shape(
                b.shapes, a.shapes)
