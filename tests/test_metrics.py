"""Metric code against hand-computed cases (ties, all equal, separated, empty class)."""

from __future__ import annotations

import numpy as np
import pytest

from authapp.harness import metrics
from core.errors import AirAuthError


def test_perfectly_separated():
    g, i = [2.0, 3.0], [0.0, 1.0]
    assert metrics.eer(g, i) == 0.0
    assert metrics.auc(g, i) == 1.0
    assert metrics.frr_at_far(g, i, 0.0) == 0.0


def test_fully_inverted():
    g, i = [0.0, 1.0], [2.0, 3.0]
    assert metrics.eer(g, i) == 1.0
    assert metrics.auc(g, i) == 0.0


def test_all_equal_scores_are_chance():
    assert metrics.eer([1.0] * 5, [1.0] * 7) == 0.5
    assert metrics.auc([1.0] * 5, [1.0] * 7) == 0.5


def test_ties_between_classes():
    # thresholds 0, 1, 2, inf: FAR 1, .5, 0, 0; FRR 0, 0, .5, 1 -> crossing half-way
    # between (FAR .5, FRR 0) and (FAR 0, FRR .5): EER .25.
    g, i = [1.0, 2.0], [1.0, 0.0]
    assert metrics.eer(g, i) == pytest.approx(0.25)
    # pairs: (1>0) 1, (1=1) .5, (2>1) 1, (2>0) 1 -> 3.5 / 4
    assert metrics.auc(g, i) == pytest.approx(0.875)


def test_interpolated_eer_hand_case():
    # FAR: 1, .5, .5, .5, 0, 0 ; FRR: 0, 0, 1/3, 2/3, 2/3, 1 -> crossing between the
    # thresholds 2 and 2.5, where FAR stays .5 and FRR goes 1/3 -> 2/3: EER .5
    g, i = [1.0, 2.0, 3.0], [0.0, 2.5]
    assert metrics.eer(g, i) == pytest.approx(0.5)
    assert metrics.auc(g, i) == pytest.approx(4 / 6)
    thr, far, frr = metrics.roc_points(g, i)
    np.testing.assert_array_equal(thr, [0, 1, 2, 2.5, 3, np.inf])
    np.testing.assert_allclose(far, [1, .5, .5, .5, 0, 0])
    np.testing.assert_allclose(frr, [0, 0, 1 / 3, 2 / 3, 2 / 3, 1])


def test_frr_at_far_targets():
    imp = np.arange(100.0)  # 0..99
    gen = [50.5, 98.5, 99.5, 200.0]
    # FAR <= 1 %: at most one impostor (99) accepted -> threshold 98.5 -> FRR 1/4
    assert metrics.frr_at_far(gen, imp, 0.01) == pytest.approx(0.25)
    # FAR <= 0.1 %: no impostor accepted -> threshold 99.5 -> FRR 2/4
    assert metrics.frr_at_far(gen, imp, 0.001) == pytest.approx(0.5)


def test_summary_at_own_threshold():
    g = [0.5, 1.0, -0.2, 2.0]  # one false reject (-0.2)
    i = [-1.0, -0.5, 0.0, -3.0, -2.0]  # one false accept (0.0 >= 0)
    s = metrics.summarize(g, i)
    assert (s.far, s.frr) == (pytest.approx(0.2), pytest.approx(0.25))
    assert (s.false_accepts, s.false_rejects, s.n_genuine, s.n_impostor) == (1, 1, 4, 5)
    assert s.recognition_rate == pytest.approx(7 / 9)
    assert metrics.rates_at(g, i, 0.0) == (pytest.approx(0.2), pytest.approx(0.25))
    d = s.as_dict()
    assert set(d) >= {"eer", "auc", "far", "frr", "n_genuine", "n_impostor"}


@pytest.mark.parametrize("fn", [metrics.eer, metrics.auc, metrics.summarize])
def test_empty_class_is_a_clear_error(fn):
    with pytest.raises(metrics.MetricsError, match="no impostor attempts"):
        fn([1.0, 2.0], [])
    with pytest.raises(AirAuthError, match="no genuine attempts"):
        fn([], [1.0])


