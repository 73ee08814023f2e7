"""Pseudo-data generators: the interface the harness and the store code against."""

from __future__ import annotations

import numpy as np
import pytest

from capture.datasets import load_dataset
from capture.trajectory import Label, Trajectory
from core.errors import AirAuthError, TrajectoryError
from models.base import NotFittedError
from models.pseudo import (
    PseudoData,
    PseudoDataError,
    UnknownGeneratorError,
    dump_generator,
    load_generator,
    make_generator,
)

TINY_NET = {"epochs": 2, "image_size": 32, "width": 0.25, "depth": 0.25, "batch_size": 16}


@pytest.fixture(scope="module")
def background(svc_task1):
    # other people only: users 15-20, four samples each
    return [t for i in ("U15", "U16", "U17", "U18", "U19", "U20") for t in svc_task1.genuine(i)[:4]]


@pytest.fixture(scope="module")
def fitted(background):
    return {
        # impostor output is off by default (it hurt the SVMs, see README): test it explicitly
        "pseudo": make_generator("pseudo", embedder=TINY_NET, max_impostors=10,
                                 candidates={"per_reference": 12}).fit(background),
        "vae": make_generator("vae", epochs=20, n_impostors=5).fit(background),
    }


def _check_output(pd: PseudoData, refs: list[Trajectory], name: str,
                  impostors: bool = True) -> None:
    sources = {r.meta.source for r in refs}
    assert len(pd.genuine) > 0 and (len(pd.impostors) > 0 or not impostors)
    for kind, items in (("genuine", pd.genuine), ("impostor", pd.impostors)):
        for t in items:
            Trajectory(t.t, t.positions, t.channels, t.meta)  # passes validation again
            assert np.all(np.isfinite(t.positions))
            assert t.meta.extra["pseudo"] == kind
            assert t.meta.extra["generator"] == name
            assert t.meta.label == (Label.GENUINE if kind == "genuine" else Label.IMPOSTOR)
            assert "transform" in t.meta.extra and "strength" in t.meta.extra
            # provenance: made from the references and nothing else
            assert set(t.meta.extra["parent_sources"]) <= sources
            assert t.meta.user == refs[0].meta.user
            assert t.dims == refs[0].dims


def _same(a: PseudoData, b: PseudoData) -> bool:
    pa, pb = a.genuine + a.impostors, b.genuine + b.impostors
    return len(a.genuine) == len(b.genuine) and len(pa) == len(pb) and all(
        np.array_equal(x.positions, y.positions) and np.array_equal(x.t, y.t)
        for x, y in zip(pa, pb))


@pytest.mark.parametrize("name", ["pseudo", "vae"])
def test_generate_is_valid_deterministic_and_from_references_only(fitted, u1_refs, name):
    gen = fitted[name]
    a = gen.generate(u1_refs, seed=3)
    _check_output(a, u1_refs, name)
    assert _same(a, gen.generate(u1_refs, seed=3))
    assert not _same(a, gen.generate(u1_refs, seed=4))


@pytest.mark.parametrize("name", ["pseudo", "vae"])
def test_state_round_trip(fitted, u1_refs, name):
    gen = fitted[name]
    again = load_generator(dump_generator(gen))
    assert type(again) is type(gen)
    assert _same(gen.generate(u1_refs, seed=11), again.generate(u1_refs, seed=11))


def test_limits_are_respected(background, u1_refs, fitted):
    gen = fitted["pseudo"]
    saved = gen.max_genuine, gen.max_impostors
    try:
        gen.max_genuine, gen.max_impostors = 3, 2
        pd = gen.generate(u1_refs, seed=0)
        assert len(pd.genuine) <= 3 and len(pd.impostors) <= 2
    finally:
        gen.max_genuine, gen.max_impostors = saved


def test_pseudo_without_background_falls_back(u1_refs):
    gen = make_generator("pseudo", candidates={"per_reference": 10}).fit([])
    assert gen.embedder_ is None
    pd = gen.generate(u1_refs, seed=0)
    _check_output(pd, u1_refs, "pseudo", impostors=False)  # defaults: pseudo-genuine only
    assert _same(pd, load_generator(dump_generator(gen)).generate(u1_refs, seed=0))


