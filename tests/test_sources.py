"""Frame, ReplaySource and trajectory_from_frames (no real sleeping: clocks are injected)."""

from __future__ import annotations

import numpy as np
import pytest
from fakes.clock import FakeClock

from capture.formats.fmkit import read_fmkit
from capture.sources import Frame, ReplaySource, trajectory_from_frames
from capture.trajectory import Label, Trajectory, TrajectoryMeta
from core.errors import TrajectoryError


def make_traj(n: int = 50, rate: float = 100.0, pen: bool = False) -> Trajectory:
    t = np.arange(n) / rate
    pos = np.column_stack([np.cos(t * 5) * 50, np.sin(t * 5) * 50, t * 10])
    channels = {"palm": pos - [0, 80, 0], "confidence": np.linspace(0.5, 1.0, n)}
    if pen:
        channels["pen_down"] = (np.arange(n) % 7 != 0).astype(float)
    meta = TrajectoryMeta(user="u1", content="abc", label=Label.GENUINE, device="test")
    return Trajectory(t=t, positions=pos, channels=channels, meta=meta)


# -- Frame -------------------------------------------------------------------------------
def test_frame_converts_and_validates() -> None:
    f = Frame(timestamp=1, tip=[1, 2, 3], palm=(0, 0, 0), confidence=0.5, hand="right")
    assert f.has_hand and f.tip.dtype == np.float64 and f.tip.shape == (3,)
    assert isinstance(f.timestamp, float) and f.confidence == 0.5
    assert not f.tip.flags.writeable
    assert not Frame(timestamp=0.0, tip=None).has_hand
    with pytest.raises(TrajectoryError, match="2 or 3 coordinates"):
        Frame(timestamp=0.0, tip=[1, 2, 3, 4])


# -- ReplaySource ------------------------------------------------------------------------
def test_replay_fast_yields_every_frame_with_channels() -> None:
    traj = make_traj()
    with ReplaySource(traj) as src:
        assert src.running
        frames = list(src.frames())
    assert not src.running
    assert len(frames) == len(traj)
    np.testing.assert_array_equal([f.timestamp for f in frames], traj.t)
    np.testing.assert_array_equal(np.stack([f.tip for f in frames]), traj.positions)
    np.testing.assert_array_equal(np.stack([f.palm for f in frames]), traj.channels["palm"])
    np.testing.assert_allclose([f.confidence for f in frames], traj.channels["confidence"])
    assert [f.frame_id for f in frames] == list(range(len(traj)))


def test_replay_roundtrip_through_frames_is_lossless() -> None:
    traj = make_traj(pen=True)
    with ReplaySource(traj) as src:
        back = trajectory_from_frames(src.frames(), traj.meta)
    np.testing.assert_array_equal(back.t, traj.t)
    np.testing.assert_array_equal(back.positions, traj.positions)
    assert set(back.channels) == {"palm", "confidence", "pen_down"}
    for name, values in traj.channels.items():
        np.testing.assert_array_equal(back.channels[name], values)
    assert back.meta == traj.meta


def test_replay_realtime_paces_by_timestamps() -> None:
    clock = FakeClock()
    traj = make_traj(n=30, rate=50.0)
    src = ReplaySource(traj, realtime=True, speed=2.0, clock=clock, sleep=clock.sleep)
    src.start()
    t_start = clock()
    emitted = []
    for f in src.frames():
        emitted.append(clock() - t_start)
    expected = traj.t / 2.0
    emitted_arr = np.array(emitted)
    assert np.all(emitted_arr >= expected - 1e-9), "a frame came out early"
    assert np.all(emitted_arr - expected < 1e-6), "a frame came out late"
    assert clock.sleeps and max(clock.sleeps) <= 0.05 + 1e-12


