"""Real-data sanity check: preprocessing keeps the written content recognisable.

The 10 "luduo" recordings must be closer to each other than to the 10 "jisuanji" ones
(the same person wrote both, so only the content differs: the features must carry it).
Distances are DTW on the default feature sequences (position, velocity, acceleration).
"""

import numpy as np

from capture.formats import read_fmkit
from capture.preprocess import FeatureConfig, feature_sequence
from models.dtw import dtw_distance


def _sequences(fmkit_dir, content):
    files = sorted(fmkit_dir.glob(f"luduo_{content}_*.txt"))
    assert len(files) == 10
    return [feature_sequence(read_fmkit(f), FeatureConfig()) for f in files]


def test_same_content_is_closer_than_other_content(fmkit_dir):
    a, b = _sequences(fmkit_dir, "luduo"), _sequences(fmkit_dir, "jisuanji")

    def dist(xs, ys):
        return np.array([[dtw_distance(x, y) for y in ys] for x in xs])

    within_a, within_b, between = dist(a, a), dist(b, b), dist(a, b)
    # Every sample's farthest same-content sample is nearer than its nearest other-content one.
    assert within_a.max() < between.min()
    assert within_b.max() < between.min()
    iu = np.triu_indices(10, 1)
    assert within_a[iu].mean() < 0.5 * between.mean()
    assert within_b[iu].mean() < 0.5 * between.mean()
