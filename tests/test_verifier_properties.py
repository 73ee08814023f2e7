"""Properties every registered verifier must have (hypothesis).

- any valid trajectory of the enrolled dimensionality gets a finite score, or -- if it is too
  short to carry a signature after resampling -- a clear ``AirAuthError``, never a crash;
- invalid input (not trajectories, an empty list, the wrong dimensionality) raises a clear
  ``AirAuthError``;
- ``models.serialization`` round trips give identical scores and thresholds.
"""

from __future__ import annotations

import numpy as np
import pytest
from fakes.signatures import samples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.trajectory import Trajectory
from core.errors import AirAuthError, TrajectoryError
from models.registry import VERIFIERS, make_verifier
from models.serialization import dump_verifier, load_verifier

NAMES = sorted(VERIFIERS)
SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


_FITTED: dict[tuple[str, int], tuple] = {}


def new(name: str, dims: int):
    """An unfitted verifier; the calibrated one with the package's own calibration (the
    18-recording background below is too small for the cohort feature)."""
    if name != "calibrated":
        return make_verifier(name)
    from models.ensemble import FUSION_MEMBERS
    from models.score_calibration import shipped_calibrations

    cal = shipped_calibrations().find(FUSION_MEMBERS, {}, dims, cohort=False)
    return make_verifier(name, calibration=cal.to_dict())


def fitted(name: str, dims: int) -> tuple:
    """(fitted verifier, its save/load copy), fitted once per module; background given."""
    if (name, dims) not in _FITTED:
        genuine = samples(1, 5, dims, variation=0.5)
        background = [t for w in range(2, 8) for t in samples(w, 3, dims)]
        v = new(name, dims).fit(genuine, background)
        _FITTED[(name, dims)] = (v, load_verifier(dump_verifier(v)))
    return _FITTED[(name, dims)]


@st.composite
def trajectories(draw, dims: int, min_duration: float = 0.0):
    n = draw(st.integers(8, 160))
    dt = draw(st.lists(st.floats(0.001, 0.05), min_size=n - 1, max_size=n - 1))
    t = np.concatenate([[0.0], np.cumsum(dt)])
    if t[-1] < min_duration:
        t = t * (min_duration / t[-1])
    coords = st.floats(-1000.0, 1000.0, allow_nan=False, allow_infinity=False)
    flat = draw(st.lists(coords, min_size=n * dims, max_size=n * dims))
    pos = np.asarray(flat).reshape(n, dims)
    if draw(st.booleans()):  # smooth it: real writing is not white noise
        pos = np.cumsum(pos, axis=0) / 10.0
    return Trajectory(t=t, positions=pos)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dims", [2, 3])
def test_scores_finite_and_identical_after_save_load(name, dims):
    verifier, loaded = fitted(name, dims)

    @SETTINGS
    @given(traj=trajectories(dims, min_duration=0.3))
    def check(traj):
        s = verifier.score_samples([traj])
        assert s.shape == (1,) and np.all(np.isfinite(s))
        assert np.array_equal(loaded.score_samples([traj]), s)
        assert np.array_equal(verifier.decision_function([traj]), s - verifier.threshold_)

    check()
    assert loaded.threshold_ == verifier.threshold_


@pytest.mark.parametrize("name", NAMES)
def test_any_valid_trajectory_scores_or_fails_clearly(name):
    verifier, _ = fitted(name, 3)

    @SETTINGS
    @given(traj=trajectories(3))
    def check(traj):
        try:
            s = verifier.score_samples(traj)
        except AirAuthError:
            return  # e.g. too short after resampling: a clear, user-facing error
        assert np.all(np.isfinite(s))

    check()


@pytest.mark.parametrize("name", NAMES)
def test_invalid_input_raises_clear_errors(name):
    verifier, _ = fitted(name, 3)
    with pytest.raises(TrajectoryError):
        verifier.score_samples([])
    with pytest.raises(TrajectoryError):
        verifier.score_samples([np.zeros((20, 3))])
    with pytest.raises(TrajectoryError):
        verifier.score_samples("not trajectories")
    with pytest.raises(AirAuthError, match="2-D|3-D|channel"):
        verifier.score_samples(samples(9, 1, dims=2))
    with pytest.raises(TrajectoryError):
        new(name, 3).fit(samples(1, 1, 3))  # one sample cannot enroll