def test_nan_scores_rejected():
    with pytest.raises(metrics.MetricsError, match="NaN"):
        metrics.eer([1.0, np.nan], [0.0])


def test_auc_and_eer_agree_with_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        g = np.round(rng.normal(1.0, 1.0, rng.integers(1, 30)), 1)  # rounding makes ties
        i = np.round(rng.normal(0.0, 1.0, rng.integers(1, 40)), 1)
        diff = g[:, None] - i[None, :]
        assert metrics.auc(g, i) == pytest.approx(np.mean(diff > 0) + 0.5 * np.mean(diff == 0))
        e = metrics.eer(g, i)
        _, far, frr = metrics.roc_points(g, i)
        assert np.all(np.diff(far) <= 0) and np.all(np.diff(frr) >= 0)
        # the EER lies on the ROC segment where FAR - FRR changes sign
        d = far - frr
        k = int(np.nonzero(d <= 0)[0][0])
        seg = [far[k - 1], far[k], frr[k - 1], frr[k]]
        assert min(seg) - 1e-12 <= e <= max(seg) + 1e-12
        assert 0.0 <= e <= 1.0


def test_all_equal_scores_full_summary():
    # every score sits exactly on the threshold: all accepted (score >= threshold)
    s = metrics.summarize([0.0] * 4, [0.0] * 6)
    assert (s.eer, s.auc, s.far, s.frr) == (0.5, 0.5, 1.0, 0.0)
    assert s.recognition_rate == pytest.approx(4 / 10)
    # no threshold separates them: FAR <= 1 % is only reached by rejecting everyone
    assert s.frr_at_far_1pct == 1.0 and s.frr_at_far_0_1pct == 1.0
    assert all(np.isfinite(v) for v in (s.eer, s.auc, s.far, s.frr))


def test_single_attempt_per_class():
    assert metrics.eer([1.0], [0.0]) == 0.0
    assert metrics.eer([0.0], [1.0]) == 1.0
    assert metrics.eer([0.5], [0.5]) == 0.5


# -- paired cluster bootstrap of an EER change -------------------------------------------------
def _clusters(rng, n, shift=0.0):
    return [(rng.normal(2.0 + shift, 1.0, 10).round(1), rng.normal(0.0, 1.0, 30).round(1))
            for _ in range(n)]


def test_clustered_eer_with_integer_weights_equals_eer_on_repeated_attempts():
    rng = np.random.default_rng(3)
    for _ in range(50):
        groups = [(rng.normal(1, 1, rng.integers(1, 6)).round(1),
                   rng.normal(0, 1, rng.integers(0, 6)).round(1))
                  for _ in range(rng.integers(1, 5))]
        weights = rng.integers(0, 3, size=(6, len(groups))).astype(float)
        got = metrics._ClusteredScores(groups).eers(weights)
        for row, value in zip(weights, got):
            g = np.concatenate([np.repeat(x, int(k)) for (x, _), k in zip(groups, row)])
            i = np.concatenate([np.repeat(y, int(k)) for (_, y), k in zip(groups, row)])
            if g.size and i.size:  # ties and all: the same ROC as the attempts repeated
                assert value == pytest.approx(metrics.eer(g, i), abs=1e-12)
            else:
                assert np.isnan(value)


def test_bootstrap_eer_change_of_a_variant_against_itself_is_exactly_zero():
    groups = _clusters(np.random.default_rng(0), 12)
    ch = metrics.bootstrap_eer_change(groups, groups, n_boot=200, seed=1)
    assert (ch.change, ch.ci_low, ch.ci_high) == (0.0, 0.0, 0.0)
    assert ch.resamples == 200 and ch.clusters == 12


