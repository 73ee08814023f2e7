"""Models saved by an earlier version still load and score exactly as they did.

``tests/data/model_compat`` holds fitted verifiers and a pseudo-data generator saved by main at
0be2d5d (model format 1; ``make.py`` there says how), with the scores that version gave. A
store keeps enrolled users' models for years, so a refactoring of the estimators or of their
persistence must go on reading these files, member verifiers and calibrations included.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scriptkit import load_script

from models.pseudo import load_generator
from models.serialization import load_verifier

HERE = Path(__file__).resolve().parent / "data" / "model_compat"
EXPECTED = json.loads((HERE / "expected.json").read_text())


def _make_module():
    return load_script(HERE / "make.py", "model_compat_make")


DATA = _make_module().data


@pytest.mark.parametrize("name", sorted(EXPECTED["verifiers"]))
def test_saved_verifier_loads_and_scores_as_before(name):
    want = EXPECTED["verifiers"][name]
    v = load_verifier((HERE / f"{name}.npz").read_bytes())
    _, _, queries = DATA(want["dims"])
    np.testing.assert_allclose(v.score_samples(queries), want["scores"], rtol=1e-9, atol=1e-12)
    assert float(v.threshold_) == pytest.approx(want["threshold"], rel=1e-12)


@pytest.mark.parametrize("name", sorted(EXPECTED["generators"]))
def test_saved_generator_loads_and_generates_as_before(name):
    want = EXPECTED["generators"][name]
    g = load_generator((HERE / f"{name}.npz").read_bytes())
    genuine, _, _ = DATA(want["dims"])
    out = g.generate(genuine, seed=1)
    got = {"genuine": [t.positions[::25].round(6).tolist() for t in out.genuine],
           "impostors": [t.positions[::25].round(6).tolist() for t in out.impostors]}
    for kind in ("genuine", "impostors"):
        assert len(got[kind]) == len(want[kind])
        for a, b in zip(got[kind], want[kind]):
            np.testing.assert_allclose(a, b, atol=2e-6)


def test_one_class_verifier_saved_with_one_seed_loads():
    """Before the pretraining seed and the per-fit ``random_state`` were separate, the
    one-class verifiers had one ``seed`` for both: such a model (and such settings) still
    load, with that seed as both, and score as the model did."""
    from models.oneclass.verifiers import GANomalyVerifier
    from models.serialization import dump_verifier

    genuine, _, queries = DATA(2)
    tiny = {"hidden": 8, "latent": 8, "epochs": 3}
    v = GANomalyVerifier(detector=tiny, scratch={"epochs": 3}, pretrain_seed=3,
                         random_state=3).fit(genuine)
    params, arrays = v.get_state()
    own = dict(params["params"])
    del own["pretrain_seed"], own["random_state"]
    old = GANomalyVerifier.from_state({**params, "params": {**own, "seed": 3}}, arrays)
    assert (old.pretrain_seed, old.random_state) == (3, 3)
    np.testing.assert_array_equal(old.score_samples(queries), v.score_samples(queries))
    assert load_verifier(dump_verifier(old)).get_params() == v.get_params()
    cfg = GANomalyVerifier.from_config({"seed": 5, "adapt_steps": 2})
    assert (cfg.pretrain_seed, cfg.random_state, cfg.adapt_steps) == (5, 5, 2)
