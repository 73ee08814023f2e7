"""The EfficientNet embedding: a tiny training run on real FMKit data, and its state."""

from __future__ import annotations

import numpy as np
import pytest

from capture.formats.fmkit import read_fmkit
from models.pseudo.embedding import EfficientNetEmbedder
from models.pseudo.render import N_CHANNELS, render


@pytest.fixture(scope="module")
def fmkit(fmkit_dir):
    luduo = [read_fmkit(fmkit_dir / f"luduo_luduo_{k:02d}.txt") for k in range(1, 11)]
    jisuanji = [read_fmkit(fmkit_dir / f"luduo_jisuanji_{k:02d}.txt") for k in range(1, 11)]
    return luduo, jisuanji


@pytest.fixture(scope="module")
def tiny(fmkit):
    luduo, jisuanji = fmkit
    train = luduo[:5] + jisuanji[:5]
    labels = ["luduo"] * 5 + ["jisuanji"] * 5
    emb = EfficientNetEmbedder(image_size=32, width=0.25, depth=0.25, epochs=12, batch_size=10,
                               lr=3e-3, augment=0.0)
    return emb.fit(train, labels)


def test_render_is_finite_and_bounded(fmkit):
    img = render(fmkit[0][0], size=32)
    assert img.shape == (N_CHANNELS, 32, 32)
    assert np.all(np.isfinite(img)) and img.min() >= 0 and img.max() <= 1
    assert all(img[c].max() > 0 for c in range(N_CHANNELS))  # every view has ink


def test_tiny_training_separates_held_out_writing(tiny, fmkit):
    """Held-out luduo / jisuanji samples: nearest class centroid beats chance."""
    luduo, jisuanji = fmkit
    tr = tiny.transform(luduo[:5] + jisuanji[:5])
    te = tiny.transform(luduo[5:] + jisuanji[5:])
    assert np.all(np.isfinite(te)) and np.allclose(np.linalg.norm(te, axis=1), 1, atol=1e-4)
    c_l, c_j = tr[:5].mean(0), tr[5:].mean(0)
    pred_luduo = (te @ c_l) > (te @ c_j)
    truth = np.r_[np.ones(5, bool), np.zeros(5, bool)]
    accuracy = float(np.mean(pred_luduo == truth))
    assert accuracy > 0.5, accuracy
    assert tiny.epochs_done_ == 12 and tiny.train_time_s_ > 0


def test_state_round_trip_gives_same_embeddings(tiny, fmkit):
    params, arrays = tiny.get_state()
    again = EfficientNetEmbedder.from_state(params, arrays)
    x = fmkit[0][:3]
    np.testing.assert_array_equal(tiny.transform(x), again.transform(x))
    assert all(isinstance(v, np.ndarray) for v in arrays.values())


def test_one_identity_is_a_clear_error(fmkit):
    with pytest.raises(ValueError, match="two identities"):
        EfficientNetEmbedder(epochs=1).fit(fmkit[0][:3], ["a"] * 3)
