"""DTWVerifier (models.dtw_verifier): its interface and properties, not its tuned defaults.

- save / load through ``models.serialization`` gives identical scores and threshold;
- invalid input raises clear errors (unfitted, wrong dimensionality, not trajectories,
  corrupt model files);
- per-user normalisation: distances are divided by the user's own spread, so fresh genuine
  samples score on a ~ -1 scale for a steady writer and for a sloppy one alike, although
  their raw DTW distances differ severalfold.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from fakes.signatures import samples

from capture.formats import load_recording
from core.errors import AirAuthError, TrajectoryError
from models.base import NotFittedError
from models.dtw_verifier import DTWVerifier
from models.serialization import ModelFormatError, dump_verifier, load_verifier


@pytest.fixture(scope="module")
def fitted() -> DTWVerifier:
    return DTWVerifier().fit(samples(1, 6, 3, variation=0.5))


def test_save_load_round_trip_gives_identical_scores(fitted):
    loaded = load_verifier(dump_verifier(fitted))
    assert isinstance(loaded, DTWVerifier)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.threshold_ == fitted.threshold_
    queries = samples(1, 4, 3, start=20) + samples(5, 4, 3)
    np.testing.assert_array_equal(loaded.score_samples(queries), fitted.score_samples(queries))
    np.testing.assert_array_equal(loaded.predict(queries), fitted.predict(queries))
    np.testing.assert_array_equal(loaded.distances(queries), fitted.distances(queries))


def test_two_dimensional_pen_data_round_trip():
    v = DTWVerifier().fit(samples(2, 5, 2))
    q = samples(2, 3, 2, start=10)
    s = v.score_samples(q)
    assert s.shape == (3,) and np.all(np.isfinite(s))
    np.testing.assert_array_equal(load_verifier(dump_verifier(v)).score_samples(q), s)


def test_invalid_input_raises_clear_errors(fitted):
    with pytest.raises(NotFittedError):
        DTWVerifier().score_samples(samples(1, 1, 3))
    with pytest.raises(TrajectoryError):
        fitted.score_samples([])
    with pytest.raises(TrajectoryError):
        fitted.score_samples([np.zeros((30, 3))])
    with pytest.raises(AirAuthError, match="2-D|3-D|channel|dim"):
        fitted.score_samples(samples(1, 1, 2))  # enrolled in 3-D
    with pytest.raises(TrajectoryError):
        DTWVerifier().fit(samples(1, 1, 3))  # one sample cannot enroll
    with pytest.raises(AirAuthError):
        DTWVerifier().fit(samples(1, 2, 3) + samples(2, 2, 2))  # mixed dimensionality
    with pytest.raises(ValueError, match="min_weight"):
        DTWVerifier(min_weight=1.5).fit(samples(1, 3, 3))
    with pytest.raises(ValueError, match="threshold"):
        DTWVerifier(threshold=0).fit(samples(1, 3, 3))


def test_corrupt_model_files_fail_clearly(fitted):
    params, arrays = fitted.get_state()
    with pytest.raises(ModelFormatError):
        load_verifier(b"not a model")
    # a template that is not (frames, channels): a clear format error, not a crash later
    data = dump_verifier(fitted)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        content = {k: npz[k] for k in npz.files}
    content["template_0"] = np.zeros(5)
    buf = io.BytesIO()
    np.savez(buf, **content)
    with pytest.raises(ModelFormatError):
        load_verifier(buf.getvalue())
    del content["template_0"]
    buf = io.BytesIO()
    np.savez(buf, **content)
    with pytest.raises(ModelFormatError):
        load_verifier(buf.getvalue())
    assert len([k for k in arrays if k.startswith("template_")]) == params["n_templates"]


def _genuine_and_impostor(variation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(raw blended distances of fresh genuine samples, their scores, impostor scores)."""
    writer = 3
    # full normalisation by the user's own spread (the default only partly normalises)
    v = DTWVerifier(scale_power=1.0).fit(samples(writer, 5, 3, variation=variation))
    genuine = samples(writer, 8, 3, start=50, variation=variation)
    impostors = [s for w in (11, 12, 13, 14) for s in samples(w, 2, 3)]
    raw = v.distances(genuine).mean(axis=1)
    return raw, v.score_samples(genuine), v.score_samples(impostors)


def test_per_user_normalisation_puts_genuine_scores_on_a_unit_scale():
    raw_steady, steady, imp_steady = _genuine_and_impostor(variation=0.3)
    raw_sloppy, sloppy, imp_sloppy = _genuine_and_impostor(variation=3.0)
    # the writers differ a lot in raw DTW distance ...
    assert np.median(raw_sloppy) > 2.0 * np.median(raw_steady)
    # ... but normalised, fresh genuine samples of both score around -1 (the user's own
    # leave-one-out spread), so one global threshold fits both
    for scores in (steady, sloppy):
        assert np.all(np.isfinite(scores)) and np.all(scores < 0)
        assert -2.5 < np.median(scores) < -0.4
    assert abs(np.log(np.median(steady) / np.median(sloppy))) < np.log(2.0)
    # and other writers stay below the typical genuine sample (the steady one: below all)
    assert np.max(imp_steady) < np.min(steady)
    assert np.max(imp_sloppy) < np.median(sloppy)


def test_real_fmkit_luduo_accepted_jisuanji_rejected(fmkit_dir):
    luduo = [load_recording(p) for p in sorted(fmkit_dir.glob("luduo_luduo_*.txt"))]
    jisuanji = [load_recording(p) for p in sorted(fmkit_dir.glob("luduo_jisuanji_*.txt"))]
    assert len(luduo) == 10 and len(jisuanji) == 10
    v = DTWVerifier().fit(luduo[:5])
    genuine, other = v.score_samples(luduo[5:]), v.score_samples(jisuanji)
    assert np.all(v.predict(luduo[5:])), genuine
    assert not np.any(v.predict(jisuanji)), other
    # the user's own held-out samples land on the unit scale the normalisation promises
    assert -3.0 < np.median(genuine) < -0.3
