"""SVM and SS-SVM verifiers: numpy decision function = sklearn's, fallbacks, persistence, real data."""

from __future__ import annotations

import numpy as np
import pytest
from fakes.signatures import samples
from sklearn.svm import SVC, OneClassSVM

from capture.formats.fmkit import read_fmkit
from core.errors import TrajectoryError
from models.serialization import dump_verifier, load_verifier
from models.svm import SubspaceSVMVerifier, SVMVerifier
from models.svm_kernel import KernelExpansion


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_kernel_expansion_matches_sklearn(kernel):
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(0, 1, (30, 6)), rng.normal(1.5, 1, (40, 6))])
    y = np.r_[np.ones(30), np.zeros(40)]
    q = rng.normal(0.5, 1.5, (25, 6))
    svc = SVC(kernel=kernel, C=3.0, gamma="scale").fit(x, y)
    np.testing.assert_allclose(KernelExpansion.from_sklearn(svc, kernel)(q),
                               svc.decision_function(q), rtol=1e-9, atol=1e-9)
    oc = OneClassSVM(kernel="rbf", nu=0.3, gamma="scale").fit(x[:30])
    expansion = KernelExpansion.from_sklearn(oc, "rbf")
    np.testing.assert_allclose(expansion(q), oc.decision_function(q), rtol=1e-9, atol=1e-9)
    # the one-class kernel distance is -log(density / max density): >= 0, finite far away
    far = expansion.kernel_distance(q + 1e3)
    assert np.all(np.isfinite(far)) and np.all(expansion.kernel_distance(q) >= 0)
    assert far.min() > expansion.kernel_distance(q).max()


@pytest.fixture(scope="module")
def data():
    genuine = samples(1, 5, variation=0.5)
    tests = samples(1, 5, start=10, variation=0.5)
    others = samples(2, 5) + samples(3, 5)
    background = [t for w in range(4, 12) for t in samples(w, 4)]
    return genuine, tests, others, background


@pytest.mark.parametrize("cls", [SVMVerifier, SubspaceSVMVerifier])
def test_two_class_with_impostors_and_one_class_without(cls, data):
    genuine, tests, others, background = data
    two = cls().fit(genuine, background)
    assert not two.one_class_ and two.threshold_ == 0.0
    assert two.predict(tests).all() and not two.predict(others).any()
    one = cls().fit(genuine)
    assert one.one_class_ and one.threshold_ == -one.oc_threshold
    assert one.score_samples(tests).min() > one.score_samples(others).max()
    assert not one.predict(others).any()


def test_svm_with_dtw_distance_features(data):
    genuine, tests, others, background = data
    v = SVMVerifier(dtw_weight=1.0).fit(genuine, background)
    assert v.mean_.shape[0] == 32 * 9 + 1 + 2  # shape + log duration + (min, mean) DTW
    assert SVMVerifier(dtw_weight=1.0, global_weight=0.0).fit(
        genuine, background).mean_.shape[0] == 32 * 9 + 2
    assert v.score_samples(tests).min() > v.score_samples(others).max()
    loaded = load_verifier(dump_verifier(v))
    assert np.array_equal(loaded.score_samples(tests + others), v.score_samples(tests + others))


def test_ss_svm_features_are_squared_projections_plus_residual(data):
    genuine, tests, _, background = data
    v = SubspaceSVMVerifier().fit(genuine, background)
    f = v._features(tests)
    assert f.shape == (5, v.basis_.shape[0] + 1)
    np.testing.assert_allclose(f.sum(axis=1), 1.0, atol=1e-9)  # projections + residual = |x|^2
    assert np.all(f >= 0)


@pytest.mark.parametrize("name", ["svm", "ss-svm"])
@pytest.mark.parametrize("with_impostors", [True, False])
def test_save_load_identical_scores_without_pickle(name, with_impostors, data):
    from models.registry import make_verifier

    genuine, tests, others, background = data
    v = make_verifier(name).fit(genuine, background if with_impostors else None)
    blob = dump_verifier(v)
    loaded = load_verifier(blob)
    queries = tests + others
    assert np.array_equal(loaded.score_samples(queries), v.score_samples(queries))
    assert loaded.threshold_ == v.threshold_
    with np.load(__import__("io").BytesIO(blob), allow_pickle=False) as npz:  # no object arrays
        assert all(npz[k].dtype != object for k in npz.files)


def test_clear_errors(data):
    genuine, _, _, background = data
    v = SVMVerifier().fit(genuine, background)
    with pytest.raises(TrajectoryError, match="3-D"):
        v.score_samples(samples(1, 1, dims=2))
    with pytest.raises(ValueError, match="kernel"):
        SVMVerifier(kernel="poly").fit(genuine)
    with pytest.raises(TrajectoryError):
        SVMVerifier().fit([genuine[0], "not a trajectory"])


@pytest.mark.parametrize("cls", [SVMVerifier, SubspaceSVMVerifier])
def test_real_fmkit_luduo_accepted_jisuanji_rejected(cls, fmkit_dir):
    luduo = [read_fmkit(fmkit_dir / f"luduo_luduo_{i:02d}.txt") for i in range(1, 11)]
    jisuanji = [read_fmkit(fmkit_dir / f"luduo_jisuanji_{i:02d}.txt") for i in range(1, 11)]
    v = cls().fit(luduo[:5])
    assert v.predict(luduo[5:]).all()
    assert not v.predict(jisuanji).any()


def _pseudo_of(ref, k: int):
    """A generated copy of ``ref`` (slightly bent), tagged as its pseudo child."""
    from capture.trajectory import Trajectory

    u = np.linspace(0.0, 1.0, len(ref.t))[:, None]
    bend = 0.5 * (k + 1) * np.sin(2 * np.pi * (k % 3 + 1) * u)
    t = Trajectory(ref.t.copy(), ref.positions + bend, ref.channels, ref.meta)
    return t.with_meta(extra={"pseudo": "genuine", "parent_sources": [ref.meta.source]},
                       source=f"{ref.meta.source}~{k}")


def test_ss_svm_with_one_recorded_sample_and_its_pseudo_samples(data):
    # fusion's leave-one-out with 2 references + pseudo data fits SS-SVM on exactly this:
    # the jackknife has nothing to fit on once the one recorded sample is left out
    genuine, tests, others, background = data
    kids = [_pseudo_of(genuine[0], k) for k in range(4)]
    v = SubspaceSVMVerifier().fit([genuine[0]] + kids, background)
    assert np.all(np.isfinite(v.score_samples(tests + others)))
