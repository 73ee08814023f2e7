"""Frame sources: where fingertip frames come from (live device or a replayed recording).

The GUI, the CLI and the experiment harness all consume frames the same way, so a live Leap
Motion and a recording on disk are interchangeable: ``with source: for f in source.frames():``.
A source never blocks without a timeout: a consumer can always tell "no data" from "slow data".
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Self

import numpy as np

from capture.trajectory import Trajectory, TrajectoryMeta
from core.errors import TrajectoryError

DEFAULT_FRAME_TIMEOUT = 2.0
"""Seconds a live source may stay silent before the consumer is told the device is gone.

A Leap Motion sends tracking frames continuously (also with no hand in view), so two
silent seconds mean the device or the service stopped streaming.
"""

_MAX_SLEEP = 0.05
"""Longest single sleep of a real-time replay, so that ``stop()`` is noticed quickly."""


def _vector(value: Any, name: str) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.shape[0] not in (2, 3):
        raise TrajectoryError(f"frame {name} must have 2 or 3 coordinates, got {arr.shape[0]}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class Frame:
    """One tracking frame.

    ``timestamp``: seconds (any origin; only differences matter).
    ``tip``: index fingertip (3,) mm for in-air data ((2,) for pen data), ``None`` when no hand
    is tracked in this frame. ``palm``: palm centre (3,) mm if known. ``confidence``: tracking
    confidence 0..1 if known. ``hand``: "left" / "right" / "unknown", ``None`` with no hand.
    ``extra``: further per-frame channel values (e.g. ``pen_down``) so that a replay loses nothing.
    """

    timestamp: float
    tip: np.ndarray | None
    palm: np.ndarray | None = None
    confidence: float | None = None
    hand: str | None = None
    frame_id: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "timestamp", float(self.timestamp))
        object.__setattr__(self, "tip", _vector(self.tip, "tip"))
        object.__setattr__(self, "palm", _vector(self.palm, "palm"))
        if self.confidence is not None:
            object.__setattr__(self, "confidence", float(self.confidence))

    @property
    def has_hand(self) -> bool:
        return self.tip is not None


class FrameSource(ABC):
    """A stream of ``Frame`` objects with an explicit lifetime.

    ``start()`` acquires the device (or rewinds the recording), ``stop()`` releases it and may be
    called from any thread: a consumer blocked in ``frames()`` then returns cleanly.
    ``frames(timeout)`` raises ``DeviceError`` if the device fails or stays silent longer than
    ``timeout`` seconds; it ends (no error) after ``stop()`` or when a recording is exhausted.
    """

    device: str = ""
    """Short device name recorded in ``TrajectoryMeta.device``."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @property
    @abstractmethod
    def running(self) -> bool: ...

    @abstractmethod
    def frames(self, timeout: float | None = None) -> Iterator[Frame]:
        """Yield frames until stopped or exhausted; ``timeout`` bounds each wait (seconds)."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ReplaySource(FrameSource):
    """Plays a Trajectory back frame by frame, as fast as possible or at real speed.

    ``realtime=True`` paces frames by their timestamps divided by ``speed`` (2.0 = twice as
    fast). ``clock`` and ``sleep`` are injectable so that tests never really sleep.
    """

    device = "replay"

    def __init__(
        self,
        trajectory: Trajectory,
        realtime: bool = False,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(trajectory, Trajectory):
            raise TypeError("ReplaySource needs a Trajectory")
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.trajectory = trajectory
        self.realtime = realtime
        self.speed = speed
        self.clock = clock
        self.sleep = sleep
        self._stop = threading.Event()
        self._running = False
        self._started = False
        self._index = 0
        self._t0 = 0.0

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Rewind to the first frame (a replay can be started again after it ends)."""
        self._stop.clear()
        self._index = 0
        self._running = True
        self._started = True

    def stop(self) -> None:
        self._stop.set()
        self._running = False

    def frame_at(self, i: int) -> Frame:
        """Frame ``i`` of the recording."""
        traj = self.trajectory
        ch = traj.channels
        extra = {k: v[i] for k, v in ch.items() if k not in ("palm", "confidence")}
        palm = ch.get("palm")
        conf = ch.get("confidence")
        return Frame(
            timestamp=float(traj.t[i]),
            tip=traj.positions[i],
            palm=palm[i] if palm is not None and palm.ndim == 2 else None,
            confidence=float(conf[i]) if conf is not None and conf.ndim == 1 else None,
            hand=str(traj.meta.extra.get("hand", "unknown")),
            frame_id=i,
            extra=extra,
        )

    def frames(self, timeout: float | None = None) -> Iterator[Frame]:
        """Yield the remaining frames; ``timeout`` is unused (a recording never stalls)."""
        if not self._started:
            raise RuntimeError("ReplaySource not started: call start() or use it in a with block")
        n = len(self.trajectory)
        if self._index < n:  # pace from now: a late first read does not rush the replay
            self._t0 = self.clock() - self.trajectory.t[self._index] / self.speed
        while self._index < n and not self._stop.is_set():
            i = self._index
            if self.realtime and not self._wait_until(self._t0 + self.trajectory.t[i] / self.speed):
                return
            self._index += 1
            yield self.frame_at(i)
        self._running = False

    def _wait_until(self, due: float) -> bool:
        """Sleep until ``due`` on ``clock`` in short steps; False if stopped meanwhile."""
        while not self._stop.is_set():
            left = due - self.clock()
            if left <= 0:
                return True
            self.sleep(min(left, _MAX_SLEEP))
        return False


def trajectory_from_frames(
    frames: Iterable[Frame], meta: TrajectoryMeta | None = None
) -> Trajectory:
    """Assemble frames into a Trajectory, dropping frames without a hand.

    Frames whose timestamp does not increase are dropped too (devices occasionally repeat a
    stamp). Palm, confidence and ``extra`` channels are kept when every kept frame has them.
    Raises ``TrajectoryError`` if too few frames remain.
    """
    meta = meta if meta is not None else TrajectoryMeta()
    kept: list[Frame] = []
    for f in frames:
        if f.tip is None:
            continue
        if kept and f.timestamp <= kept[-1].timestamp:
            continue
        kept.append(f)
    if not kept:
        raise TrajectoryError("no frame with a tracked hand: nothing to make a trajectory from")
    dims = {f.tip.shape[0] for f in kept}
    if len(dims) != 1:
        raise TrajectoryError("frames mix 2-D and 3-D fingertip positions")
    t = np.array([f.timestamp for f in kept])
    pos = np.stack([f.tip for f in kept])
    channels: dict[str, np.ndarray] = {}
    if all(f.palm is not None and f.palm.shape == (3,) for f in kept):
        channels["palm"] = np.stack([f.palm for f in kept])
    if all(f.confidence is not None for f in kept):
        channels["confidence"] = np.array([f.confidence for f in kept])
    names = set(kept[0].extra)
    for f in kept[1:]:
        names &= set(f.extra)
    for name in sorted(names):
        try:
            channels[name] = np.stack([np.asarray(f.extra[name], dtype=np.float64) for f in kept])
        except ValueError:
            continue  # inconsistent shapes across frames: not a channel
    hands = {f.hand for f in kept if f.hand not in (None, "unknown")}
    if len(hands) == 1 and "hand" not in meta.extra:
        meta = replace(meta, extra={**meta.extra, "hand": hands.pop()})
    return Trajectory(t=t, positions=pos, channels=channels, meta=meta)
