"""CLAFIC subspace verifier: the subspace maths, calibration, persistence and real recordings."""

from __future__ import annotations

import numpy as np
import pytest
from fakes.signatures import sample, samples

from capture.formats.fmkit import read_fmkit
from core.errors import TrajectoryError
from models.base import NotFittedError
from models.fixed_features import FixedEncoder, align_to_template
from models.serialization import dump_verifier, load_verifier
from models.subspace import SubspaceVerifier, class_subspace, residual, unit_rows


def test_class_subspace_is_uncentred_autocorrelation_with_energy_criterion():
    rng = np.random.default_rng(0)
    # vectors that share a common direction (non-zero mean) plus two smaller directions
    mean_dir = np.zeros(20)
    mean_dir[0] = 1.0
    x = unit_rows(mean_dir + 0.3 * rng.normal(size=(30, 2)) @ np.eye(2, 20, k=1))
    basis, lam = class_subspace(x, energy=0.999)
    # eigen-decomposition of R = X^T X / n, uncentred
    w, v = np.linalg.eigh(x.T @ x / len(x))
    w, v = w[::-1], v[:, ::-1]
    assert basis.shape[0] == 3  # rank 3: the mean direction + 2
    np.testing.assert_allclose(lam, w[:3], rtol=1e-10)
    assert abs(basis[0] @ v[:, 0]) == pytest.approx(1.0)  # first axis = mean direction
    np.testing.assert_allclose(basis @ basis.T, np.eye(3), atol=1e-12)
    # energy criterion: the smallest k whose eigenvalue share reaches the energy
    share = np.cumsum(w) / w.sum()
    k = int(np.searchsorted(share, 0.9) + 1)
    assert class_subspace(x, energy=0.9)[0].shape[0] == k
    assert class_subspace(x, energy=0.999, max_dims=2)[0].shape[0] == 2


def test_projection_ratio_is_one_inside_and_zero_orthogonal():
    basis = np.eye(2, 5)
    inside = unit_rows(np.array([[3.0, 4.0, 0, 0, 0]]))
    orth = unit_rows(np.array([[0, 0, 1.0, 2.0, 0]]))
    mixed = unit_rows(np.array([[1.0, 0, 1.0, 0, 0]]))
    assert residual(basis, inside)[0] == pytest.approx(0.0)
    assert residual(basis, orth)[0] == pytest.approx(1.0)
    assert residual(basis, mixed)[0] == pytest.approx(0.5)
    # the score is the squared projection length ratio ||Px||^2 / ||x||^2
    v = SubspaceVerifier(normalize="none")
    v.basis_ = basis
    assert 1.0 - residual(basis, mixed)[0] == pytest.approx(0.5)


def test_alignment_undoes_a_time_shift():
    t = np.linspace(0, 1, 120)
    tpl = np.column_stack([np.sin(6 * t), np.cos(4 * t)])
    shifted = np.column_stack([np.sin(6 * t**1.3), np.cos(4 * t**1.3)])
    aligned = align_to_template(shifted, tpl, window=0.3)
    assert aligned.shape == tpl.shape
    assert np.abs(aligned - tpl).mean() < 0.3 * np.abs(shifted - tpl).mean()


@pytest.mark.parametrize("dims", [2, 3])
def test_genuine_scores_above_impostors_and_threshold_from_loo(dims):
    genuine = samples(1, 5, dims, variation=0.5)
    tests = samples(1, 5, dims, start=10, variation=0.5)
    others = samples(2, 5, dims) + samples(3, 5, dims)
    v = SubspaceVerifier().fit(genuine)
    g, i = v.score_samples(tests), v.score_samples(others)
    assert g.min() > i.max()
    assert v.loo_residuals_.shape == (5,)
    assert v.scale_ == pytest.approx(v.loo_residuals_.mean())
    assert v.threshold_ == -v.threshold
    assert v.predict(others).sum() == 0
    # raw similarity and ratio scores make the same per-user decisions
    raw = SubspaceVerifier(normalize="none").fit(genuine)
    assert np.array_equal(raw.predict(tests + others), v.predict(tests + others))
    assert np.all((raw.score_samples(others) >= 0) & (raw.score_samples(others) <= 1))


def test_pseudo_genuine_samples_enlarge_the_subspace():
    refs = samples(1, 3, variation=1.0)
    pseudo = [sample(1, 50 + k, variation=1.0, pseudo="genuine") for k in range(12)]
    small = SubspaceVerifier(energy=0.999).fit(refs)
    big = SubspaceVerifier(energy=0.999).fit(refs + pseudo)
    assert big.basis_.shape[0] > small.basis_.shape[0]
    # leave-one-out runs over the recorded samples only
    assert big.loo_residuals_.shape == (3,)
    tests = samples(1, 6, start=20, variation=1.0)
    # more of a new genuine login lies inside the enlarged subspace
    assert big.residuals(tests).mean() < small.residuals(tests).mean()


def test_save_load_gives_identical_scores_and_bad_input_is_clear():
    genuine = samples(4, 5, 2)
    v = SubspaceVerifier(length=24, energy=0.9).fit(genuine)
    loaded = load_verifier(dump_verifier(v))
    queries = samples(4, 3, 2, start=7) + samples(5, 3, 2)
    assert np.array_equal(loaded.score_samples(queries), v.score_samples(queries))
    assert loaded.threshold_ == v.threshold_ and loaded.get_params() == v.get_params()
    with pytest.raises(TrajectoryError, match="2-D"):
        v.score_samples(samples(4, 1, 3))
    with pytest.raises(NotFittedError):
        SubspaceVerifier().score_samples(genuine)
    with pytest.raises(TrajectoryError):
        SubspaceVerifier().fit(genuine[:1])
    with pytest.raises(ValueError, match="energy"):
        SubspaceVerifier(energy=1.5).fit(genuine)


def test_encoder_template_is_the_medoid():
    genuine = samples(6, 5, 3)
    enc = FixedEncoder().fit(genuine)
    assert enc.template_ is not None and enc.template_.shape[1] == 9  # pos, vel, acc x 3
    x = enc.transform(genuine)
    assert x.shape == (5, 32 * 9)
    assert np.array_equal(enc.transform(genuine), x)  # cached vectors are the same


def test_real_fmkit_luduo_accepted_jisuanji_rejected(fmkit_dir):
    luduo = [read_fmkit(fmkit_dir / f"luduo_luduo_{i:02d}.txt") for i in range(1, 11)]
    jisuanji = [read_fmkit(fmkit_dir / f"luduo_jisuanji_{i:02d}.txt") for i in range(1, 11)]
    v = SubspaceVerifier().fit(luduo[:5])
    assert v.predict(luduo[5:]).all()
    assert not v.predict(jisuanji).any()
