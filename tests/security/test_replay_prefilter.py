"""The replay check's prefilter (``authapp.replay_prefilter``, issue 24): hidden among a full
history of 200 stored fingerprints, every altered copy is still found by the exact check on
the prefilter's shortlist, with the same match as when every fingerprint is aligned."""

from __future__ import annotations

import numpy as np
import pytest
from seckit import issue_variants, leap_people, time_variants

from authapp.replay_prefilter import KEEP, candidates, describe, describe_one
from authapp.security import find_replay, fingerprint

HISTORY = 200


def _history(people) -> list[tuple[str, np.ndarray, int]]:
    """Every recording of the other people (genuine writing, many people): a full history."""
    out = [(f"{p} {i}", fingerprint(r), 2) for p, recs in people for i, r in enumerate(recs)]
    return out[:HISTORY]


def test_every_alteration_is_found_among_a_full_history() -> None:
    """The original is on the shortlist of every altered copy of it, hidden among 199 other
    people's recordings, and the exact check on the shortlist names it (with the residual
    of aligning the original alone: nothing on the shortlist displaces it)."""
    people = leap_people(50)
    filler = _history(people[6:])
    assert len(filler) == HISTORY
    checked = 0
    for person, recs in people[:6]:
        for i, rec in enumerate(recs[:2]):
            original = (f"{person} original {i}", fingerprint(rec), 2)
            stored = [*filler[: HISTORY - 1], original]
            variants = {**issue_variants(rec, seed=i), **time_variants(rec)}
            for what, attack in variants.items():
                fp = fingerprint(attack)
                short = candidates(fp, stored)
                assert len(short) == KEEP and original in short, (person, i, what)
                alone = find_replay(fp, [original])
                assert alone is not None, (person, i, what)
                assert find_replay(fp, short) == alone, (person, i, what)
                checked += 1
    assert checked == 6 * 2 * 22


def test_stored_descriptions_rank_like_fresh_ones() -> None:
    """The store keeps ``describe_one`` of each row (schema 5): a shortlist from stored
    descriptions is the one computed afresh, for altered copies hidden in a full history."""
    people = leap_people(50)
    filler = _history(people[6:])
    for person, recs in people[:3]:
        original = (f"{person} original", fingerprint(recs[0]), 2)
        plain = [*filler[: HISTORY - 1], original]
        kept = [(*item, describe_one(item[1])) for item in plain]
        assert all(item[3] is not None and item[3].dtype == np.float32 for item in kept)
        for what, attack in issue_variants(recs[0], seed=0).items():
            fp = fingerprint(attack)
            fresh = [item[0] for item in candidates(fp, plain)]
            assert [item[0] for item in candidates(fp, kept)] == fresh, (person, what)
            # a mix (enrollment samples fingerprinted afresh, rows of older stores)
            mixed = [item if k % 3 else item[:3] + (None,) for k, item in enumerate(kept)]
            assert [item[0] for item in candidates(fp, mixed)] == fresh, (person, what)
            assert original[0] in fresh


def test_descriptions_of_nothing_are_none() -> None:
    assert describe_one(np.zeros((512, 3))) is None  # no path
    assert describe_one(np.full((512, 3), np.nan)) is None
    assert describe_one(np.zeros(5)) is None


@pytest.mark.slow
def test_genuine_attempts_are_judged_alike() -> None:
    """No new alarm is possible (it only removes work), and the decision on real genuine
    attempts against a full history is the same as aligning every stored fingerprint."""
    people = leap_people(50)
    filler = _history(people[2:])
    for _, recs in people[:2]:
        stored = [*filler[:195], *[(f"e{i}", fingerprint(r), 2) for i, r in enumerate(recs[:5])]]
        for rec in recs[5:]:
            fp = fingerprint(rec)
            assert find_replay(fp, candidates(fp, stored)) == find_replay(fp, stored) is None


def test_small_and_odd_histories_are_left_whole() -> None:
    fp = np.cumsum(np.random.default_rng(0).normal(size=(512, 3)), axis=0).astype(np.float32)
    few = [(str(i), fp + i, 2) for i in range(KEEP)]
    assert candidates(fp, few) == few
    legacy = [(f"old {i}", np.zeros((512, 3), np.float32), 1) for i in range(3)]
    odd = [("odd", np.zeros((7, 3)), 2), ("nan", np.full((512, 3), np.nan), 2)]
    many = legacy + odd + [(str(i), fp * (1 + i), 2) for i in range(20)]
    short = candidates(fp, many)
    refs = [r for r, *_ in short]
    assert all(r in refs for r in ("old 0", "old 1", "old 2", "odd", "nan"))
    assert len(short) == 5 + KEEP


def test_description_ignores_affine_changes_and_speed() -> None:
    s = np.linspace(0.0, 1.0, 512)[:, None]
    path = np.hstack([np.sin(2 * np.pi * 3 * s), np.cos(2 * np.pi * 2 * s) + s,
                      0.3 * np.sin(2 * np.pi * 5 * s)])
    c, si = np.cos(0.3), np.sin(0.3)
    rot = np.array([[c, -si, 0.0], [si, c, 0.0], [0.0, 0.0, 1.0]])
    moved = 1.3 * (path * [1.1, 1.0, 1.0]) @ rot.T + [5.0, -3.0, 2.0]  # issue 14's kinds
    # written twice as fast, then a pause in the middle: the same path at other speeds
    paused = np.concatenate([path[:256:2], np.repeat(path[256:257], 256, axis=0),
                             path[256::2]])
    other = np.hstack([np.sin(2 * np.pi * 2 * s), np.cos(2 * np.pi * 3 * s) - s,
                       0.3 * np.sin(2 * np.pi * 4 * s)])
    d = describe(np.stack([path, moved, paused, other]))
    rms = np.sqrt(np.mean((d[1:] - d[0]) ** 2, axis=1))
    assert rms[0] < 0.02 and rms[1] < 0.05, rms  # an altered copy, other timing: alike
    assert rms[2] > 5 * max(rms[0], rms[1]), rms  # another path: not
