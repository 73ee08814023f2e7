"""How the files in this folder were made: run ONCE with the version of AirAuth whose files
they stand for (main at 0be2d5d, model format 1), never again -- the test that reads them
(tests/test_model_compat.py) checks that later versions still load what that version saved
and score with it exactly as it did.

    .venv/bin/python tests/data/model_compat/make.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/ (fakes)

from fakes.signatures import samples


def data(dims: int):
    short = {"n": 80, "duration": 1.0}  # small files
    genuine = samples(1, 5, dims, variation=0.5, **short)
    background = [t for w in range(2, 8) for t in samples(w, 4, dims, **short)]
    queries = (samples(1, 3, dims, start=10, variation=0.5, **short)
               + samples(9, 3, dims, **short))
    return genuine, background, queries


def main() -> None:
    from models.ensemble import FUSION_MEMBERS
    from models.pseudo import dump_generator, make_generator
    from models.registry import make_verifier
    from models.score_calibration import shipped_calibrations
    from models.serialization import dump_verifier

    cal = shipped_calibrations()
    models = {
        "dtw-3d": ("dtw", {}, 3, False),
        "dtw-2d": ("dtw", {"window": 0.2}, 2, False),
        "subspace-3d": ("subspace", {}, 3, False),
        "svm-3d": ("svm", {}, 3, True),
        "ss-svm-2d": ("ss-svm", {}, 2, True),
        "fusion-3d": ("fusion", {"members": ["dtw", "svm"],
                                 "member_params": {"svm": {"C": 5.0}},
                                 "weights": {"svm": 2.0}}, 3, True),
        "calibrated-3d": ("calibrated", {"calibration": cal.find(
            FUSION_MEMBERS, {}, 3, cohort=True).to_dict()}, 3, True),
        "calibrated-2d": ("calibrated", {"members": ["dtw"], "security": "high",
                                         "calibration": cal.find(
                                             ("dtw",), {}, 2, cohort=False).to_dict()}, 2, False),
    }
    expected: dict = {"verifiers": {}, "generators": {}}
    for name, (kind, params, dims, background) in models.items():
        genuine, others, queries = data(dims)
        v = make_verifier(kind, **params).fit(genuine, others if background else None)
        (HERE / f"{name}.npz").write_bytes(dump_verifier(v))
        expected["verifiers"][name] = {
            "dims": dims, "scores": [float(s) for s in v.score_samples(queries)],
            "threshold": float(v.threshold_)}
    generators = {"vae-3d": ("vae", {"length": 16, "latent": 4, "hidden": 16, "epochs": 3,
                                     "n_genuine": 2, "n_impostors": 2}, 3)}
    for name, (kind, params, dims) in generators.items():
        genuine, others, _ = data(dims)
        g = make_generator(kind, **params).fit(others)
        (HERE / f"{name}.npz").write_bytes(dump_generator(g))
        out = g.generate(genuine, seed=1)
        expected["generators"][name] = {
            "dims": dims,
            "genuine": [t.positions[::25].round(6).tolist() for t in out.genuine],
            "impostors": [t.positions[::25].round(6).tolist() for t in out.impostors]}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
