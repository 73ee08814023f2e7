"""Gesture segmentation on synthetic streams and on the real FMKit recordings."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from fakes.clock import FakeClock

from capture.formats.fmkit import read_fmkit
from capture.segmentation import (
    GestureSegmenter,
    NoGestureError,
    SegmenterConfig,
    record_gesture,
)
from capture.sources import Frame, FrameSource, ReplaySource
from capture.trajectory import Trajectory, TrajectoryMeta
from core.errors import TrajectoryError

RATE = 100.0


class Stream:
    """Builds a synthetic frame stream piece by piece (100 Hz, mm, seconds)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.t = 0.0
        self.pos = np.array([0.0, 200.0, 0.0])
        self.frames: list[Frame] = []

    def _emit(self, tip: np.ndarray | None) -> None:
        self.frames.append(Frame(timestamp=self.t, tip=tip, confidence=0.9 if tip is not None
                                 else None, hand="right" if tip is not None else None))
        self.t += 1.0 / RATE

    def still(self, seconds: float) -> Stream:
        for _ in range(round(seconds * RATE)):
            self._emit(self.pos + self.rng.normal(0, 0.2, 3))  # tracking jitter
        return self

    def write(self, seconds: float, speed: float = 400.0) -> Stream:
        """Loops of radius 30 mm at ``speed`` mm/s, ending where they started."""
        n = round(seconds * RATE)
        omega = speed / 30.0
        centre = self.pos - [30.0, 0, 0]
        for i in range(1, n + 1):
            a = omega * i / RATE
            p = centre + [30.0 * np.cos(a), 30.0 * np.sin(a), 5.0 * np.sin(3 * a)]
            self._emit(p)
        self.pos = p
        return self

    def no_hand(self, seconds: float) -> Stream:
        for _ in range(round(seconds * RATE)):
            self._emit(None)
        return self

    def silence(self, seconds: float) -> Stream:
        """No frames at all (dropped frames / a replay with a gap)."""
        self.t += seconds
        return self


def segment(frames, **cfg) -> tuple[list[Trajectory], GestureSegmenter]:
    seg = GestureSegmenter(SegmenterConfig(**cfg))
    return list(seg.segment(frames)), seg


def path_length(x: np.ndarray) -> float:
    return float(np.sum(np.linalg.norm(np.diff(x, axis=0), axis=1)))


# -- synthetic streams -------------------------------------------------------------------
def test_one_gesture_is_cut_out_and_idle_trimmed() -> None:
    s = Stream().no_hand(0.3).still(1.0).write(2.0).still(1.0)
    gestures, seg = segment(s.frames)
    assert len(gestures) == 1 and seg.rejected_ == []
    g = gestures[0]
    assert abs(g.duration - 2.0) < 0.2
    assert g.channels["confidence"].shape == (len(g),)
    assert g.meta.extra["hand"] == "right"


def test_feed_returns_the_gesture_once_the_rest_time_has_passed() -> None:
    s = Stream().still(0.5).write(1.5).still(2.0)
    seg = GestureSegmenter(SegmenterConfig(rest_time=0.5))
    out = [(f.timestamp, seg.feed(f)) for f in s.frames]
    done = [(t, g) for t, g in out if g is not None]
    assert len(done) == 1
    t_done, _ = done[0]
    end_of_writing = 2.0
    assert end_of_writing + 0.5 <= t_done <= end_of_writing + 0.5 + 0.15
    assert seg.flush() is None


def test_two_gestures_separated_by_a_rest() -> None:
    s = Stream().still(0.5).write(1.5).still(1.0).write(1.0).still(0.8)
    gestures, _ = segment(s.frames)
    assert [round(g.duration, 1) for g in gestures] == pytest.approx([1.5, 1.0], abs=0.2)


def test_two_gestures_separated_by_the_hand_leaving() -> None:
    s = Stream().still(0.5).write(1.5).no_hand(0.5).write(1.0).still(0.8)
    gestures, _ = segment(s.frames)
    assert len(gestures) == 2


def test_a_silent_gap_counts_as_the_hand_leaving() -> None:
    s = Stream().still(0.5).write(1.5).silence(0.5).write(1.0).still(0.8)
    gestures, _ = segment(s.frames)
    assert len(gestures) == 2


def test_short_pauses_and_tracking_gaps_inside_writing_are_bridged() -> None:
    s = Stream().still(0.5).write(1.0).still(0.2).write(0.5).no_hand(0.1).write(0.5).still(1.0)
    gestures, _ = segment(s.frames)
    assert len(gestures) == 1
    assert abs(gestures[0].duration - 2.3) < 0.2


def test_rest_and_hand_lost_times_are_configurable() -> None:
    s = Stream().still(0.5).write(1.0).still(0.3).write(1.0).still(1.0)
    assert len(segment(s.frames)[0]) == 1
    assert len(segment(s.frames, rest_time=0.2)[0]) == 2
    s2 = Stream().still(0.5).write(1.0).no_hand(0.2).write(1.0).still(1.0)
    assert len(segment(s2.frames)[0]) == 1
    assert len(segment(s2.frames, hand_lost_time=0.1)[0]) == 2


def test_twitches_and_jitter_are_not_gestures() -> None:
    s = Stream().still(1.0).write(0.05).still(1.0)
    gestures, seg = segment(s.frames)
    assert gestures == [] and seg.rejected_ == []


