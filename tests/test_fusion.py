"""Score fusion: per-user normalisation, thresholds, nested persistence, 2-D/3-D, real data."""

from __future__ import annotations

import numpy as np
import pytest
from fakes.signatures import sample, samples

from capture.formats.fmkit import read_fmkit
from models import calibration
from models.fusion import FusionVerifier, split_impostors
from models.registry import make_verifier
from models.serialization import dump_verifier, load_verifier

FAST = ["subspace", "svm"]


def fusion(members, **params) -> FusionVerifier:
    """A fusion of the named verifiers (default parameters), as estimator objects."""
    return FusionVerifier(members=[(n, make_verifier(n)) for n in members], **params)


def test_threshold_for_far_counts_accepted_impostors():
    scores = np.arange(100, dtype=float)
    for far in (0.0, 0.01, 0.05, 0.5):
        thr = calibration.threshold_for_far(scores, far)
        assert np.mean(scores >= thr) <= far
        assert np.mean(scores >= thr - 1.0) > far  # and no stricter than needed
    with pytest.raises(ValueError):
        calibration.threshold_for_far(np.array([]), 0.01)


def test_leave_one_out_drops_pseudo_samples_made_from_the_held_out_one():
    refs = samples(1, 3)
    kids = [sample(1, 40 + k, pseudo="genuine").with_meta(
        extra={"pseudo": "genuine", "parent_sources": [refs[k % 3].meta.source]})
        for k in range(6)]
    by_index = sample(1, 60, pseudo="genuine").with_meta(
        extra={"pseudo": "genuine", "parents": [1]})
    genuine = refs + kids + [by_index.with_meta(source="")]
    splits = calibration.loo_splits(genuine)
    assert [i for i, _ in splits] == [0, 1, 2]  # only recorded samples are held out
    for i, train in splits:
        assert i not in train
        for j in train:
            if j >= 3:
                assert not calibration.derived_from(genuine[j], genuine[i], i)
    assert set(splits[0][1]) == {1, 2, 4, 5, 7, 8, 9}
    assert 9 not in splits[1][1]  # derived from reference 1 by index


def test_impostor_halves_never_share_a_person():
    imps = [sample(w, k) for w in range(2, 8) for k in range(3)]
    imps += [sample(1, 90 + k, pseudo="impostor") for k in range(4)]
    a, b = split_impostors(imps)
    assert len(a) + len(b) == len(imps)
    people = lambda half: {t.meta.user for t in half if calibration.pseudo_kind(t) is None}
    assert not people(a) & people(b)
    assert sum(calibration.pseudo_kind(t) == "impostor" for t in a) == 2


@pytest.fixture(scope="module", params=[2, 3])
def data(request):
    dims = request.param
    genuine = samples(1, 5, dims, variation=0.5)
    tests = samples(1, 5, dims, start=10, variation=0.5)
    others = samples(2, 4, dims) + samples(3, 4, dims)
    background = [t for w in range(4, 12) for t in samples(w, 3, dims)]
    return genuine, tests, others, background


def test_with_impostors_gap_normalisation_and_fixed_threshold(data):
    genuine, tests, others, background = data
    v = fusion(FAST).fit(genuine, background)
    assert v.with_impostors_ and v.threshold_ == v.threshold
    assert v.score_samples(tests).min() > v.score_samples(others).max()
    assert v.predict(tests).all() and not v.predict(others).any()
    z = v.member_scores(others)
    assert set(z) == set(FAST)
    # gap units: impostor mean -> 0, genuine mean -> 1 for every member
    assert all(abs(np.mean(z[m])) < 1.0 for m in FAST)


def test_far_threshold_and_logistic_combination(data):
    genuine, tests, others, background = data
    v = fusion(FAST, threshold_rule="far", target_far=0.05,
                       combine="logistic").fit(genuine, background)
    assert not v.predict(others).any()
    assert v.coef_.shape == (2,) and np.all(np.isfinite(v.coef_))
    assert v.score_samples(tests).mean() > v.score_samples(others).mean()


def test_without_impostors_genuine_loo_normalisation(data):
    genuine, tests, others, _ = data
    v = fusion(FAST).fit(genuine)
    assert not v.with_impostors_
    assert v.score_samples(tests).min() > v.score_samples(others).max()
    assert not v.predict(others).any()


def test_nested_state_round_trip_gives_identical_scores(data):
    genuine, tests, others, background = data
    v = fusion(["subspace", "svm", "ss-svm"],
                       weights={"svm": 2.0}).fit(genuine, background)
    blob = dump_verifier(v)
    loaded = load_verifier(blob)
    queries = tests + others
    assert np.array_equal(loaded.score_samples(queries), v.score_samples(queries))
    assert loaded.threshold_ == v.threshold_
    _, arrays = v.get_state()
    assert any(k.startswith("m0__") for k in arrays) and any(k.startswith("m2__") for k in arrays)


