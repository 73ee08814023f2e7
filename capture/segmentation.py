"""Cut one writing gesture out of a continuous frame stream.

A live device streams all the time: before writing the hand is still or absent, after writing
it rests or leaves. The gesture starts when the fingertip has moved faster than a threshold for
a short time and ends when it has rested (or the hand has been gone) for a configurable time;
the idle frames on both sides are trimmed. Decisions use frame timestamps only, so a replay
segments identically at any speed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from capture.sources import Frame, FrameSource, trajectory_from_frames
from capture.trajectory import MIN_FRAMES, Trajectory, TrajectoryMeta
from core.errors import TrajectoryError


class NoGestureError(TrajectoryError):
    """No (long enough) writing gesture was found in the stream."""


@dataclass(frozen=True)
class SegmenterConfig:
    """Thresholds of the gesture segmenter (seconds, millimetres per second).

    Defaults were checked on the 24 FMKit Leap recordings: writing moves at ~500-1500 mm/s, a
    resting fingertip at < 50 mm/s, and every recording still gives one gesture with a
    ``rest_time`` as short as 0.15 s, so 0.5 s leaves a wide margin for slower writers.
    """

    speed_threshold: float = 80.0
    """Fingertip speed (mm/s) above which the finger counts as moving."""
    speed_window: float = 0.08
    """Speed = displacement over this window: robust to per-frame tracking jitter."""
    start_time: float = 0.1
    """Continuous motion needed to start a gesture (ignores twitches)."""
    rest_time: float = 0.5
    """Stillness that ends a gesture (longer than the pauses between letters)."""
    hand_lost_time: float = 0.3
    """Absence of the hand that ends a gesture (shorter gaps are bridged)."""
    pad: float = 0.05
    """Frames kept before the detected onset and after the last motion."""
    min_duration: float = 0.5
    """Shorter gestures are rejected as too short."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
                raise ValueError(f"SegmenterConfig.{name} must be a finite number >= 0")
        if self.speed_window <= 0:
            raise ValueError("SegmenterConfig.speed_window must be positive")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SegmenterConfig:
        return cls(**{k: float(v) for k, v in d.items()})


_IDLE, _ARMING, _ACTIVE = "idle", "arming", "active"


