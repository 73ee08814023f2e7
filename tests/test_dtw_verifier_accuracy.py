"""DTW verifier on real recordings: accepts the enrolled writing, rejects other content; the
duration term and its persistence."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from capture.formats.fmkit import read_fmkit
from models.dtw_verifier import DTWVerifier
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
