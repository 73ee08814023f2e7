"""Seeds of the pseudo-data generators enter as constructor parameters (issue 25):
``pretrain_seed`` seeds ``fit``, ``random_state`` seeds ``generate``; the harness's per-fold and
per-(seed, identity) seeds reach them, and the streams are the ones the per-call seeds gave."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scriptkit import load_script

from authapp.harness import experiment
from authapp.harness.draws import identity_seed
from models.base import ParameterError
from models.pseudo import PseudoData, dump_generator, load_generator, make_generator
from models.pseudo.embedding import EfficientNetEmbedder
from models.pseudo.vae import VAEGenerator

TINY = {
    "pseudo": {"embedder": {"epochs": 1, "image_size": 32, "width": 0.25, "depth": 0.25,
                            "batch_size": 16},
               "candidates": {"per_reference": 6}, "max_impostors": 4},
    "vae": {"epochs": 3, "length": 16, "hidden": 16, "latent": 4, "n_genuine": 3,
            "n_impostors": 3},
    "gan": {"steps": 4, "length": 32, "hidden": 16, "latent": 8, "batch_size": 16,
            "n_genuine": 3, "n_impostors": 3},
    "vae-inpaint": {"steps": 4, "length": 32, "hidden": 16, "latent": 8, "batch_size": 16,
                    "n_genuine": 3, "n_impostors": 3},
}
NAMES = tuple(TINY)
COMPAT = Path(__file__).parent / "data" / "model_compat"


@pytest.fixture(scope="module")
def background(svc_task1):
    return [t for i in ("U15", "U16", "U17", "U18") for t in svc_task1.genuine(i)[:4]]


@pytest.fixture(scope="module")
def fitted(background):
    return {n: make_generator(n, **p).fit(background) for n, p in TINY.items()}


def _arrays(pd: PseudoData) -> list[np.ndarray]:
    return [t.positions for t in pd.genuine + pd.impostors]


def _same(a: PseudoData, b: PseudoData) -> bool:
    xa, xb = _arrays(a), _arrays(b)
    return (len(a.genuine) == len(b.genuine) and len(xa) == len(xb)
            and all(np.array_equal(x, y) for x, y in zip(xa, xb)))


@pytest.mark.parametrize("name", NAMES)
def test_random_state_repeats_and_two_differ(fitted, u1_refs, name):
    gen = fitted[name]
    a = gen.with_random_state(7).generate(u1_refs)
    assert len(a) > 0
    assert _same(a, gen.with_random_state(7).generate(u1_refs))
    assert not _same(a, gen.with_random_state(8).generate(u1_refs))
    assert {t.meta.extra["seed"] for t in a.genuine + a.impostors} == {7}


@pytest.mark.parametrize("name", NAMES)
def test_the_constructor_gives_the_stream_the_call_seed_gave(fitted, background, u1_refs, name):
    """``random_state=s`` draws exactly what ``generate(u1_refs, seed=s)`` drew, whether set
    through the constructor, ``set_params`` or ``with_random_state``."""
    gen = fitted[name]
    by_call = gen.generate(u1_refs, seed=5)
    assert _same(by_call, gen.with_random_state(5).generate(u1_refs))
    built = make_generator(name, **TINY[name], random_state=5).fit(background)
    assert _same(by_call, built.generate(u1_refs))
    assert _same(by_call, make_generator(name, **TINY[name]).fit(background)
                 .set_params(random_state=5).generate(u1_refs))
    assert _same(gen.generate(u1_refs), gen.generate(u1_refs, seed=0))  # the default is 0


@pytest.mark.parametrize("name", NAMES)
def test_with_random_state_leaves_the_fitted_generator_alone(fitted, u1_refs, name):
    gen = fitted[name]
    before = gen.generate(u1_refs)
    copy = gen.with_random_state(3)
    assert copy is not gen and copy.random_state == 3 and gen.random_state == 0
    assert copy.pretrain_seed == gen.pretrain_seed
    assert _same(before, gen.generate(u1_refs))


@pytest.mark.parametrize("name", NAMES)
def test_seeds_are_stored_and_files_without_them_still_load(fitted, u1_refs, name):
    gen = fitted[name].with_random_state(4)
    again = load_generator(dump_generator(gen))
    assert (again.pretrain_seed, again.random_state) == (0, 4)
    assert _same(gen.generate(u1_refs), again.generate(u1_refs))
    params, arrays = gen.get_state()
    old = {k: v for k, v in params.items() if k not in ("pretrain_seed", "random_state")}
    loaded = type(gen).from_state(old, arrays)  # a file written before the parameters
    assert (loaded.pretrain_seed, loaded.random_state) == (0, 0)
    assert _same(gen.generate(u1_refs, seed=0), loaded.generate(u1_refs))


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True, np.random.default_rng(0)])
@pytest.mark.parametrize("param", ["pretrain_seed", "random_state"])
def test_seeds_must_be_ints(background, u1_refs, fitted, param, bad):
    with pytest.raises(ParameterError, match=param):
        make_generator("vae", **{**TINY["vae"], param: bad}).fit(background)
    if param == "random_state":
        with pytest.raises(ParameterError, match=param):
            fitted["vae"].with_random_state(bad)


def test_pretrain_seed_seeds_the_networks(background):
    def weights(gen):
        return gen.get_state()[1]

    a, b, c = (make_generator("vae", **TINY["vae"], pretrain_seed=s).fit(background)
               for s in (1, 1, 2))
    wa, wb, wc = weights(a), weights(b), weights(c)
    assert wa and all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert any(not np.array_equal(wa[k], wc[k]) for k in wa)
    # the "pseudo" generator's embedding network is trained with its pretrain_seed
    emb = make_generator("pseudo", **TINY["pseudo"], pretrain_seed=3).fit(background).embedder_
    assert emb.random_state == 3


def test_embedder_random_state(background):
    labels = [t.meta.user for t in background]
    params = {**TINY["pseudo"]["embedder"], "epochs": 1}

    def trained(seed):
        return EfficientNetEmbedder(**params, random_state=seed).fit(background, labels)

    a, b, c = trained(1), trained(1), trained(2)
    x = a.transform(background[:3])
    np.testing.assert_array_equal(x, b.transform(background[:3]))
    assert not np.array_equal(x, c.transform(background[:3]))
    again = EfficientNetEmbedder.from_state(*a.get_state())
    assert again.random_state == 1


def test_a_stored_generator_reproduces_its_output_through_random_state():
    """The compat file's generator (``tests/data/model_compat``) generated with seed=1 when it
    was made; with ``random_state=1`` it gives the same samples."""
    make = load_script(COMPAT / "make.py", "model_compat_make")
    want = json.loads((COMPAT / "expected.json").read_text())["generators"]["vae-3d"]
    g = load_generator((COMPAT / "vae-3d.npz").read_bytes()).with_random_state(1)
    genuine, _, _ = make.data(want["dims"])
    out = g.generate(genuine)
    got = [t.positions[::25].round(6).tolist() for t in out.genuine]
    assert len(got) == len(want["genuine"]) > 0
    for a, b in zip(got, want["genuine"]):
        np.testing.assert_allclose(a, b, atol=2e-6)


def test_the_harness_seeds_reach_the_generator(shared_data, monkeypatch):
    """Each fold's generator is built with the fold's pretrain_seed; each (seed, identity)
    generates with its own random_state (two seeds: two streams), the fold's copy untouched."""
    cfg = experiment.ExperimentConfig(
        data_dir=shared_data / "svc2004_task1", format="svc2004", references=5, seeds=(0, 1),
        methods=("dtw",), pseudo="on", generators=("vae",), calibration="none",
        generator_params={"vae": TINY["vae"]})
    plan = experiment.plan_experiment(cfg)
    fitted, _ = experiment.fit_generators(plan.config, plan.dataset, plan.fold_of)
    for fold, gens in fitted.items():
        assert gens["vae"].pretrain_seed == identity_seed(cfg.fold_seed, f"fold{fold}", "vae")
    seen: list[tuple[int, int, PseudoData]] = []
    generate = VAEGenerator._generate

    def spy(self, references, seed):
        out = generate(self, references, seed)
        seen.append((self.random_state, seed, out))
        return out

    monkeypatch.setattr(VAEGenerator, "_generate", spy)
    job = replace(plan.jobs[0], generators=fitted[plan.jobs[0].fold])
    trials, _ = experiment.evaluate_identity(job)
    want = [identity_seed(s, job.identity, "pseudo:vae") for s in (0, 1)]
    assert want[0] != want[1]
    assert [(rs, s) for rs, s, _ in seen] == [(w, w) for w in want]
    assert all(len(pd) > 0 for _, _, pd in seen)
    assert {t.method for t in trials} == {"dtw+vae"}
    assert fitted[job.fold]["vae"].random_state == 0
    # a random_state the run's generator params name wins, as a verifier's own one does
    seen.clear()
    named = replace(plan.config, generator_params={"vae": {**TINY["vae"], "random_state": 9}})
    refitted, _ = experiment.fit_generators(named, plan.dataset, plan.fold_of)
    experiment.evaluate_identity(replace(job, config=named, generators=refitted[job.fold]))
    assert [(rs, s) for rs, s, _ in seen] == [(9, 9), (9, 9)]


def test_the_enrollment_seed_reaches_the_generator(fitted, u1_refs):
    """The product's pipeline generates with the settings' seed as the random_state."""
    from models.enrollment import EnrollmentSettings, build_user_model

    gen = fitted["vae"]
    out = {}
    for seed in (5, 6):
        settings = EnrollmentSettings(verifier="dtw", calibrated=False, check_quality=False,
                                      seed=seed)
        model = build_user_model(u1_refs, settings, generator=gen)
        want = gen.with_random_state(seed).generate(u1_refs)
        assert [t.positions.tolist() for t in model.pseudo_genuine] == [
            t.positions.tolist() for t in want.genuine]
        out[seed] = model.pseudo_genuine
    assert not np.array_equal(out[5][0].positions, out[6][0].positions)
    assert gen.random_state == 0