def test_bootstrap_eer_change_finds_a_real_improvement_and_is_deterministic():
    rng = np.random.default_rng(0)
    worse = _clusters(rng, 30)
    better = [(g + 1.0, i) for g, i in worse]  # every user's genuine attempts score higher
    ch = metrics.bootstrap_eer_change(worse, better, n_boot=300, seed=7)
    whole_a = metrics.eer(np.concatenate([g for g, _ in worse]),
                          np.concatenate([i for _, i in worse]))
    whole_b = metrics.eer(np.concatenate([g for g, _ in better]),
                          np.concatenate([i for _, i in better]))
    assert ch.change == pytest.approx(whole_b - whole_a)
    assert ch.ci_low <= ch.change <= ch.ci_high < 0  # clearly lower, interval excludes 0
    assert ch == metrics.bootstrap_eer_change(worse, better, n_boot=300, seed=7)
    assert ch.to_dict()["ci"] == [ch.ci_low, ch.ci_high]


def test_bootstrap_eer_change_of_noise_straddles_zero():
    rng = np.random.default_rng(5)
    a, b = _clusters(rng, 30), _clusters(rng, 30)  # same distribution, new draws
    ch = metrics.bootstrap_eer_change(a, b, n_boot=500, seed=0)
    assert ch.ci_low < 0 < ch.ci_high


def test_bootstrap_eer_change_rejects_bad_input():
    groups = _clusters(np.random.default_rng(0), 3)
    with pytest.raises(metrics.MetricsError, match="same clusters"):
        metrics.bootstrap_eer_change(groups, groups[:2])
    with pytest.raises(metrics.MetricsError, match="no impostor"):
        metrics.bootstrap_eer_change([(g, []) for g, _ in groups], groups)
    with pytest.raises(metrics.MetricsError, match="NaN"):
        metrics.bootstrap_eer_change([(np.array([np.nan]), i) for _, i in groups], groups)
    with pytest.raises(metrics.MetricsError, match="n_boot"):
        metrics.bootstrap_eer_change(groups, groups, n_boot=0)
    with pytest.raises(metrics.MetricsError, match="no clusters"):
        metrics.bootstrap_eer_change([], [])


def test_bootstrap_eer_interval_brackets_the_eer_and_narrows_with_more_users():
    rng = np.random.default_rng(2)
    few, many = _clusters(rng, 8), _clusters(rng, 80)
    for groups in (few, many):
        e = metrics.eer(np.concatenate([g for g, _ in groups]),
                        np.concatenate([i for _, i in groups]))
        lo, hi = metrics.bootstrap_eer_interval(groups, n_boot=400, seed=0)
        assert lo <= e <= hi
    width = [np.subtract(*metrics.bootstrap_eer_interval(g, n_boot=400)[::-1])
             for g in (few, many)]
    assert width[1] < width[0]
    assert metrics.bootstrap_eer_interval(few, n_boot=50, seed=3) == \
        metrics.bootstrap_eer_interval(few, n_boot=50, seed=3)
    with pytest.raises(metrics.MetricsError, match="level"):
        metrics.bootstrap_eer_interval(few, level=1.5)


@pytest.mark.parametrize("seed", range(5))
def test_roc_points_equal_scikit_learn_roc_and_det_curves_with_ties(seed):
    """Our ROC (accept at score >= threshold) is scikit-learn's, point for point, also when
    scores tie within and across classes (rounded scores)."""
    from sklearn.metrics import det_curve, roc_auc_score, roc_curve

    rng = np.random.default_rng(seed)
    g = np.round(rng.normal(1.0, 1.0, 60), 1)
    i = np.round(rng.normal(0.0, 1.0, 90), 1)
    labels = np.concatenate([np.ones(g.size), np.zeros(i.size)])
    scores = np.concatenate([g, i])
    thr, far, frr = metrics.roc_points(g, i)
    fpr, tpr, sk_thr = roc_curve(labels, scores, drop_intermediate=False)
    # scikit-learn: decreasing thresholds, the first (inf) accepting nothing
    np.testing.assert_allclose(far[::-1], fpr)
    np.testing.assert_allclose(frr[::-1], 1.0 - tpr)
    np.testing.assert_allclose(thr[:-1][::-1], sk_thr[1:])
    det_fpr, det_fnr, det_thr = det_curve(labels, scores)
    ours = dict(zip(thr[:-1], zip(far[:-1], frr[:-1])))
    for t, a, b in zip(det_thr, det_fpr, det_fnr):
        np.testing.assert_allclose(ours[t], (a, b))
    assert metrics.auc(g, i) == pytest.approx(roc_auc_score(labels, scores))


