import numpy as np
import pytest

from capture import Trajectory
from capture.preprocess import (
    FeatureConfig,
    center,
    feature_sequence,
    lowpass,
    path_angles,
    resample_length,
    resample_uniform,
    rotate_to_writing_plane,
    scale_normalize,
    trim_idle,
    zscore,
)


def circle(n=200, duration=2.0, still=0):
    t = np.linspace(0, duration, n)
    a = np.linspace(0, 2 * np.pi, n - 2 * still)
    pos = np.column_stack([np.cos(a), np.sin(a), 0.1 * a]) * 50
    if still:
        pos = np.vstack([np.repeat(pos[:1], still, 0), pos, np.repeat(pos[-1:], still, 0)])
    return t, pos


def test_resample_uniform_grid_and_values():
    t = np.array([0.0, 0.1, 0.3, 0.4])
    x = np.array([[0.0], [1.0], [3.0], [4.0]])
    grid, out = resample_uniform(t, x, 10.0)
    np.testing.assert_allclose(grid, [0, 0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(out[:, 0], [0, 1, 2, 3, 4])


def test_resample_length_keeps_endpoints():
    x = np.arange(10, dtype=float)[:, None] ** 2
    out = resample_length(x, 37)
    assert out.shape == (37, 1)
    assert out[0, 0] == 0 and out[-1, 0] == 81


def test_lowpass_removes_high_frequency():
    rate = 100.0
    t = np.arange(400) / rate
    slow, fast = np.sin(2 * np.pi * 1 * t), 0.5 * np.sin(2 * np.pi * 30 * t)
    out = lowpass((slow + fast)[:, None], rate, 10.0)[:, 0]
    assert np.max(np.abs(out[20:-20] - slow[20:-20])) < 0.05


def test_trim_idle_drops_still_ends():
    _, pos = circle(n=300, still=50)
    s = trim_idle(pos, rate_hz=150.0)
    assert 40 <= s.start <= 60 and 240 <= s.stop <= 260


def test_center_scale_zscore():
    x = np.random.default_rng(1).normal(5, 3, size=(100, 3))
    assert np.allclose(center(x).mean(0), 0)
    s = scale_normalize(x)
    assert np.isclose(np.sqrt(np.mean(np.sum(s**2, 1))), 1.0)
    z = zscore(x)
    assert np.allclose(z.std(0), 1) and np.allclose(z.mean(0), 0)


def test_rotation_to_writing_plane_flattens_a_tilted_plane():
    rng = np.random.default_rng(2)
    flat = np.column_stack([rng.normal(0, 10, 200), rng.normal(0, 5, 200), np.zeros(200)])
    a = np.deg2rad(40)
    rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    out = rotate_to_writing_plane(flat @ rot.T)
    assert np.std(out[:, 2]) < 1e-8
    assert np.std(out[:, 0]) > np.std(out[:, 1])


def test_path_angles_unit_vectors():
    _, pos = circle()
    ang = path_angles(pos)
    np.testing.assert_allclose(np.hypot(ang[:, 0], ang[:, 1]), 1.0)


@pytest.mark.parametrize("dims", [2, 3])
def test_feature_sequence_shapes(dims):
    t, pos = circle()
    tr = Trajectory(t=t, positions=pos[:, :dims])
    cfg = FeatureConfig(channels=("pos", "vel", "acc", "angle", "speed", "pen"))
    f = feature_sequence(tr, cfg)
    assert f.shape[1] == 3 * dims + 2 + 1 + 1
    assert f.shape[0] == pytest.approx(2.0 * cfg.rate_hz, abs=3)
    assert np.all(np.isfinite(f))


def test_feature_config_round_trip_and_validation():
    cfg = FeatureConfig(rotate=True, channels=("pos", "angle"), channel_weights={"angle": 2.0})
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        FeatureConfig(channels=("bogus",))
