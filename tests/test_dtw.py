"""The compiled DTW (models.dtw) against its plain numpy definition, plus its properties.

Exactness matters: the numba kernels are the only DTW the verifiers use, and
``dtw_distance_reference`` is the readable definition; they must give the same numbers
(rtol 1e-12) for every band, normalisation and metric, including very unequal lengths and
inputs full of ties (small integers), where the path-length tie-breaking shows.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.errors import AirAuthError
from models import dtw as dtw_module
from models.dtw import (
    DTWInputError,
    band_width,
    dtw_distance,
    dtw_distance_matrix,
    dtw_distance_reference,
    dtw_path,
)

RTOL = 1e-12
WINDOWS = [None, 0, 1, 5, 0.0, 0.1, 0.5, 1.0]
NORMALIZE = ["path", "length", "none"]
METRICS = ["euclidean", "sqeuclidean"]
# (n, m): equal, nearly equal, very unequal both ways, single frames
LENGTHS = [(1, 1), (1, 9), (9, 1), (2, 3), (12, 12), (17, 16), (5, 40), (40, 5), (33, 29)]
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _pair(rng: np.random.Generator, n: int, m: int, c: int, ties: bool) -> tuple:
    if ties:  # small integers: many equal costs, so tie-breaking must match too
        return (rng.integers(-2, 3, size=(n, c)).astype(float),
                rng.integers(-2, 3, size=(m, c)).astype(float))
    return rng.normal(size=(n, c)) * 3.0, rng.normal(size=(m, c)) * 3.0 + 0.5


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("normalize", NORMALIZE)
@pytest.mark.parametrize("window", WINDOWS)
def test_compiled_matches_numpy_reference(window, normalize, metric):
    rng = np.random.default_rng([len(NORMALIZE), METRICS.index(metric), WINDOWS.index(window)])
    for k, (n, m) in enumerate(LENGTHS):
        for ties in (False, True):
            c = int(rng.integers(1, 10))  # 1..9 channels
            a, b = _pair(rng, n, m, c, ties)
            got = dtw_distance(a, b, window, normalize, metric)
            want = dtw_distance_reference(a, b, window, normalize, metric)
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=0,
                                       err_msg=f"n={n} m={m} C={c} ties={ties}")
            assert np.isfinite(got) and got >= 0


@given(a=arrays(np.float64, st.tuples(st.integers(1, 25), st.just(2)),
                elements=st.integers(-3, 3).map(float)),
       b=arrays(np.float64, st.tuples(st.integers(1, 25), st.just(2)),
                elements=st.integers(-3, 3).map(float)),
       window=st.one_of(st.none(), st.integers(0, 30), st.floats(0.0, 1.0)),
       normalize=st.sampled_from(NORMALIZE), metric=st.sampled_from(METRICS))
@SETTINGS
def test_compiled_matches_reference_on_ties(a, b, window, normalize, metric):
    np.testing.assert_allclose(dtw_distance(a, b, window, normalize, metric),
                               dtw_distance_reference(a, b, window, normalize, metric),
                               rtol=RTOL, atol=0)


def test_one_dimensional_input_is_one_channel():
    a, b = np.arange(10.0), np.arange(12.0) ** 1.1
    assert dtw_distance(a, b) == dtw_distance(a[:, None], b[:, None])


def test_band_width_rules():
    assert band_width(100, 100, None) == 100
    assert band_width(100, 100, 7) == 7
    assert band_width(100, 80, 0.1) == 20  # widened to |n - m| so the end stays reachable
    assert band_width(101, 101, 0.1) == 11  # ceil(0.1 * 101)
    assert band_width(50, 50, 0) == 0


def test_zero_window_on_equal_lengths_is_the_diagonal():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    diag = np.sqrt(((a - b) ** 2).sum(axis=1))
    np.testing.assert_allclose(dtw_distance(a, b, 0, "none"), diag.sum(), rtol=RTOL)
    np.testing.assert_allclose(dtw_distance(a, b, 0, "path"), diag.mean(), rtol=RTOL)


def test_a_wider_band_never_costs_more():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(40, 3)), rng.normal(size=(35, 3))
    costs = [dtw_distance(a, b, w, "none") for w in (0, 5, 10, 20, None)]
    assert all(x >= y for x, y in itertools.pairwise(costs))


# -- the parallel matrix ------------------------------------------------------------------------
@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("window,normalize,metric",
                         [(None, "path", "euclidean"), (0.1, "none", "sqeuclidean"),
                          (3, "length", "euclidean"), (0, "path", "sqeuclidean")])
def test_distance_matrix_equals_pairwise(window, normalize, metric, parallel, monkeypatch):
    # small jobs run on one thread; force each way so both compiled loops are checked
    monkeypatch.setattr(dtw_module, "PARALLEL_MIN_CELLS", 0 if parallel else 10**18)
    rng = np.random.default_rng(5)
    qs = [rng.normal(size=(int(rng.integers(1, 50)), 4)) for _ in range(7)]
    ts = [rng.normal(size=(int(rng.integers(1, 50)), 4)) for _ in range(5)]
    got = dtw_distance_matrix(qs, ts, window, normalize, metric)
    assert got.shape == (7, 5)
    want = np.array([[dtw_distance(q, t, window, normalize, metric) for t in ts] for q in qs])
    np.testing.assert_array_equal(got, want)

    square = dtw_distance_matrix(qs, None, window, normalize, metric)
    want_sq = np.array([[dtw_distance(q, t, window, normalize, metric) if i != j else 0.0
                         for j, t in enumerate(qs)] for i, q in enumerate(qs)])
    np.testing.assert_array_equal(square, np.minimum(want_sq, want_sq.T))
    np.testing.assert_array_equal(square, square.T)
    np.testing.assert_array_equal(np.diag(square), 0.0)


def test_distance_matrix_single_query():
    a = np.random.default_rng(6).normal(size=(20, 3))
    np.testing.assert_array_equal(dtw_distance_matrix([a]), [[0.0]])
    np.testing.assert_array_equal(dtw_distance_matrix([a], [a, a + 1]),
                                  [[0.0, dtw_distance(a, a + 1)]])


# -- the path -----------------------------------------------------------------------------------
@pytest.mark.parametrize("window", [None, 0, 4, 0.2])
@pytest.mark.parametrize("metric", METRICS)
def test_path_cost_and_validity(window, metric):
    rng = np.random.default_rng([7, WINDOWS.index(window) if window in WINDOWS else 9])
    for (n, m), ties in [(nm, t) for nm in LENGTHS for t in (False, True)]:
        a, b = _pair(rng, n, m, 3, ties)
        cost, path = dtw_path(a, b, window, metric)
        np.testing.assert_allclose(cost, dtw_distance_reference(a, b, window, "none", metric),
                                   rtol=RTOL)
        np.testing.assert_allclose(cost, dtw_distance(a, b, window, "none", metric), rtol=RTOL)
        # a valid monotone path from (0, 0) to (n-1, m-1) inside the band
        assert path.dtype.kind == "i" and path.shape[1] == 2
        assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (n - 1, m - 1)
        steps = np.diff(path, axis=0)
        assert {tuple(s) for s in steps} <= {(1, 0), (0, 1), (1, 1)}
        assert np.all(np.abs(path[:, 0] - path[:, 1]) <= band_width(n, m, window))
        # its local costs add up to the cost; its length is the path normalisation's divisor
        local = ((a[path[:, 0]] - b[path[:, 1]]) ** 2).sum(axis=1)
        if metric == "euclidean":
            local = np.sqrt(local)
        np.testing.assert_allclose(local.sum(), cost, rtol=1e-10)
        np.testing.assert_allclose(cost / len(path), dtw_distance(a, b, window, "path", metric),
                                   rtol=1e-10)


# -- properties (hypothesis) --------------------------------------------------------------------
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)
values = st.one_of(st.integers(-2, 2).map(float), finite)  # small integers make ties


@st.composite
def sequence_pairs(draw):
    c = draw(st.integers(1, 4))
    a = draw(arrays(np.float64, st.tuples(st.integers(1, 30), st.just(c)), elements=values))
    b = draw(arrays(np.float64, st.tuples(st.integers(1, 30), st.just(c)), elements=values))
    return a, b


windows = st.one_of(st.none(), st.integers(0, 40), st.floats(0.0, 1.0))


@given(pair=sequence_pairs(), window=windows, normalize=st.sampled_from(NORMALIZE),
       metric=st.sampled_from(METRICS))
@SETTINGS
def test_symmetric_nonnegative_finite(pair, window, normalize, metric):
    a, b = pair
    d_ab = dtw_distance(a, b, window, normalize, metric)
    d_ba = dtw_distance(b, a, window, normalize, metric)
    assert np.isfinite(d_ab) and d_ab >= 0
    assert d_ab == d_ba


@given(pair=sequence_pairs(), window=windows, normalize=st.sampled_from(NORMALIZE),
       metric=st.sampled_from(METRICS))
@SETTINGS
def test_zero_on_identical_inputs(pair, window, normalize, metric):
    a, _ = pair
    assert dtw_distance(a, a.copy(), window, normalize, metric) == 0.0
    cost, path = dtw_path(a, a, window, metric)
    assert cost == 0.0
    np.testing.assert_array_equal(path, np.column_stack([np.arange(len(a))] * 2))


def test_path_normalisation_symmetric_on_ties():
    """Found by search: a fixed step order on ties made d(a, b) != d(b, a) here."""
    a = np.array([0.0, 1, 0, 0, 1])
    b = np.array([1.0, 0, 0, 1, 0])
    assert dtw_distance(a, b) == dtw_distance(b, a) == dtw_distance_reference(b, a)


# -- invalid input ------------------------------------------------------------------------------
GOOD = np.zeros((10, 3))


@pytest.mark.parametrize("a,b,match", [
    (np.full((10, 3), np.nan), GOOD, "NaN"),
    (GOOD, np.where(np.eye(10, 3) > 0, np.inf, 0.0), "NaN or infinite"),
    (np.zeros((0, 3)), GOOD, "non-empty"),
    (np.zeros((10, 0)), np.zeros((10, 0)), "non-empty"),
    (np.zeros((2, 3, 4)), GOOD, "non-empty"),
    (GOOD, np.zeros((10, 2)), "channel counts differ"),
    ([], GOOD, "non-empty"),
])
def test_invalid_sequences_raise(a, b, match):
    for fn in (dtw_distance, dtw_distance_reference):
        with pytest.raises(DTWInputError, match=match):
            fn(a, b)
    with pytest.raises(DTWInputError, match=match):
        dtw_path(a, b)
    with pytest.raises(DTWInputError, match=match):
        dtw_distance_matrix([GOOD, a], [b])


@pytest.mark.parametrize("window", [-1, 1.5, -0.1, float("nan"), "10%", True, [3]])
def test_bad_window_raises(window):
    with pytest.raises(DTWInputError, match="window"):
        dtw_distance(GOOD, GOOD, window)
    with pytest.raises(DTWInputError, match="window"):
        dtw_distance_matrix([GOOD], [GOOD], window)
    with pytest.raises(DTWInputError, match="window"):
        dtw_path(GOOD, GOOD, window)


def test_bad_options_and_lists_raise():
    with pytest.raises(DTWInputError, match="normalize"):
        dtw_distance(GOOD, GOOD, normalize="mean")
    with pytest.raises(DTWInputError, match="metric"):
        dtw_distance(GOOD, GOOD, metric="cityblock")
    with pytest.raises(DTWInputError, match="empty"):
        dtw_distance_matrix([])
    with pytest.raises(DTWInputError, match="same channel count"):
        dtw_distance_matrix([GOOD, np.zeros((5, 2))])
    with pytest.raises(DTWInputError, match="channel counts differ"):
        dtw_distance_matrix([GOOD], [np.zeros((5, 2))])
    # a clear, catchable project error, and still a ValueError for numpy-style callers
    assert issubclass(DTWInputError, AirAuthError) and issubclass(DTWInputError, ValueError)