def test_vae_without_background_gives_nothing(u1_refs):
    pd = make_generator("vae").fit([]).generate(u1_refs, seed=0)
    assert len(pd) == 0


def test_works_on_in_air_data(shared_data):
    ds = load_dataset(shared_data / "leap_air_signatures", "leapcsv")
    ids = ds.identities
    bg = [t for i in ids[1:5] for t in ds.genuine(i)[:3]]
    refs = ds.genuine(ids[0])[:4]
    gen = make_generator("pseudo", embedder=TINY_NET, candidates={"per_reference": 8},
                         max_impostors=5, pretrain_seed=1, random_state=2)
    pd = gen.fit(bg).generate(refs)
    _check_output(pd, refs, "pseudo")
    pd = make_generator("vae", epochs=10, n_impostors=3, pretrain_seed=1,
                        random_state=2).fit(bg).generate(refs)
    _check_output(pd, refs, "vae")


def test_bad_input_is_a_clear_error(fitted, u1_refs, shared_data):
    with pytest.raises(UnknownGeneratorError, match="unknown pseudo-data generator"):
        make_generator("nope")
    with pytest.raises(NotFittedError):
        make_generator("vae").generate(u1_refs, seed=0)
    with pytest.raises(TrajectoryError):
        fitted["pseudo"].generate([], seed=0)
    with pytest.raises(TrajectoryError):
        fitted["pseudo"].generate(["not a trajectory"], seed=0)
    ds = load_dataset(shared_data / "leap_air_signatures", "leapcsv")
    air = ds.genuine(ds.identities[0])[:3]
    with pytest.raises(PseudoDataError, match="2-D"):
        fitted["pseudo"].generate(air, seed=0)  # fitted on pen data
    with pytest.raises(AirAuthError):
        load_generator(b"not a generator")


def test_weights_are_cached_with_a_version(background, u1_refs, tmp_path, monkeypatch):
    """Trained weights go only where asked; an exact hit or a reuse skips training."""
    monkeypatch.delenv("AIRAUTH_PSEUDO_CACHE", raising=False)
    params = {"embedder": TINY_NET, "candidates": {"per_reference": 6}}
    first = make_generator("pseudo", cache_dir=str(tmp_path), **params).fit(background)
    files = sorted(tmp_path.glob("efficientnet-v*.npz"))
    assert first.weights_ == "trained" and len(files) == 1
    again = make_generator("pseudo", cache_dir=str(tmp_path), **params).fit(background)
    assert again.weights_ == "cached"
    assert _same(first.generate(u1_refs, seed=5), again.generate(u1_refs, seed=5))
    # a grown background: exact miss; the product reuses the newest network of the recipe
    grown = background + u1_refs[:2]
    reused = make_generator("pseudo", cache_dir=str(tmp_path), reuse_weights=True,
                            **params).fit(grown)
    assert reused.weights_ == "cached-reused" and len(list(tmp_path.glob("*.npz"))) == 1
    # a damaged file is retrained over, never a crash
    files[0].write_bytes(b"garbage")
    fixed = make_generator("pseudo", cache_dir=str(tmp_path), **params).fit(background)
    assert fixed.weights_ == "trained"
    # no folder given and no $AIRAUTH_PSEUDO_CACHE: nothing written anywhere
    plain = make_generator("pseudo", **params).fit(background)
    assert plain.weights_ == "trained" and plain.cache_dir is None


def test_never_uses_held_out_samples(fitted, svc_task1, u1_refs):
    """Pseudo data depends on the references alone: every sample's parents are references,
    and no pseudo sample is (a near-copy of) one of the user's held-out recordings."""
    held_out = svc_task1.genuine("U1")[5:] + svc_task1.forgeries("U1")
    for gen in fitted.values():
        pd = gen.generate(u1_refs, seed=7)
        for t in pd.genuine + pd.impostors:
            assert all(0 <= p < len(u1_refs) for p in t.meta.extra["parents"])
            for h in held_out:
                assert len(h) != len(t) or not np.allclose(h.positions, t.positions)
