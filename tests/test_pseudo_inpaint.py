"""Mask-and-inpaint generators ("gan", "vae-inpaint"): valid, deterministic, fold-honest,
cached with a version, bounded on a tiny run."""

from __future__ import annotations

import numpy as np
import pytest

from authapp.harness import experiment
from capture.datasets import load_dataset
from capture.trajectory import Label, Trajectory
from models.pseudo import (
    PseudoData,
    PseudoDataError,
    dump_generator,
    load_generator,
    make_generator,
)
from models.pseudo.inpaint_repr import encode, sample_mask, segments, taper

NAMES = ("gan", "vae-inpaint")
TINY = {"steps": 12, "length": 32, "hidden": 16, "latent": 8, "batch_size": 16,
        "n_genuine": 3, "n_impostors": 4}


@pytest.fixture(scope="module")
def background(svc_task1):
    # other people only: users 15-20, four samples each
    return [t for i in ("U15", "U16", "U17", "U18", "U19", "U20") for t in svc_task1.genuine(i)[:4]]


@pytest.fixture(scope="module")
def fitted(background):
    return {n: make_generator(n, **TINY).fit(background) for n in NAMES}


def _same(a: PseudoData, b: PseudoData) -> bool:
    pa, pb = a.genuine + a.impostors, b.genuine + b.impostors
    return len(a.genuine) == len(b.genuine) and len(pa) == len(pb) and all(
        np.array_equal(x.positions, y.positions) and np.array_equal(x.t, y.t)
        for x, y in zip(pa, pb))


def _check(pd: PseudoData, refs: list[Trajectory], name: str) -> None:
    assert len(pd.genuine) == TINY["n_genuine"] and len(pd.impostors) == TINY["n_impostors"]
    for kind, items in (("genuine", pd.genuine), ("impostor", pd.impostors)):
        for t in items:
            Trajectory(t.t, t.positions, t.channels, t.meta)  # passes validation again
            extra = t.meta.extra
            assert extra["pseudo"] == kind and extra["generator"] == name
            assert t.meta.label == (Label.GENUINE if kind == "genuine" else Label.IMPOSTOR)
            (p,) = extra["parents"]
            parent = refs[p]
            assert extra["parent_sources"] == [parent.meta.source]
            # the parent's real timestamps, frames, dims and extra channels; new positions
            assert np.array_equal(t.t, parent.t) and t.dims == parent.dims
            assert set(t.channels) == set(parent.channels)
            assert np.all(np.isfinite(t.positions))
            assert not np.allclose(t.positions, parent.positions)
            assert extra["transform"].endswith("inpaint")


@pytest.mark.parametrize("name", NAMES)
def test_generate_is_valid_and_deterministic(fitted, u1_refs, name):
    gen = fitted[name]
    a = gen.generate(u1_refs, seed=3)
    _check(a, u1_refs, name)
    assert _same(a, gen.generate(u1_refs, seed=3))
    assert not _same(a, gen.generate(u1_refs, seed=4))


@pytest.mark.parametrize("name", NAMES)
def test_only_the_masked_stretch_changes(fitted, u1_refs, name):
    """Outside the regenerated segments (plus one resampled step of taper support) every frame
    keeps the user's own position: the sample is the user's except for a foreign segment."""
    pd = fitted[name].generate(u1_refs, seed=5)
    step = 1.0 / (TINY["length"] - 1)
    for t in pd.impostors + pd.genuine:
        parent = u1_refs[t.meta.extra["parents"][0]]
        u = parent.t / parent.duration
        inside = np.zeros(len(parent), dtype=bool)
        for a, b in t.meta.extra["masked"]:
            inside |= (u > a - step) & (u < b + step)
        assert 0.05 <= t.meta.extra["mask_fraction"] <= 0.45
        assert np.allclose(t.positions[~inside], parent.positions[~inside])
        assert not np.allclose(t.positions[inside], parent.positions[inside])


def test_masks_cover_the_asked_fraction_in_few_segments():
    rng = np.random.default_rng(0)
    for _ in range(200):
        m = sample_mask(rng, 64, (0.1, 0.4), max_segments=2)
        assert 1 <= len(segments(m)) <= 2
        assert 0.06 <= m.mean() <= 0.45
        w = taper(m)
        assert np.all(w[m == 0] == 0) and np.all((w[m == 1] > 0) & (w[m == 1] <= 1))


def test_representation_has_position_and_velocity_channels(u1_refs):
    arr, centre, size = encode(u1_refs[0], 32)
    assert arr.shape == (4, 32) and arr.dtype == np.float32 and size > 0
    assert centre.shape == (2,) and np.all(u1_refs[0].positions.min(0) <= centre)
    assert np.allclose(arr[:2].mean(axis=1), 0.0, atol=1e-5)  # centred positions
    assert np.allclose(arr[2:], np.gradient(arr[:2], axis=1), atol=1e-5)  # their velocity


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", NAMES)
def test_training_is_deterministic_and_bounded(background, name):
    """A tiny run (few steps) finishes well inside the timeout; the same seed gives the same
    network, another seed another one."""
    a = make_generator(name, **TINY, pretrain_seed=1).fit(background)
    b = make_generator(name, **TINY, pretrain_seed=1).fit(background)
    c = make_generator(name, **TINY, pretrain_seed=2).fit(background)
    wa, wb, wc = a.get_state()[1], b.get_state()[1], c.get_state()[1]
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert any(not np.array_equal(wa[k], wc[k]) for k in wa)


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip(fitted, u1_refs, name):
    again = load_generator(dump_generator(fitted[name]))
    assert type(again) is type(fitted[name])
    assert _same(fitted[name].generate(u1_refs, seed=11), again.generate(u1_refs, seed=11))