def test_bad_params_are_clear():
    g = samples(1, 3)
    with pytest.raises(ValueError, match="unknown member"):
        FusionVerifier.from_config({"members": ["nope"]}).fit(g)
    with pytest.raises(ValueError, match="itself"):
        FusionVerifier.from_config({"members": ["fusion"]}).fit(g)
    with pytest.raises(ValueError, match="itself"):
        FusionVerifier(members=[("fusion", FusionVerifier())]).fit(g)
    with pytest.raises(ValueError, match="combine"):
        fusion(FAST, combine="max").fit(g)


def test_real_fmkit_luduo_accepted_jisuanji_rejected(fmkit_dir):
    luduo = [read_fmkit(fmkit_dir / f"luduo_luduo_{i:02d}.txt") for i in range(1, 11)]
    jisuanji = [read_fmkit(fmkit_dir / f"luduo_jisuanji_{i:02d}.txt") for i in range(1, 11)]
    v = FusionVerifier().fit(luduo[:5])  # default members: dtw, subspace, svm, ss-svm
    assert v.predict(luduo[5:]).all()
    assert not v.predict(jisuanji).any()


def test_default_weights_favour_dtw_and_explicit_weights_override(data):
    genuine, tests, others, background = data
    v = fusion(["dtw", "svm"]).fit(genuine, background)
    np.testing.assert_allclose(v.coef_, [6 / 7, 1 / 7])  # DEFAULT_WEIGHTS: dtw 6, others 1
    assert v.predict(tests).all() and not v.predict(others).any()
    equal = fusion(["dtw", "svm"], weights={}).fit(genuine, background)
    np.testing.assert_allclose(equal.coef_, [0.5, 0.5])


def test_gap_normalisation_is_floored_by_the_spreads():
    from models.fusion import normalizer

    g = np.array([[1.0, 0.2], [0.5, 0.3], [-2.0, 0.1]])  # (mean, std) per member
    i = np.array([[-1.0, 0.5], [0.5, 0.4], [-1.0, 0.2]])
    offset, scale = normalizer("gap", g, i)
    np.testing.assert_allclose(offset, [-1.0, 0.5, -1.0])
    # healthy gap kept; zero or negative gap -> the larger spread, never ~0
    np.testing.assert_allclose(scale, [2.0, 0.4, 0.2])


def test_member_norm_own_keeps_the_members_scale_and_moves_its_threshold(data):
    genuine, tests, others, background = data
    members = ["dtw", "svm"]
    v = fusion(members, member_norms={"dtw": "own"}).fit(genuine, background)
    ref = fusion(members).fit(genuine, background)
    dtw = v.members_[0]
    assert v.sd_[0] == 1.0 and v.mu_[0] == pytest.approx(dtw.threshold_ - 0.5)
    z = v.member_scores(tests)["dtw"]
    # the member's own accept boundary sits at the gap units' 0.5
    assert np.array_equal(z >= 0.5, dtw.score_samples(tests) >= dtw.threshold_)
    # the other member is normalised as without the override
    assert v.mu_[1] == pytest.approx(ref.mu_[1]) and v.sd_[1] == pytest.approx(ref.sd_[1])
    assert v.score_samples(tests).min() > v.score_samples(others).max()
    loaded = load_verifier(dump_verifier(v))
    assert np.array_equal(loaded.score_samples(others), v.score_samples(others))


@pytest.mark.parametrize("bad", [{"dtw": "nope"}, {"subspace": "own"}])
def test_member_norms_are_checked(data, bad):
    genuine, _, _, background = data
    with pytest.raises(ValueError, match="member"):
        fusion(["dtw", "svm"], member_norms=bad).fit(genuine, background)


def test_two_references_with_pseudo_children_use_no_single_sample_loo(data):
    # a leave-one-out fit on one recorded sample + generated copies of it has no spread to
    # normalise by (DTW's would fall back to raw units); such splits must not calibrate
    genuine, tests, others, background = data
    refs = genuine[:2]
    kids = [sample(1, 70 + k, genuine[0].dims, variation=0.5, pseudo="genuine").with_meta(
        extra={"pseudo": "genuine", "parent_sources": [refs[k % 2].meta.source]})
        for k in range(6)]
    v = fusion(["dtw", "svm"]).fit(refs + kids, background)
    loo = v._loo_genuine(refs + kids, background)
    assert loo.shape == (len(refs + kids), 2)  # the members' own scores stand in
    assert np.all(np.isfinite(v.score_samples(tests + others)))
    assert v.score_samples(tests).mean() > v.score_samples(others).mean()