def test_replay_realtime_paces_from_first_read_not_from_start() -> None:
    clock = FakeClock()
    traj = make_traj(n=20, rate=10.0)
    src = ReplaySource(traj, realtime=True, clock=clock, sleep=clock.sleep)
    src.start()
    clock.now += 5.0  # the consumer is late: the replay must not rush through the frames
    t_read = clock()
    times = [clock() - t_read for _ in src.frames()]
    np.testing.assert_allclose(times, traj.t, atol=1e-6)


def test_replay_stop_ends_iteration_cleanly() -> None:
    traj = make_traj()
    src = ReplaySource(traj)
    src.start()
    got = []
    for f in src.frames():
        got.append(f)
        if len(got) == 10:
            src.stop()
    assert len(got) == 10
    assert list(src.frames()) == []


def test_replay_stop_during_realtime_wait_returns_promptly() -> None:
    clock = FakeClock()
    traj = make_traj(n=20, rate=1.0)  # one frame per second
    src = ReplaySource(traj, realtime=True, clock=clock, sleep=clock.sleep)

    def sleep_then_stop(s: float) -> None:
        clock.sleep(s)
        src.stop()  # e.g. the GUI's stop button, pressed while the replay waits

    src.sleep = sleep_then_stop
    src.start()
    got = list(src.frames())
    assert len(got) == 1  # the first frame is due at once; the wait for the second is cut short
    assert len(clock.sleeps) == 1 and clock.sleeps[0] <= 0.05


def test_replay_requires_start_and_can_restart() -> None:
    traj = make_traj(n=12)
    src = ReplaySource(traj)
    with pytest.raises(RuntimeError, match="not started"):
        next(src.frames())
    src.start()
    assert len(list(src.frames())) == 12
    assert list(src.frames()) == []  # exhausted
    src.start()
    assert len(list(src.frames())) == 12


def test_replay_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError):
        ReplaySource(np.zeros((10, 3)))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ReplaySource(make_traj(), speed=0)


def test_replay_of_a_real_fmkit_recording(fmkit_dir) -> None:
    traj = read_fmkit(fmkit_dir / "luduo_luduo_01.txt")
    with ReplaySource(traj) as src:
        back = trajectory_from_frames(src.frames(), traj.meta)
    assert len(back) == len(traj)
    np.testing.assert_array_equal(back.positions, traj.positions)
    np.testing.assert_array_equal(back.channels["confidence"], traj.channels["confidence"])


# -- trajectory_from_frames --------------------------------------------------------------
def test_trajectory_from_frames_drops_no_hand_and_stale_frames() -> None:
    frames = []
    for i in range(20):
        tip = None if i % 4 == 1 else [i, 2 * i, 3.0]
        frames.append(Frame(timestamp=10.0 + i * 0.01, tip=tip, confidence=0.9, hand="left"))
    frames.insert(5, Frame(timestamp=10.0, tip=[9, 9, 9]))  # repeated stamp: dropped
    traj = trajectory_from_frames(frames, TrajectoryMeta(user="x"))
    assert len(traj) == 15
    assert traj.t[0] == 0.0
    np.testing.assert_allclose(traj.duration, 0.19)
    assert traj.meta.user == "x" and traj.meta.extra["hand"] == "left"
    assert "palm" not in traj.channels  # no frame had a palm
    np.testing.assert_allclose(traj.channels["confidence"], 0.9)


def test_trajectory_from_frames_errors() -> None:
    with pytest.raises(TrajectoryError, match="no frame with a tracked hand"):
        trajectory_from_frames([Frame(timestamp=i, tip=None) for i in range(20)])
    with pytest.raises(TrajectoryError, match="too short"):
        trajectory_from_frames([Frame(timestamp=i, tip=[i, 0, 0]) for i in range(3)])
    mixed = [Frame(timestamp=i, tip=[i, 0, 0] if i % 2 else [i, 0]) for i in range(20)]
    with pytest.raises(TrajectoryError, match="2-D and 3-D"):
        trajectory_from_frames(mixed)