def test_too_short_gesture_is_rejected_with_a_reason() -> None:
    s = Stream().still(1.0).write(0.2).still(1.0)
    gestures, seg = segment(s.frames)
    assert gestures == []
    assert len(seg.rejected_) == 1 and "too short" in seg.rejected_[0]
    src = ReplaySource(_as_traj(s.frames))
    with pytest.raises(TrajectoryError, match="too short"):
        record_gesture(src)


def test_gesture_in_progress_is_closed_at_end_of_stream() -> None:
    s = Stream().still(0.5).write(1.2)
    gestures, _ = segment(s.frames)
    assert len(gestures) == 1 and abs(gestures[0].duration - 1.2) < 0.15


def test_config_validation_and_roundtrip() -> None:
    cfg = SegmenterConfig(rest_time=0.7)
    assert SegmenterConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        SegmenterConfig(speed_threshold=-1)
    with pytest.raises(ValueError):
        SegmenterConfig(speed_window=0)


# -- record_gesture ----------------------------------------------------------------------
def _as_traj(frames: list[Frame]) -> Trajectory:
    kept = [f for f in frames if f.tip is not None]
    return Trajectory(t=[f.timestamp for f in kept], positions=[f.tip for f in kept])


def test_record_gesture_from_a_replay_passes_meta() -> None:
    s = Stream().still(0.5).write(1.5).still(1.0)
    meta = TrajectoryMeta(user="alice", content="alice")
    src = ReplaySource(_as_traj(s.frames))
    g = record_gesture(src, meta=meta)
    assert g.meta.user == "alice" and abs(g.duration - 1.5) < 0.2
    assert not src.running  # started and stopped by record_gesture


def test_record_gesture_without_motion_says_so() -> None:
    src = ReplaySource(_as_traj(Stream().still(2.0).frames))
    with pytest.raises(NoGestureError, match="no writing gesture detected"):
        record_gesture(src)


class EndlessStill(FrameSource):
    """A live-like source that never stops sending still frames."""

    device = "test"

    def __init__(self) -> None:
        self._running = False
        self.stopped = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self._running = True

    def stop(self) -> None:
        self._running = False
        self.stopped = True

    def frames(self, timeout: float | None = None) -> Iterator[Frame]:
        for i in itertools.count():
            if not self._running:
                return
            yield Frame(timestamp=i / RATE, tip=[0.0, 200.0, 0.0])


def test_record_gesture_times_out_instead_of_hanging() -> None:
    ticks = itertools.count()
    clock = lambda: next(ticks) * 0.01
    src = EndlessStill()
    with pytest.raises(NoGestureError, match="within 3 s"):
        record_gesture(src, timeout=3.0, clock=clock)
    assert src.stopped


# -- the real FMKit recordings -----------------------------------------------------------
def _replay_segments(traj: Trajectory, **kw) -> list[Trajectory]:
    with ReplaySource(traj, **kw) as src:
        return list(GestureSegmenter(meta=traj.meta).segment(src.frames()))


@pytest.mark.parametrize("n", range(1, 11))
def test_real_luduo_recordings_segment_to_one_trimmed_gesture(fmkit_dir, n: int) -> None:
    raw = read_fmkit(fmkit_dir / f"luduo_luduo_{n:02d}.txt")
    gestures = _replay_segments(raw)
    assert len(gestures) == 1
    g = gestures[0]
    assert g.duration < raw.duration - 0.3, "the still start and end were not trimmed"
    assert path_length(g.positions) >= 0.9 * path_length(raw.positions)
    assert g.meta.user == "luduo"


def test_real_recordings_segment_the_same_at_real_speed(fmkit_dir) -> None:
    raw = read_fmkit(fmkit_dir / "luduo_luduo_03.txt")
    clock = FakeClock()
    fast = _replay_segments(raw)[0]
    paced = _replay_segments(raw, realtime=True, clock=clock, sleep=clock.sleep)[0]
    np.testing.assert_array_equal(fast.positions, paced.positions)
    assert clock.now - clock.start >= raw.duration  # it really was paced (on the fake clock)


def _concat(a: Trajectory, b: Trajectory, gap: float, no_hand: bool) -> list[Frame]:
    """Two real recordings in one stream, ``gap`` seconds apart (hand absent or silent)."""
    frames = [Frame(timestamp=t, tip=p) for t, p in zip(a.t, a.positions)]
    t0 = a.duration + gap
    if no_hand:
        frames += [Frame(timestamp=a.duration + dt, tip=None)
                   for dt in np.arange(0.01, gap, 0.01)]
    frames += [Frame(timestamp=t0 + t, tip=p) for t, p in zip(b.t, b.positions)]
    return frames


@pytest.mark.parametrize("no_hand", [True, False])
def test_real_recordings_back_to_back_give_two_gestures(fmkit_dir, no_hand: bool) -> None:
    a = read_fmkit(fmkit_dir / "luduo_luduo_01.txt")
    b = read_fmkit(fmkit_dir / "luduo_jisuanji_01.txt")
    gestures, _ = segment(_concat(a, b, gap=0.5, no_hand=no_hand))
    assert len(gestures) == 2
    alone = [_replay_segments(x)[0] for x in (a, b)]
    for g, ref in zip(gestures, alone):
        assert abs(g.duration - ref.duration) < 0.05


def test_real_recordings_with_only_a_rest_between_give_two_gestures(fmkit_dir) -> None:
    # The recordings themselves end and start still (~0.5 s each): a rest, no gap.
    a = read_fmkit(fmkit_dir / "luduo_luduo_02.txt")
    b = read_fmkit(fmkit_dir / "luduo_luduo_05.txt")
    gestures, _ = segment(_concat(a, b, gap=0.01, no_hand=False))
    assert len(gestures) == 2
