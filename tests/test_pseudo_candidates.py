"""Candidate generation: deterministic, valid, provenance from the references only."""

from __future__ import annotations

import numpy as np
import pytest

from capture.datasets import load_dataset
from capture.preprocess import FeatureConfig, feature_sequence
from capture.trajectory import Trajectory
from models.dtw import dtw_distance
from models.pseudo.candidates import CandidateConfig, generate_candidates
from models.pseudo.displacement import reference_spread
from models.pseudo.transforms import TRANSFORMS


@pytest.fixture(scope="module")
def svc_refs(shared_data):
    ds = load_dataset(shared_data / "svc2004_task1", "svc2004")
    return ds.genuine("U3")[:5]


@pytest.fixture(scope="module")
def leap_refs(shared_data):
    ds = load_dataset(shared_data / "leap_air_signatures", "leapcsv")
    return ds.genuine(ds.identities[0])[:5]


def _same(a: list[Trajectory], b: list[Trajectory]) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(x.t, y.t) and np.array_equal(x.positions, y.positions)
        and x.meta.extra == y.meta.extra for x, y in zip(a, b))


@pytest.mark.parametrize("which", ["svc_refs", "leap_refs"])
def test_deterministic_per_seed_and_valid(which, request):
    refs = request.getfixturevalue(which)
    cfg = CandidateConfig(per_reference=9)
    a = generate_candidates(refs, cfg, np.random.default_rng(7))
    b = generate_candidates(refs, cfg, np.random.default_rng(7))
    c = generate_candidates(refs, cfg, np.random.default_rng(8))
    assert _same(a, b)
    assert not _same(a, c)
    assert len(a) == 9 * len(refs)
    sources = {r.meta.source for r in refs}
    for cand in a:
        # re-validate from scratch: finite, increasing time, shapes
        again = Trajectory(cand.t, cand.positions, cand.channels, cand.meta)
        assert again.dims == refs[0].dims
        assert np.all(np.isfinite(cand.positions))
        assert set(cand.meta.extra["parent_sources"]) <= sources
        assert cand.meta.user == refs[0].meta.user
        assert cand.meta.extra["transform"].split("+")[0] in TRANSFORMS
        assert set(cand.channels) == set(refs[0].channels)


def test_pen_state_stays_binary(svc_refs):
    cands = generate_candidates(svc_refs, CandidateConfig(per_reference=20),
                                np.random.default_rng(0))
    for cand in cands:
        pen = cand.channels["pen_down"]
        assert pen.shape == (len(cand),)
        assert set(np.unique(pen)) <= {0.0, 1.0}


def test_every_transform_on_both_kinds(svc_refs, leap_refs):
    for refs in (svc_refs, leap_refs):
        for name in TRANSFORMS:
            cfg = CandidateConfig(per_reference=2, transforms=(name,), strengths=(0.5, 2.0),
                                  compound=0.0)
            out = generate_candidates(refs, cfg, np.random.default_rng(1))
            assert len(out) == 2 * len(refs)
            assert all(np.all(np.isfinite(c.positions)) for c in out)


def test_single_reference_works(leap_refs):
    out = generate_candidates(leap_refs[:1], CandidateConfig(per_reference=12),
                              np.random.default_rng(3))
    assert len(out) == 12
    assert all(c.meta.extra["parents"] == [0] for c in out)


def test_calibrated_strength_is_graded(svc_refs):
    """Strength s moves a displacement candidate about s x the references' own spread."""
    cfg = FeatureConfig()
    spread = reference_spread(svc_refs)
    seqs = [feature_sequence(r, cfg) for r in svc_refs]
    means = []
    for s in (0.5, 1.0, 2.0):
        out = generate_candidates(
            svc_refs, CandidateConfig(per_reference=2, transforms=("jitter", "distort"),
                                      strengths=(s,), compound=0.0),
            np.random.default_rng(5))
        d = [dtw_distance(feature_sequence(c, cfg), seqs[c.meta.extra["parents"][0]], 0.1)
             for c in out]
        means.append(np.mean(d) / spread)
    assert means[0] < means[1] < means[2]
    assert 0.6 < means[1] < 1.4
