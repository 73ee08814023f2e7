import numpy as np
import pytest

from capture import Label, Trajectory, TrajectoryError, TrajectoryMeta


def make(n=20, d=3):
    t = np.linspace(0, 1, n)
    return Trajectory(t=t + 5.0, positions=np.random.default_rng(0).normal(size=(n, d)))


def test_time_starts_at_zero_and_facts():
    tr = make()
    assert tr.t[0] == 0.0 and len(tr) == 20 and tr.dims == 3
    assert tr.duration == pytest.approx(1.0)
    assert tr.sampling_rate == pytest.approx(19.0)


@pytest.mark.parametrize("bad", ["nan_pos", "nan_t", "nonincreasing", "short", "shape", "channel"])
def test_invalid_trajectories_raise_clear_errors(bad):
    n = 20
    t = np.linspace(0, 1, n)
    pos = np.zeros((n, 3))
    channels = {}
    if bad == "nan_pos":
        pos[3, 1] = np.nan
    elif bad == "nan_t":
        t = t.copy(); t[2] = np.nan
    elif bad == "nonincreasing":
        t = t.copy(); t[5] = t[4]
    elif bad == "short":
        t, pos = t[:3], pos[:3]
    elif bad == "shape":
        pos = np.zeros((n, 4))
    elif bad == "channel":
        channels = {"confidence": np.ones(n - 1)}
    with pytest.raises(TrajectoryError):
        Trajectory(t=t, positions=pos, channels=channels)


def test_meta_round_trip():
    m = TrajectoryMeta(user="u1", content="name", label=Label.SKILLED_FORGERY, extra={"k": 1})
    assert TrajectoryMeta.from_dict(m.to_dict()) == m


def test_arrays_are_read_only():
    tr = make()
    with pytest.raises(ValueError):
        tr.positions[0, 0] = 1.0