# -- Cllr and minCllr against a well-kept reference (NFI's lir, log10 LLRs) -----------------
def _lir_costs(g: np.ndarray, i: np.ndarray) -> tuple[float, float]:
    from lir.data.models import LLRData
    from lir.metrics import cllr, cllr_min

    data = LLRData(features=np.r_[g, i] / np.log(10.0),
                   labels=np.r_[np.ones(g.size), np.zeros(i.size)])
    return cllr(data), cllr_min(data)


@pytest.mark.parametrize("seed", range(4))
def test_cllr_and_min_cllr_equal_the_reference_implementation(seed):
    rng = np.random.default_rng(seed)
    g = rng.normal(2.0, 1.5, 40 + 50 * seed)
    i = rng.normal(-3.0, 2.0, 300 + 200 * seed)
    i[:3] = g[:3]  # impostors tied with genuine scores
    g, i = np.round(g, 1), np.round(i, 1)  # and many ties within and between classes
    ref_cllr, ref_min = _lir_costs(g, i)
    assert metrics.cllr(g, i) == pytest.approx(ref_cllr, rel=1e-9)
    assert metrics.min_cllr(g, i) == pytest.approx(ref_min, rel=1e-9)
    assert metrics.min_cllr(g, i) <= metrics.cllr(g, i)


def test_cllr_hand_values_and_min_cllr_limits():
    # LLR 0 everywhere: no information, exactly 1 bit, and nothing a recalibration can add
    assert metrics.cllr([0.0, 0.0], [0.0]) == pytest.approx(1.0)
    assert metrics.min_cllr([1.0, 1.0], [1.0, 1.0, 1.0]) == pytest.approx(1.0)
    # one genuine at LLR ln 3 (cost log2(4/3)), one impostor at -ln 3 (the same)
    assert metrics.cllr([np.log(3)], [-np.log(3)]) == pytest.approx(np.log2(4 / 3))
    # separated scores: minCllr 0 however badly they are scaled; Cllr charges the scale
    g, i = np.array([0.2, 0.3]), np.array([-0.1, 0.1])
    assert metrics.min_cllr(g, i) == 0.0
    assert metrics.cllr(g, i) > 0.9
    # confidently wrong costs more than 1 bit
    assert metrics.cllr([-5.0], [5.0]) > 1.0


def test_min_cllr_depends_only_on_the_order_of_the_scores():
    rng = np.random.default_rng(7)
    g, i = rng.normal(1.0, 1.0, 60), rng.normal(-1.0, 1.0, 200)
    assert metrics.min_cllr(np.exp(g), np.exp(i)) == pytest.approx(metrics.min_cllr(g, i))
    assert metrics.min_cllr(3 * g - 7, 3 * i - 7) == pytest.approx(metrics.min_cllr(g, i))


def test_pav_llrs_are_monotone_and_tied_scores_share_one_value():
    g, i = np.array([0.0, 1.0, 1.0, 3.0]), np.array([-1.0, 1.0, 2.0])
    lg, li = metrics.pav_llrs(g, i)
    s, llr = np.r_[g, i], np.r_[lg, li]
    order = np.argsort(s, kind="stable")
    assert np.all(np.diff(llr[order]) >= 0)
    assert len({float(v) for v in llr[s == 1.0]}) == 1


@pytest.mark.parametrize("fn", [metrics.cllr, metrics.min_cllr])
def test_cllr_needs_both_classes(fn):
    with pytest.raises(metrics.MetricsError):
        fn([], [0.0])
