"""One-class GAN detectors: the networks on arrays, GANomaly / f-AnoGAN on arrays and digits,
and both as registered verifiers (pretrained on the background, adapted, stored, fused)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scriptkit import load_script
from sklearn.base import clone

from authapp.cli import main
from capture.trajectory import Trajectory
from core.errors import TrajectoryError
from models.base import NotFittedError, ParameterError
from models.nn.gan import gradient_penalty
from models.nn.nets import ConvDecoder, ConvEncoder, check_length
from models.oneclass import verifiers
from models.oneclass.fanogan import FAnoGAN
from models.oneclass.ganomaly import GANomaly
from models.pseudo.inpaint_net import InpaintNet
from models.registry import make_verifier
from models.serialization import dump_verifier, load_verifier

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "oneclass_digits.py"
_EPOCHS = {"epochs": 25, "hidden": 8, "latent": 8}
_WGAN = {"gan_steps": 25, "critic_steps": 2, "hidden": 8, "latent": 8}
TINY = {"ganomaly": _EPOCHS, "fanogan": {**_WGAN, "encoder_steps": 40},
        "anogan": {**_WGAN, "search_steps": 20}, "egbad": _EPOCHS,
        "alad": {**_EPOCHS, "epochs": 60},  # three adversaries: slower to train
        "ocgan": _EPOCHS, "fencegan": _EPOCHS, "skip-ganomaly": {"epochs": 25, "hidden": 8},
        "autoencoder": _EPOCHS, "berg": _WGAN}
DETECTORS = {kind: verifiers._detector_class(kind) for kind in verifiers.DETECTORS}
NEW = ["anogan", "egbad", "alad", "ocgan", "fencegan", "skip-ganomaly", "autoencoder", "berg"]


# -- networks on arrays ------------------------------------------------------------------------
@pytest.mark.parametrize("length", [8, 16, 32, 64])
def test_network_shapes(length):
    x = torch.randn(5, 6, length)
    enc, dec = ConvEncoder(6, length, 7, hidden=8), ConvDecoder(7, 6, length, hidden=8)
    assert enc(x).shape == (5, 7) and dec(enc(x)).shape == x.shape
    assert enc.features(x).shape[0] == 5
    mask = torch.zeros(5, 1, length)
    mask[:, :, 2:5] = 1.0
    out = InpaintNet(6, 4, hidden=8)(x, mask, torch.randn(5, 4))
    assert out.shape == x.shape
    keep = mask[0, 0] == 0
    assert torch.equal(out[:, :, keep], x[:, :, keep])  # only the masked frames are new
    assert not torch.allclose(out[:, :, ~keep], x[:, :, ~keep])


def test_bad_lengths_and_penalty():
    with pytest.raises(ValueError, match="length"):
        check_length(12)
    critic = ConvEncoder(3, 16, 1, hidden=8)
    gp = gradient_penalty(critic, torch.randn(4, 3, 16), torch.randn(4, 3, 16))
    assert gp.ndim == 0 and torch.isfinite(gp) and gp.item() >= 0


def _toy(n: int, rng: np.random.Generator, anomalous: bool = False) -> np.ndarray:
    """Normal: smooth sine waves of one frequency in 3 channels; anomalies: white noise."""
    t = np.linspace(0, 2 * np.pi, 16)
    if anomalous:
        return rng.standard_normal((n, 3, 16)).astype(np.float32)
    phase = rng.uniform(0, 0.5, (n, 3, 1))
    return (np.sin(t + phase) + 0.05 * rng.standard_normal((n, 3, 16))).astype(np.float32)


@pytest.mark.parametrize("kind", sorted(verifiers.DETECTORS))
def test_detector_learns_normal_deterministic_and_round_trips(kind):
    rng = np.random.default_rng(0)
    train, normal, odd = _toy(64, rng), _toy(20, rng), _toy(20, rng, anomalous=True)
    det = DETECTORS[kind](**TINY[kind], random_state=3).fit(train)
    a_norm, a_odd = det.anomaly(normal), det.anomaly(odd)
    assert np.all(np.isfinite(a_norm)) and np.median(a_odd) > np.median(a_norm)
    if det.log_scale():  # the verifiers compare these by their logarithm
        assert np.all(a_norm > 0) and np.all(a_odd > 0)
    assert np.array_equal(det.score_samples(normal), -a_norm)
    again = DETECTORS[kind](**TINY[kind], random_state=3).fit(train)
    assert np.array_equal(again.anomaly(odd), a_odd)  # same random_state, same detector
    other = DETECTORS[kind](**TINY[kind], random_state=4).fit(train)
    assert not np.array_equal(other.anomaly(odd), a_odd)  # another, another one
    copy = DETECTORS[kind].from_state(*det.get_state())
    assert copy.random_state == 3 and np.allclose(copy.anomaly(odd), a_odd)
    before = copy.anomaly(normal)
    twin = DETECTORS[kind].from_state(*det.get_state())
    copy.set_params(random_state=0).adapt(normal[:4], steps=5)  # moves the copy only
    assert not np.allclose(copy.anomaly(normal), before)
    assert np.array_equal(det.anomaly(normal), a_norm)
    twin.set_params(random_state=0).adapt(normal[:4], steps=5)  # adaptation repeats too
    assert np.array_equal(twin.anomaly(normal), copy.anomaly(normal))


@pytest.mark.parametrize("kind", sorted(verifiers.DETECTORS))
def test_detector_is_an_estimator(kind):
    """clone, get/set_params, ParameterError for unknown names and (at fit) bad values, the
    state refused for another kind, and every score name the class documents works."""
    cls = DETECTORS[kind]
    det = cls(**TINY[kind])
    twin = clone(det)
    assert twin is not det and twin.get_params() == det.get_params()
    assert not hasattr(twin, "channels_")
    with pytest.raises(ParameterError, match="no_such_param"):
        det.set_params(no_such_param=1)
    step = "gan_steps" if "gan_steps" in det.get_params() else "epochs"
    with pytest.raises(ParameterError):
        cls(**{**TINY[kind], step: 0}).fit(np.zeros((4, 3, 16)))
    for bad in (-1, 0.5, None):
        with pytest.raises(ParameterError, match="random_state"):
            cls(**TINY[kind], random_state=bad).fit(np.zeros((4, 3, 16)))
    fitted = cls(**TINY[kind]).fit(_toy(8, np.random.default_rng(0)))
    params, arrays = fitted.get_state()
    assert params["kind"] == kind
    other = next(k for k in sorted(DETECTORS) if k != kind)
    with pytest.raises(ValueError, match="state"):
        DETECTORS[other].from_state(params, arrays)
    with pytest.raises(ValueError, match="score"):
        fitted.anomaly(np.zeros((1, 3, 16)), "no-such-score")


def test_detector_input_errors():
    with pytest.raises(NotFittedError):
        GANomaly().anomaly(np.zeros((2, 3, 16)))
    det = GANomaly(**TINY["ganomaly"]).fit(np.zeros((4, 3, 16)))
    with pytest.raises(ValueError, match="channels"):
        det.anomaly(np.zeros((2, 4, 16)))
    with pytest.raises(ValueError, match="NaN"):
        det.anomaly(np.full((2, 3, 16), np.nan))
    with pytest.raises(ValueError, match="shape"):
        GANomaly().fit(np.zeros((3, 16)))
    with pytest.raises(ValueError, match="score"):
        FAnoGAN(**TINY["fanogan"], score="nope").fit(np.zeros((4, 3, 16))).anomaly(
            np.zeros((1, 3, 16)))


def _digits_module():
    return load_script(SCRIPT)


@pytest.mark.timeout(240)
def test_digits_benchmark_tiny_config():
    """The validation script runs end to end on a tiny config, and even tiny GAN detectors
    separate digit 0 from the other digits far above chance."""
    module = _digits_module()
    table = module.evaluate([0], seed=0, quick=True, verbose=False,
                            detectors=("kde", "ocsvm", "ganomaly", "fanogan"))
    assert set(table) == {"KDE", "OC-SVM", "GANomaly", "f-AnoGAN izi_f",
                          "f-AnoGAN latent norm"}
    assert table["KDE"][0] > 0.95 and table["OC-SVM"][0] > 0.95
    assert table["GANomaly"][0] > 0.75 and table["f-AnoGAN izi_f"][0] > 0.75
    assert 0.0 <= table["f-AnoGAN latent norm"][0] <= 1.0
    assert "| KDE |" in module.markdown(table, [0])


@pytest.mark.timeout(240)
def test_digits_benchmark_new_detectors_seeds_and_contamination(tmp_path, capsys,
                                                                monkeypatch):
    """The other detectors run in the script too (AnoGAN on f-AnoGAN's GAN), over two seeds
    and with contaminated training data (tiny budgets here); results saved by two runs merge
    into one table with an interval over seeds; the autoencoder separates digit 0."""
    module = _digits_module()
    tiny = {"autoencoder": {"epochs": 15}, "fanogan": TINY["fanogan"],
            "anogan": {"search_steps": 5}}
    monkeypatch.setattr(module, "configs", lambda quick=False: tiny)
    x_tr, y_tr, _, _ = module.load_split(0)
    clean = module.training_set(x_tr, y_tr, 0, 0.0, seed=0)
    dirty = module.training_set(x_tr, y_tr, 0, 0.02, seed=0)
    assert len(dirty) == len(clean) + 2 and np.array_equal(dirty[:len(clean)], clean)
    assert not any(np.array_equal(img, c) for img in dirty[len(clean):] for c in clean)
    dets = "autoencoder,anogan"
    args = ["--quick", "--digits", "0", "--detectors", dets, "--contamination", "0,0.02"]
    assert module.main([*args, "--seeds", "0", "--save", str(tmp_path / "a.json")]) == 0
    assert module.main([*args, "--seeds", "1", "--save", str(tmp_path / "b.json")]) == 0
    capsys.readouterr()
    assert module.main(["--digits", "0", "--merge",
                        f"{tmp_path / 'a.json'},{tmp_path / 'b.json'}"]) == 0
    out = capsys.readouterr().out
    for row in ("autoencoder", "AnoGAN"):
        assert f"| {row} | " in out
    line = next(ln for ln in out.splitlines() if ln.startswith("| AnoGAN | ") and "[" in ln)
    assert line.count("[") == 2 and "0.909" in line  # two intervals, the survey's figure
    saved = json.loads((tmp_path / "a.json").read_text())
    assert saved["auroc"]["0.0"]["autoencoder"]["0"][0] > 0.8
    with pytest.raises(SystemExit):
        module.main(["--detectors", "nope"])
    m, lo, hi = module.interval([0.8, 0.9, 1.0])
    assert m == pytest.approx(0.9) and lo < m < hi == 1.0  # t's 0.9 + 0.25 clipped: an AUROC
    assert module.interval([0.2, 0.9, 0.95])[1] == 0.0


# -- verifiers ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def background(svc_task1):
    return [t for i in ("U13", "U14", "U15", "U16", "U17", "U18", "U19", "U20")
            for t in svc_task1.genuine(i)[:5]]


def _tiny(kind: str, **extra) -> dict:
    return {"detector": TINY[kind], "adapt_steps": 5, **extra}


@pytest.mark.parametrize("kind", ["ganomaly", "fanogan"])
def test_verifier_pretrains_adapts_scores_and_round_trips(svc_task1, background, kind, tmp_path,
                                                          monkeypatch):
    monkeypatch.delenv("AIRAUTH_PSEUDO_CACHE", raising=False)
    verifiers.clear_memory()
    refs = svc_task1.genuine("U1")[:5]
    v = make_verifier(kind, **_tiny(kind, cache_dir=str(tmp_path))).fit(refs, background)
    assert v.pretrained_ and v.weights_ == "trained"
    assert len(list(tmp_path.glob(f"{kind}-v*.npz"))) == 1
    own, others = v.score_samples(refs), v.score_samples(background)
    assert np.all(np.isfinite(own)) and np.median(own) > np.median(others)
    assert v.threshold_ == 0.5
    again = load_verifier(dump_verifier(v))
    assert np.allclose(again.score_samples(svc_task1.genuine("U1")[5:]),
                       v.score_samples(svc_task1.genuine("U1")[5:]))
    # the next user of the same background reuses the pretrained network (memory, then disk)
    u2 = make_verifier(kind, **_tiny(kind, cache_dir=str(tmp_path)))
    assert u2.fit(svc_task1.genuine("U2")[:5], background).weights_ == "memory"
    # the fold rule: another background never gets a network pretrained on different people
    other = make_verifier(kind, **_tiny(kind, cache_dir=str(tmp_path)))
    assert other.fit(svc_task1.genuine("U2")[:5], background[5:]).weights_ == "trained"
    verifiers.clear_memory()
    u3 = make_verifier(kind, **_tiny(kind, cache_dir=str(tmp_path)))
    assert u3.fit(svc_task1.genuine("U3")[:5], background).weights_ == "cached"
    # a damaged cache file is trained over
    verifiers.clear_memory()
    for f in tmp_path.glob(f"{kind}-v*.npz"):
        f.write_bytes(b"not weights")
    u4 = make_verifier(kind, **_tiny(kind, cache_dir=str(tmp_path)))
    assert u4.fit(svc_task1.genuine("U4")[:5], background).weights_ == "trained"
    # another training recipe is another file, never the old network
    recipe = {**TINY[kind], "latent": 4}
    u5 = make_verifier(kind, **{**_tiny(kind, cache_dir=str(tmp_path)), "detector": recipe})
    assert u5.fit(svc_task1.genuine("U5")[:5], background).weights_ == "trained"
    assert len(list(tmp_path.glob(f"{kind}-v*.npz"))) == 3


@pytest.mark.parametrize("kind", NEW)
def test_new_verifiers_pretrain_adapt_score_and_round_trip(svc_task1, background, kind, tmp_path,
                                                           monkeypatch):
    monkeypatch.delenv("AIRAUTH_PSEUDO_CACHE", raising=False)
    verifiers.clear_memory()
    refs = svc_task1.genuine("U1")[:5]
    v = make_verifier(kind, **_tiny(kind, cache_dir=str(tmp_path))).fit(refs, background)
    assert v.pretrained_ and v.weights_ == "trained"
    own, others = v.score_samples(refs), v.score_samples(background)
    assert np.all(np.isfinite(own)) and np.all(np.isfinite(others))
    if kind not in ("anogan", "egbad"):
        # measured: 5 adversarial adaptation steps (AnoGAN's WGAN, EGBAD's BiGAN) leave these
        # two pretrained on the background, which they then find more normal than the user
        assert np.median(own) > np.median(others)
    again = load_verifier(dump_verifier(v))
    np.testing.assert_allclose(again.score_samples(svc_task1.genuine("U1")[5:9]),
                               v.score_samples(svc_task1.genuine("U1")[5:9]), rtol=1e-5, atol=1e-6)
    assert make_verifier(kind, **_tiny(kind, cache_dir=str(tmp_path))).fit(
        svc_task1.genuine("U2")[:5], background).weights_ == "memory"


def test_verifier_without_background_and_pseudo_negatives(svc_task1, background):
    refs = svc_task1.genuine("U1")[:4]
    v = make_verifier("ganomaly", **_tiny("ganomaly", scratch={"epochs": 10})).fit(refs)
    assert not v.pretrained_ and v.weights_ == "scratch"
    assert np.all(np.isfinite(v.score_samples(svc_task1.forgeries("U1"))))
    # generated negatives are the user's own material, not "other people": not pretrained on
    fakes = [t.with_meta(extra={"pseudo": "impostor"}) for t in background]
    w = make_verifier("ganomaly", **_tiny("ganomaly", scratch={"epochs": 10})).fit(refs, fakes)
    assert not w.pretrained_


def test_verifier_errors(svc_task1):
    v = make_verifier("ganomaly", **_tiny("ganomaly", scratch={"epochs": 5}))
    with pytest.raises(NotFittedError):
        v.score_samples(svc_task1.genuine("U1")[:1])
    v.fit(svc_task1.genuine("U1")[:3])
    t = np.arange(50) / 100.0
    air = Trajectory(t, np.column_stack([np.sin(9 * t), np.cos(7 * t), t]))
    with pytest.raises(TrajectoryError, match="3-D"):
        v.score_samples([air])
    with pytest.raises(ValueError, match="length"):
        make_verifier("ganomaly", length=20).fit(svc_task1.genuine("U1")[:3])


def test_verifier_as_fusion_member(svc_task1, background):
    verifiers.clear_memory()
    fusion = make_verifier("fusion", members=("dtw", "ganomaly"),
                           member_params={"ganomaly": _tiny("ganomaly")})
    fusion.fit(svc_task1.genuine("U1")[:5], background)
    scores = fusion.score_samples(svc_task1.genuine("U1")[5:8] + svc_task1.forgeries("U1")[:3])
    assert scores.shape == (6,) and np.all(np.isfinite(scores))
    again = load_verifier(dump_verifier(fusion))
    assert np.allclose(again.score_samples(svc_task1.genuine("U1")[5:8]), scores[:3])


@pytest.mark.timeout(300)
def test_harness_runs_the_detectors(fmkit_dir, tmp_path, capsys):
    """``--methods ganomaly,fanogan`` in the harness (FMKit: one fold, so no background: the
    detectors train from scratch on the references, as on a fresh install; one fold has no
    development people to calibrate on and nothing is shipped for the detectors, hence
    ``--calibration none``)."""
    rc = main(["experiment", str(fmkit_dir), "--format", "fmkit", "--references", "5",
               "--seeds", "1", "--methods", "ganomaly,fanogan", "--out", str(tmp_path),
               "--param", 'ganomaly.scratch={"epochs": 8, "hidden": 8}',
               "--param", 'fanogan.scratch={"gan_steps": 8, "encoder_steps": 8, "hidden": 8}',
               "--calibration", "none", "--no-progress"])
    _, err = capsys.readouterr()
    assert rc == 0, err
    res = json.loads((tmp_path / "results.json").read_text())
    assert list(res["methods"]) == ["ganomaly", "fanogan"]
    for m in ("ganomaly", "fanogan"):
        s = res["methods"][m]["random"]
        assert s["n_genuine"] == 2 * 5 and 0.0 <= s["eer"] <= 1.0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_harness_runs_the_new_detectors(fmkit_dir, tmp_path, capsys):
    """The new detectors are methods of the harness (scratch training, tiny budgets): the
    latent search, a signed score, the jointly trained encoder (the others share the path)."""
    tiny_scratch = {"epochs": 5, "hidden": 8}
    params = []
    methods = ["anogan", "fencegan", "berg"]
    for kind in methods:
        scratch = ({"gan_steps": 5, "hidden": 8} if kind in ("anogan", "berg") else tiny_scratch)
        if kind == "anogan":
            scratch["search_steps"] = 5
        params += ["--param", f"{kind}.scratch={json.dumps(scratch)}"]
    rc = main(["experiment", str(fmkit_dir), "--format", "fmkit", "--references", "5",
               "--seeds", "1", "--methods", ",".join(methods), "--out", str(tmp_path), *params,
               "--calibration", "none", "--no-progress"])
    _, err = capsys.readouterr()
    assert rc == 0, err
    res = json.loads((tmp_path / "results.json").read_text())
    assert list(res["methods"]) == methods
    for m in methods:
        s = res["methods"][m]["random"]
        assert s["n_genuine"] == 2 * 5 and 0.0 <= s["eer"] <= 1.0


def test_random_state_reaches_the_fit_and_pretraining_stays_shared(svc_task1, background, tmp_path,
                                                                   monkeypatch):
    """``random_state`` seeds adaptation (and training from scratch): two values differ, one
    value repeats exactly; the pretrained network is shared whatever the ``random_state``
    (``pretrain_seed`` is what keys the weight cache)."""
    monkeypatch.delenv("AIRAUTH_PSEUDO_CACHE", raising=False)
    verifiers.clear_memory()
    refs, queries = svc_task1.genuine("U1")[:5], svc_task1.genuine("U1")[5:] + svc_task1.forgeries("U1")[:5]

    def scores(rs, **extra):
        v = make_verifier("ganomaly", **_tiny("ganomaly", cache_dir=str(tmp_path), **extra),
                          random_state=rs).fit(refs, background)
        return v.weights_, v.score_samples(queries)

    w1, s1 = scores(1)
    assert w1 == "trained"
    w1b, s1b = scores(1)
    w2, s2 = scores(2)
    assert (w1b, w2) == ("memory", "memory") and len(list(tmp_path.glob("ganomaly-*"))) == 1
    np.testing.assert_array_equal(s1, s1b)
    assert not np.allclose(s1, s2)
    gen = scores(np.random.default_rng(7))[1]
    np.testing.assert_array_equal(gen, scores(np.random.default_rng(7))[1])
    assert scores(1, pretrain_seed=1)[0] == "trained"  # another pretraining: another network
    # without background: training from scratch follows random_state
    scratch = {"scratch": {"epochs": 5}}
    a, b, c = (make_verifier("ganomaly", **_tiny("ganomaly", **scratch), random_state=rs)
               .fit(refs[:4]).score_samples(queries) for rs in (4, 4, 5))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    for bad in (-1, "0", 1.5):
        with pytest.raises(ParameterError, match="random_state"):
            make_verifier("ganomaly", random_state=bad).check_params()