def test_learns_only_from_what_fit_got(fitted, background, svc_task1, u1_refs):
    """The network is a function of the background alone: it records whom it learned from,
    and the user's held-out recordings (or anyone else) never enter unless passed to fit."""
    gen = fitted["gan"]
    assert gen.background_users_ == ["U15", "U16", "U17", "U18", "U19", "U20"]
    held_out = svc_task1.genuine("U1")[5:]
    leaky = make_generator("gan", **TINY).fit(background + held_out)
    assert "U1" in leaky.background_users_
    w, wl = gen.get_state()[1], leaky.get_state()[1]
    assert any(not np.array_equal(w[k], wl[k]) for k in w)
    # generation reads the references only: its output depends on nothing else
    pd = gen.generate(u1_refs, seed=7)
    for t in pd.genuine + pd.impostors:
        for h in held_out:
            assert len(h) != len(t) or not np.allclose(h.positions, t.positions)


def test_harness_fits_each_fold_on_the_other_fold_only(shared_data):
    """The fold rule through the harness: each fold's generator learned from the identities of
    the other fold, never from a user it generates for or an impostor of that user."""
    data = shared_data / "svc2004_task1"
    cfg = experiment.ExperimentConfig(data_dir=data, format="svc2004", references=5,
                                      seeds=(0,), methods=("dtw",), pseudo="on",
                                      generators=("vae-inpaint",),
                                      generator_params={"vae-inpaint": {**TINY, "steps": 2}})
    ds = experiment.load(data, "svc2004")
    fold_of = experiment.assign_folds(ds.identities, ds.identities, 2, cfg.fold_seed)
    fitted, _ = experiment.fit_generators(cfg, ds, fold_of)
    for fold, gens in fitted.items():
        learned = set(gens["vae-inpaint"].background_users_)
        members = {i for i, f in fold_of.items() if f == fold}
        assert learned and not learned & members
        assert learned == {i for i, f in fold_of.items() if f != fold}


def test_weights_are_cached_with_a_version(background, u1_refs, tmp_path, monkeypatch):
    monkeypatch.delenv("AIRAUTH_PSEUDO_CACHE", raising=False)
    first = make_generator("gan", cache_dir=str(tmp_path), **TINY).fit(background)
    files = sorted(tmp_path.glob("gan-v*.npz"))
    assert first.weights_ == "trained" and len(files) == 1
    again = make_generator("gan", cache_dir=str(tmp_path), **TINY).fit(background)
    assert again.weights_ == "cached"
    assert _same(first.generate(u1_refs, seed=5), again.generate(u1_refs, seed=5))
    # generation settings are not part of the recipe: the same network serves them
    more = make_generator("gan", cache_dir=str(tmp_path), **{**TINY, "n_impostors": 6})
    assert more.fit(background).weights_ == "cached"
    # a changed training recipe is another family: retrained, the old file left alone
    other = make_generator("gan", cache_dir=str(tmp_path), **{**TINY, "steps": 13})
    assert other.fit(background).weights_ == "trained"
    assert len(list(tmp_path.glob("gan-v*.npz"))) == 2
    # a grown background misses; the product may reuse the newest network of the recipe
    grown = background + u1_refs[:2]
    reused = make_generator("gan", cache_dir=str(tmp_path), reuse_weights=True, **TINY)
    assert reused.fit(grown).weights_ == "cached-reused"
    # a damaged file is refused and trained over, never a crash
    files[0].write_bytes(b"garbage")
    fixed = make_generator("gan", cache_dir=str(tmp_path), **TINY).fit(background)
    assert fixed.weights_ == "trained"
    assert _same(first.generate(u1_refs, seed=5), fixed.generate(u1_refs, seed=5))
    # no folder and no $AIRAUTH_PSEUDO_CACHE: nothing written anywhere
    plain = make_generator("gan", **TINY).fit(background)
    assert plain.weights_ == "trained" and plain.cache_dir is None


@pytest.mark.parametrize("name", NAMES)
def test_without_background_gives_nothing(u1_refs, name):
    gen = make_generator(name, **TINY).fit([])
    assert len(gen.generate(u1_refs, seed=0)) == 0
    assert len(load_generator(dump_generator(gen)).generate(u1_refs, seed=0)) == 0


def test_in_air_data_and_dimension_errors(shared_data, fitted):
    ds = load_dataset(shared_data / "leap_air_signatures", "leapcsv")
    ids = ds.identities
    bg = [t for i in ids[1:5] for t in ds.genuine(i)[:3]]
    air = ds.genuine(ids[0])[:3]
    pd = make_generator("vae-inpaint", **TINY, pretrain_seed=1).fit(bg).generate(air, seed=2)
    _check(pd, air, "vae-inpaint")
    assert all(t.dims == 3 for t in pd.genuine + pd.impostors)
    with pytest.raises(PseudoDataError, match="2-D"):
        fitted["gan"].generate(air, seed=0)  # fitted on pen data
    with pytest.raises(PseudoDataError, match="mixes"):
        make_generator("gan", **TINY).fit(bg + fitted_bg_2d(shared_data))
    with pytest.raises(ValueError, match="length"):
        make_generator("gan", **{**TINY, "length": 50}).fit(bg)


def fitted_bg_2d(shared_data) -> list[Trajectory]:
    return load_dataset(shared_data / "svc2004_task1", "svc2004").genuine("U2")[:2]
