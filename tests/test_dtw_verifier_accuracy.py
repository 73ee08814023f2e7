"""DTW verifier on real recordings: accepts the enrolled writing, rejects other content; the
duration term and its persistence."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from capture.formats.fmkit import read_fmkit
from models.dtw_verifier import TYPICAL_SPREAD, DTWVerifier
from models.serialization import dump_verifier, load_verifier


@pytest.fixture(scope="module")
def fmkit(fmkit_dir):
    luduo = [read_fmkit(fmkit_dir / f"luduo_luduo_{i:02d}.txt") for i in range(1, 11)]
    jisuanji = [read_fmkit(fmkit_dir / f"luduo_jisuanji_{i:02d}.txt") for i in range(1, 11)]
    return luduo, jisuanji


@pytest.mark.parametrize("duration_weight", [0.0, 0.5])
def test_real_fmkit_luduo_accepted_jisuanji_rejected(fmkit, duration_weight):
    luduo, jisuanji = fmkit
    v = DTWVerifier(duration_weight=duration_weight).fit(luduo[:5])
    assert v.predict(luduo[5:]).all()
    assert not v.predict(jisuanji).any()
    # a margin, not a coin flip: every genuine login scores above every other-content one
    assert v.score_samples(luduo[5:]).min() > v.score_samples(jisuanji).max()


def test_duration_term_penalises_slower_writing_of_the_same_shape(fmkit):
    luduo, _ = fmkit
    v = DTWVerifier().fit(luduo[:5])
    q = luduo[5]
    slow = replace(q, t=q.t * 1.6)  # the same path, written 60 % slower
    plain = DTWVerifier(duration_weight=0.0).fit(luduo[:5])
    drop = v.score_samples([q])[0] - v.score_samples([slow])[0]
    drop_plain = plain.score_samples([q])[0] - plain.score_samples([slow])[0]
    assert drop > drop_plain + 0.1  # the duration term adds a clear penalty on top of DTW's


def test_state_round_trip_keeps_duration_reference(fmkit):
    luduo, jisuanji = fmkit
    v = DTWVerifier().fit(luduo[:5])
    loaded = load_verifier(dump_verifier(v))
    np.testing.assert_allclose(loaded.score_samples(luduo[5:] + jisuanji),
                               v.score_samples(luduo[5:] + jisuanji))


def test_negative_duration_weight_is_rejected(fmkit):
    with pytest.raises(ValueError, match="duration_weight"):
        DTWVerifier(duration_weight=-1.0).fit(fmkit[0][:3])


def test_default_features_are_the_fine_100hz_grid(fmkit):
    luduo, _ = fmkit
    v = DTWVerifier().fit(luduo[:5])
    assert v.config_.rate_hz == 100.0 and v.config_.cutoff_hz == 20.0
    coarse = DTWVerifier(features={}).fit(luduo[:5])  # {} = FeatureConfig's 50 Hz defaults
    assert coarse.config_.rate_hz == 50.0
    # twice the frames for the same recording
    ratio = len(v.templates_[0]) / len(coarse.templates_[0])
    assert 1.8 < ratio < 2.2


def test_model_saved_before_scale_power_keeps_its_scores(fmkit):
    """A state without ``scale_power`` (older release) loads with the old meaning of its
    params: full spread normalisation and FeatureConfig's defaults for ``features=None``."""
    luduo, jisuanji = fmkit
    old_style = DTWVerifier(features={}, min_weight=0.5, scale_power=1.0).fit(luduo[:5])
    params, arrays = old_style.get_state()
    legacy = dict(params, params={k: v for k, v in params["params"].items()
                                  if k not in ("scale_power", "typical_spread")})
    legacy["params"]["features"] = None
    loaded = DTWVerifier.from_state(legacy, arrays)
    assert loaded.scale_power == 1.0 and loaded.config_.rate_hz == 50.0
    np.testing.assert_allclose(loaded.score_samples(luduo[5:] + jisuanji),
                               old_style.score_samples(luduo[5:] + jisuanji))


def test_spread_shrinkage_scales_scores_but_keeps_their_order(fmkit):
    luduo, jisuanji = fmkit
    queries = luduo[5:] + jisuanji
    full = DTWVerifier(scale_power=1.0, duration_weight=0.0).fit(luduo[:5])
    half = DTWVerifier(scale_power=0.5, duration_weight=0.0).fit(luduo[:5])
    other = DTWVerifier(scale_power=0.5, duration_weight=0.0, typical_spread=2.0).fit(luduo[:5])
    s_full, s_half, s_other = (m.score_samples(queries) for m in (full, half, other))
    # for one user the normaliser is one number: the same order, a constant ratio
    np.testing.assert_array_equal(np.argsort(s_full), np.argsort(s_half))
    ratio = s_half / s_full
    np.testing.assert_allclose(ratio, ratio[0])
    # shrinking toward the in-air typical spread: sqrt(loo * typical) instead of loo
    typical = TYPICAL_SPREAD[3]
    np.testing.assert_allclose(ratio[0], np.sqrt(full.scale_ / typical))
    np.testing.assert_allclose(s_other / s_half, np.sqrt(typical / 2.0))


@pytest.mark.parametrize("bad", [{"scale_power": -0.1}, {"scale_power": 3.0},
                                 {"typical_spread": 0.0}])
def test_bad_normalisation_params_are_rejected(fmkit, bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        DTWVerifier(**bad).fit(fmkit[0][:3])
