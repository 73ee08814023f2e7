"""Which stored fingerprints a login's replay check aligns: the few that could be a copy.

The exact check (``authapp.security.find_replay``) aligns the attempt with every stored
fingerprint, about 5 ms each: with a full history of 200 attempts a login took a second, and
an attacker who fills the history slows the real user down. A copy, however moved, scaled
(also per axis), rotated, sheared, re-timed or paused, traces the same path, so a cheap
description that ignores exactly those changes ranks its original first among everything
stored. ``candidates`` keeps the ``KEEP`` nearest by that description (and every stored item
it cannot describe); the exact check then runs on those alone.

The description of a fingerprint: its path at equal arc-length steps (pauses and speed take
no room), centred and whitened (the inverse square root of the covariance: an affine copy
becomes a rotation or reflection of the original), resampled at ``POINTS`` equal arc-length
steps in that whitened space, and the distance of each point from the centre (what no
rotation changes). The store keeps each fingerprint's description with it (schema 5,
``describe_one`` when the row is written, under the row's keyed checksum), so a login
describes only its own recording and the few stored items without one (the enrollment
samples, fingerprinted afresh from their files; rows of older stores): describing a full
history of 200 at every login cost about 20 ms.

It only removes work, never adds a match: a genuine attempt cannot become a replay through
it. ``tests/security/test_replay_prefilter.py`` checks that every alteration of issue 14,
hidden among a full history, is still found by the exact check on the shortlist.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

KEEP = 8
"""Stored fingerprints the exact check aligns (the nearest by the description)."""
POINTS = 64
"""Arc-length steps of the description."""


def _arc_resample(y: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """(paths (n, T, d) at ``points`` equal arc-length steps each, their lengths (n,))."""
    n, t, _ = y.shape
    step = np.diff(y, axis=1)
    seg = np.sqrt(np.einsum("ntd,ntd->nt", step, step))
    s = np.concatenate([np.zeros((n, 1)), np.cumsum(seg, axis=1)], axis=1)
    total = s[:, -1].copy()
    s = s / np.where(total > 0, total, 1.0)[:, None]
    s = s + np.arange(t)[None, :] * 1e-12  # strictly increasing where the path stands still
    # batched interpolation: rows offset so that one search serves them all
    u = np.linspace(0.0, 1.0, points)
    offset = 2.0 * np.arange(n)[:, None]
    idx = np.searchsorted((s + offset).ravel(), (u[None, :] + offset).ravel())
    idx = np.clip(idx.reshape(n, points) - np.arange(n)[:, None] * t, 1, t - 1)
    rows = np.arange(n)[:, None]
    s0, s1 = s[rows, idx - 1], s[rows, idx]
    w = np.clip((u[None, :] - s0) / np.where(s1 > s0, s1 - s0, 1.0), 0.0, 1.0)[..., None]
    return y[rows, idx - 1] * (1 - w) + y[rows, idx] * w, total


def describe(fps: np.ndarray) -> np.ndarray:
    """(n, POINTS) descriptions of ``fps`` (n, T, d): the path at equal arc-length steps (so
    pauses carry no weight), centred and whitened, again at equal arc-length steps in that
    space, and each point's distance from the centre. Rows that cannot be described are
    NaN."""
    x, total = _arc_resample(np.asarray(fps, dtype=np.float64), 4 * POINTS)
    _, t, d = x.shape
    x = x - x.mean(axis=1, keepdims=True)
    cov = np.matmul(x.transpose(0, 2, 1), x) / t
    cov += np.eye(d)[None] * (1e-9 * np.trace(cov, axis1=1, axis2=2)[:, None, None] + 1e-12)
    vals, vecs = np.linalg.eigh(cov)
    scale = 1.0 / np.sqrt(np.maximum(vals, 1e-300))
    y = np.matmul(x, np.matmul(vecs * scale[:, None, :], vecs.transpose(0, 2, 1)))
    pts, _ = _arc_resample(y, POINTS)
    out = np.sqrt(np.einsum("npd,npd->np", pts, pts))
    out[~np.isfinite(out).all(axis=1) | (total <= 0)] = np.nan
    return out


def describe_one(fp: np.ndarray) -> np.ndarray | None:
    """The description of one fingerprint (POINTS,) as float32 (what the store keeps), or
    None when it has none (not 2-D, not finite, no path)."""
    arr = np.asarray(fp, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2 or not np.all(np.isfinite(arr)):
        return None
    try:
        desc = describe(arr[None])[0]
    except np.linalg.LinAlgError:
        return None
    return desc.astype(np.float32) if np.all(np.isfinite(desc)) else None


def candidates(query: np.ndarray, stored: Sequence[tuple], keep: int = KEEP) -> list[tuple]:
    """The items of ``stored`` ((ref, fingerprint[, version[, description]]), as
    ``find_replay`` takes them, plus the stored ``describe_one`` where there is one) worth
    aligning with ``query``: the ``keep`` nearest current-version fingerprints by
    ``describe``, plus every item it cannot rank (version-1 fingerprints, odd shapes); all
    of them when there are no more than ``keep``. Order is kept."""
    items = list(stored)
    if len(items) <= keep:
        return items
    q = np.asarray(query, dtype=np.float64)
    if q.ndim != 2 or not np.all(np.isfinite(q)):
        return items
    rankable = [i for i, item in enumerate(items)
                if (int(item[2]) if len(item) > 2 else 2) >= 2 and np.shape(item[1]) == q.shape]
    if len(rankable) <= keep:
        return items
    # one array for all of them (a history is 200 items: no per-item numpy calls)
    stack = np.stack([np.asarray(items[i][1]) for i in rankable])
    finite = np.isfinite(stack).all(axis=(1, 2))
    if not finite.all():
        rankable = [i for i, ok in zip(rankable, finite) if ok]
        stack = stack[finite]
        if len(rankable) <= keep:
            return items
    known = np.full((len(rankable), POINTS), np.nan, dtype=np.float32)
    have = np.zeros(len(rankable), dtype=bool)
    for k, i in enumerate(rankable):
        d = items[i][3] if len(items[i]) > 3 else None
        if d is not None and np.shape(d) == (POINTS,):
            known[k] = d
            have[k] = True
    have &= np.isfinite(known).all(axis=1)
    fresh = np.flatnonzero(~have)
    try:  # only the query and the items without a stored description, in one batch
        new = describe(np.concatenate([q[None], stack[fresh].astype(np.float64)]))
    except np.linalg.LinAlgError:  # (finite input: not expected) align everything
        return items
    known[fresh] = new[1:]
    # at the precision the store keeps, so that a stored description ranks like a fresh one
    desc = np.vstack([new[:1].astype(np.float32), known]).astype(np.float64)
    dist = np.sqrt(np.mean((desc[1:] - desc[0]) ** 2, axis=1))
    dist = np.where(np.isfinite(dist), dist, -1.0)  # undescribable: always aligned
    if not np.isfinite(desc[0]).all():
        return items
    chosen = set(np.asarray(rankable)[np.argsort(dist, kind="stable")[:keep]].tolist())
    chosen |= {rankable[k] for k in np.flatnonzero(dist < 0)}
    ranked = set(rankable)
    return [item for i, item in enumerate(items) if i in chosen or i not in ranked]