class GestureSegmenter:
    """Streaming segmenter: ``feed(frame)`` returns a Trajectory when a gesture completes.

    ``flush()`` ends the stream (a gesture still in progress is closed). Candidates shorter
    than ``config.min_duration`` are not returned; their reasons accumulate in ``rejected_``
    so a caller can tell the user "too short" rather than "nothing seen".
    """

    def __init__(self, config: SegmenterConfig | None = None,
                 meta: TrajectoryMeta | None = None) -> None:
        self.config = config
        self.meta = meta
        self.reset()

    def reset(self) -> None:
        self.rejected_: list[str] = []
        self.n_gestures_ = 0
        self._state = _IDLE
        self._buffer: list[Frame] = []
        self._window: deque[tuple[float, np.ndarray]] = deque()
        self._last_t: float | None = None
        self._arm_t = 0.0
        self._last_moving = 0.0

    @property
    def _cfg(self) -> SegmenterConfig:
        return self.config if self.config is not None else SegmenterConfig()

    @property
    def in_gesture(self) -> bool:
        """True while a gesture is being written (for UI feedback)."""
        return self._state == _ACTIVE

    # -- streaming ------------------------------------------------------------------------
    def feed(self, frame: Frame) -> Trajectory | None:
        cfg = self._cfg
        if frame.tip is None:
            self._window.clear()  # speed across a tracking gap is meaningless
            if self._state == _IDLE:
                self._buffer.clear()
                return None
            if self._last_t is not None and frame.timestamp - self._last_t >= cfg.hand_lost_time:
                return self._finish()
            return None
        t = frame.timestamp
        result = None
        if self._last_t is not None:
            if t <= self._last_t:
                return None  # repeated or out-of-order stamp
            if t - self._last_t >= cfg.hand_lost_time:
                # Silent gap (dropped frames, no "no hand" frames): the hand was lost.
                self._window.clear()
                result = self._finish() if self._state != _IDLE else None
                self._buffer.clear()
        self._last_t = t
        speed = self._speed(t, frame.tip)
        moving = speed is not None and speed > cfg.speed_threshold
        self._buffer.append(frame)
        if self._state == _IDLE:
            if moving:
                self._state, self._arm_t, self._last_moving = _ARMING, t, t
            else:
                self._trim_idle(t)
        elif self._state == _ARMING:
            if not moving:
                self._state = _IDLE
                self._trim_idle(t)
            else:
                self._last_moving = t
                if t - self._arm_t >= cfg.start_time:
                    self._state = _ACTIVE
        else:
            if moving:
                self._last_moving = t
            elif t - self._last_moving >= cfg.rest_time:
                return self._finish()
        return result

    def flush(self) -> Trajectory | None:
        """End of stream: close a gesture in progress (returns it if long enough)."""
        if self._state == _IDLE:
            return None
        return self._finish()

    def segment(self, frames: Iterable[Frame]) -> Iterator[Trajectory]:
        """Every gesture in a finite stream, in order."""
        for frame in frames:
            g = self.feed(frame)
            if g is not None:
                yield g
        g = self.flush()
        if g is not None:
            yield g

    # -- internals ------------------------------------------------------------------------
    def _speed(self, t: float, tip: np.ndarray) -> float | None:
        """Displacement over the last ``speed_window`` seconds / elapsed time (None: too early)."""
        w = self._cfg.speed_window
        self._window.append((t, tip))
        while t - self._window[0][0] > w:
            self._window.popleft()
        t0, p0 = self._window[0]
        if t - t0 < w / 2:
            return None
        return float(np.linalg.norm(tip - p0) / (t - t0))

    def _trim_idle(self, t: float) -> None:
        """Keep only the pre-roll needed to start a gesture at its true onset."""
        keep_from = t - (self._cfg.speed_window + self._cfg.pad)
        i = 0
        while i < len(self._buffer) and self._buffer[i].timestamp < keep_from:
            i += 1
        if i:
            del self._buffer[:i]

    def _tighten(self, frames: list[Frame]) -> list[Frame]:
        """Trim to the first/last frame whose centred-window speed exceeds the threshold.

        The causal speed that drives the streaming decisions lags the motion; with the whole
        gesture buffered, a centred window places both ends without that lag.
        """
        if len(frames) < 3:
            return frames
        cfg = self._cfg
        t = np.array([f.timestamp for f in frames])
        p = np.stack([f.tip for f in frames])
        h = cfg.speed_window / 2
        lo = np.searchsorted(t, t - h, side="left")
        hi = np.searchsorted(t, t + h, side="right") - 1
        dt = t[hi] - t[lo]
        disp = np.linalg.norm(p[hi] - p[lo], axis=1)
        speed = np.divide(disp, dt, out=np.zeros_like(disp), where=dt > 0)
        moving = np.flatnonzero(speed > cfg.speed_threshold)
        if moving.size == 0:
            return frames
        first, last = t[moving[0]] - cfg.pad, t[moving[-1]] + cfg.pad
        return [f for f in frames if first <= f.timestamp <= last]

    def _finish(self) -> Trajectory | None:
        """Cut the gesture out of the buffer, reset to idle, validate its length."""
        cfg = self._cfg
        # The windowed speed crosses the threshold up to one window after the real onset.
        start = self._arm_t - cfg.speed_window - cfg.pad
        stop = self._last_moving + cfg.pad
        frames = self._tighten([f for f in self._buffer if start <= f.timestamp <= stop])
        rest = [f for f in self._buffer if f.timestamp > stop]
        self._state = _IDLE
        self._buffer = rest
        if self._last_t is not None:
            self._trim_idle(self._last_t)
        duration = frames[-1].timestamp - frames[0].timestamp if frames else 0.0
        if len(frames) < MIN_FRAMES or duration < cfg.min_duration:
            self.rejected_.append(
                f"gesture too short: {duration:.2f} s and {len(frames)} frames "
                f"(at least {cfg.min_duration:g} s and {MIN_FRAMES} frames needed)"
            )
            return None
        self.n_gestures_ += 1
        return trajectory_from_frames(frames, self.meta if self.meta is not None
                                      else TrajectoryMeta())


def record_gesture(
    source: FrameSource,
    timeout: float = 30.0,
    config: SegmenterConfig | None = None,
    meta: TrajectoryMeta | None = None,
    frame_timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Trajectory:
    """Record one writing gesture from ``source`` (started and stopped here if not running).

    Gives up after ``timeout`` seconds on ``clock`` (NoGestureError); a finite source (a
    replay) that ends mid-gesture closes the gesture there. A too-short gesture raises a
    TrajectoryError saying so. Device problems propagate as DeviceError.
    """
    seg = GestureSegmenter(config, meta)
    deadline = clock() + timeout
    owned = not source.running
    if owned:
        source.start()
    try:
        timed_out = False
        for frame in source.frames(timeout=frame_timeout):
            g = seg.feed(frame)
            if g is not None:
                return g
            if clock() > deadline:
                timed_out = True
                break
        if not timed_out:
            g = seg.flush()
            if g is not None:
                return g
    finally:
        if owned:
            source.stop()
    where = f"within {timeout:g} s" if timed_out else "in the stream"
    if seg.rejected_:
        raise NoGestureError(f"no complete writing gesture {where}: {seg.rejected_[-1]}")
    hint = " (still writing when time ran out?)" if timed_out and seg.in_gesture else ""
    raise NoGestureError(f"no writing gesture detected {where}{hint}: write with the index "
                         f"finger in view of the device, then hold still")
