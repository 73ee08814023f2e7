"""Pseudo-data generators: the interface the harness and the store code against."""

from __future__ import annotations

import numpy as np
import pytest

from capture.datasets import load_dataset
from capture.errors import AirAuthError, TrajectoryError
from capture.trajectory import Label, Trajectory
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
def svc(shared_data):
    return load_dataset(shared_data / "svc2004_task1", "svc2004")


@pytest.fixture(scope="module")
def refs(svc):
    return svc.genuine("U1")[:5]


@pytest.fixture(scope="module")
def background(svc):
    # other people only: users 15-20, four samples each
    return [t for i in ("U15", "U16", "U17", "U18", "U19", "U20") for t in svc.genuine(i)[:4]]


@pytest.fixture(scope="module")
def fitted(background):
    return {
        "pseudo": make_generator("pseudo", embedder=TINY_NET,
                                 candidates={"per_reference": 12}).fit(background, seed=0),
        "vae": make_generator("vae", epochs=20).fit(background, seed=0),
    }


def _check_output(pd: PseudoData, refs: list[Trajectory], name: str) -> None:
    sources = {r.meta.source for r in refs}
    assert len(pd.genuine) + len(pd.impostors) > 0
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
def test_generate_is_valid_deterministic_and_from_references_only(fitted, refs, name):
    gen = fitted[name]
    a = gen.generate(refs, seed=3)
    _check_output(a, refs, name)
    assert _same(a, gen.generate(refs, seed=3))
    assert not _same(a, gen.generate(refs, seed=4))


@pytest.mark.parametrize("name", ["pseudo", "vae"])
def test_state_round_trip(fitted, refs, name):
    gen = fitted[name]
    again = load_generator(dump_generator(gen))
    assert type(again) is type(gen)
    assert _same(gen.generate(refs, seed=11), again.generate(refs, seed=11))


def test_limits_are_respected(background, refs, fitted):
    gen = fitted["pseudo"]
    saved = gen.max_genuine, gen.max_impostors
    try:
        gen.max_genuine, gen.max_impostors = 3, 2
        pd = gen.generate(refs, seed=0)
        assert len(pd.genuine) <= 3 and len(pd.impostors) <= 2
    finally:
        gen.max_genuine, gen.max_impostors = saved


def test_pseudo_without_background_falls_back(refs):
    gen = make_generator("pseudo", candidates={"per_reference": 10}).fit([], seed=0)
    assert gen.embedder_ is None
    pd = gen.generate(refs, seed=0)
    _check_output(pd, refs, "pseudo")
    assert _same(pd, load_generator(dump_generator(gen)).generate(refs, seed=0))


def test_vae_without_background_gives_nothing(refs):
    pd = make_generator("vae").fit([], seed=0).generate(refs, seed=0)
    assert len(pd) == 0


def test_works_on_in_air_data(shared_data):
    ds = load_dataset(shared_data / "leap_air_signatures", "leapcsv")
    ids = ds.identities
    bg = [t for i in ids[1:5] for t in ds.genuine(i)[:3]]
    refs = ds.genuine(ids[0])[:4]
    gen = make_generator("pseudo", embedder=TINY_NET, candidates={"per_reference": 8})
    pd = gen.fit(bg, seed=1).generate(refs, seed=2)
    _check_output(pd, refs, "pseudo")
    pd = make_generator("vae", epochs=10).fit(bg, seed=1).generate(refs, seed=2)
    _check_output(pd, refs, "vae")


def test_bad_input_is_a_clear_error(fitted, refs, shared_data):
    with pytest.raises(UnknownGeneratorError, match="unknown pseudo-data generator"):
        make_generator("nope")
    with pytest.raises(NotFittedError):
        make_generator("vae").generate(refs, seed=0)
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
