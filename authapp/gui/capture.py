"""Gesture capture on a worker thread: frames from a source, cut by the segmenter.

``CaptureThread`` streams frames from a live Leap Motion or from replayed recording files,
forwards them to the plot in small batches (at most ~30 per second, so a fast replay cannot
flood the GUI thread), and emits each segmented gesture. ``cancel()`` may be called from the
GUI thread: it stops the source, which ends a blocked ``frames()`` cleanly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QThread, pyqtSignal

from authapp.gui.workers import error_message
from capture.formats import load_recording
from capture.leap_adapter import LeapSource
from capture.segmentation import GestureSegmenter, NoGestureError, SegmenterConfig
from capture.sources import Frame, FrameSource, ReplaySource
from capture.trajectory import Label, Trajectory, TrajectoryMeta
from core.errors import AirAuthError

EMIT_INTERVAL_S = 0.033
"""Frames reach the plot in batches at most this often."""


@dataclass(frozen=True)
class SourceSpec:
    """Where the frames of a capture come from.

    ``kind``: "leap" (live device), "replay" (``files`` in order, one gesture each) or
    "draw" (the mouse on the source panel's drawing pad, see ``authapp.gui.drawing_pad``).
    ``realtime``/``speed``: replay pacing. ``hand``: Leap hand preference.
    ``timeout``: seconds a live capture waits for each gesture.
    """

    kind: str = "replay"
    files: tuple[str, ...] = ()
    realtime: bool = False
    speed: float = 1.0
    hand: str = "right"
    timeout: float = 30.0
    connect_timeout: float = 5.0
    segmenter: SegmenterConfig = field(default_factory=SegmenterConfig)

    def describe(self) -> str:
        if self.kind == "leap":
            return "live Leap Motion"
        if self.kind == "draw":
            return "the drawing pad"
        return ", ".join(short_names(self.files)) or "no files"


def short_names(paths: Sequence[str | Path]) -> list[str]:
    """Each path by its fewest trailing parts that tell it apart from the others.

    Recordings are often named alike in per-person folders (``u16/1.csv``, ``u20/1.csv``):
    a bare file name would show both as ``1.csv``. The same path twice stays the same name.
    """
    parts = [Path(p).parts for p in paths]
    names = []
    for mine in parts:
        k = 1
        while k < len(mine) and any(other != mine and other[-k:] == mine[-k:]
                                    for other in parts):
            k += 1
        names.append("/".join(mine[-k:]))
    return names


class CaptureThread(QThread):
    """Captures ``n`` gestures from ``spec`` (replay: one gesture per file)."""

    sample_started = pyqtSignal(str)      # what is being captured (file name / "live")
    frames = pyqtSignal(object)           # (k, 4) array: t, x, y, z of tracked frames
    writing = pyqtSignal(bool)            # the segmenter is inside a gesture
    gesture = pyqtSignal(object)          # a segmented Trajectory
    failed = pyqtSignal(str)

    def __init__(self, spec: SourceSpec, n: int, parent: object | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.n = n
        self._cancel = threading.Event()
        self._source: FrameSource | None = None
        self.n_captured = 0
        self.error: str | None = None

    def cancel(self) -> None:
        self._cancel.set()
        src = self._source
        if src is not None:
            src.stop()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- worker thread ------------------------------------------------------------------
    def run(self) -> None:
        try:
            if self.spec.kind == "leap":
                self._run_live()
            else:
                self._run_replay()
        except Exception as exc:  # noqa: BLE001 - shown in the window, never a crash
            if not self.cancelled:
                self.error = error_message(exc)
                self.failed.emit(self.error)
        finally:
            src, self._source = self._source, None
            if src is not None:
                src.stop()

    def _run_replay(self) -> None:
        files = self.spec.files
        if len(files) < self.n:
            raise AirAuthError(f"{self.n} sample(s) wanted but only {len(files)} replay "
                               "file(s) left from the highlighted one: click the file to start "
                               "from, or add recordings with 'Add files...'")
        for path, name in zip(files[: self.n], short_names(files[: self.n])):
            if self.cancelled:
                return
            original = load_recording(path)
            base = original.meta
            meta = TrajectoryMeta(user=base.user, content=base.content, label=base.label,
                                  device=base.device or "replay", source=str(path),
                                  extra={"recorded_by": "authapp gui", "replayed_from": str(path),
                                         "segmenter": self.spec.segmenter.to_dict()})
            source = ReplaySource(original, realtime=self.spec.realtime, speed=self.spec.speed)
            self.sample_started.emit(name)
            traj = self._one_gesture(source, meta, finite=True)
            if traj is None:
                return
            self._emit_gesture(traj)

    def _run_live(self) -> None:
        source = LeapSource(hand=self.spec.hand, connect_timeout=self.spec.connect_timeout)
        self._source = source
        source.start()  # DeviceError (binding missing, service down) -> failed
        meta = TrajectoryMeta(label=Label.UNKNOWN, device=source.device, source="live",
                              extra={"recorded_by": "authapp gui", "hand_preference":
                                     self.spec.hand,
                                     "segmenter": self.spec.segmenter.to_dict()})
        while self.n_captured < self.n and not self.cancelled:
            self.sample_started.emit(f"live sample {self.n_captured + 1} of {self.n}")
            traj = self._one_gesture(source, meta, finite=False)
            if traj is None:
                return
            self._emit_gesture(traj)

    def _emit_gesture(self, traj: Trajectory) -> None:
        self.n_captured += 1
        self.gesture.emit(traj)

    def _one_gesture(self, source: FrameSource, meta: TrajectoryMeta,
                     finite: bool) -> Trajectory | None:
        """Feed frames to a fresh segmenter until one gesture completes (None: cancelled)."""
        seg = GestureSegmenter(self.spec.segmenter, meta)
        owned = not source.running
        if owned:
            self._source = source
            source.start()
        batch: list[tuple[float, float, float, float]] = []
        last_emit = time.monotonic()
        deadline = last_emit + self.spec.timeout
        was_writing = False
        try:
            for frame in source.frames():
                if frame.tip is not None:
                    batch.append(_row(frame))
                traj = seg.feed(frame)
                now = time.monotonic()
                if seg.in_gesture != was_writing:
                    was_writing = seg.in_gesture
                    self.writing.emit(was_writing)
                if batch and (now - last_emit >= EMIT_INTERVAL_S or traj is not None):
                    self.frames.emit(np.array(batch))
                    batch, last_emit = [], now
                if traj is not None:
                    return traj
                if not finite and now > deadline:
                    break
            if self.cancelled:
                return None
            if batch:
                self.frames.emit(np.array(batch))
            traj = seg.flush() if finite else None
        finally:
            if was_writing:
                self.writing.emit(False)
            if owned and finite:
                source.stop()
                self._source = None
        if traj is not None:
            return traj
        where = f"in {meta.source}" if finite else f"within {self.spec.timeout:g} s"
        if seg.rejected_:
            raise NoGestureError(f"no complete writing gesture {where}: {seg.rejected_[-1]}")
        raise NoGestureError(f"no writing gesture detected {where}: write with the index "
                             "finger in view of the device, then hold still")


def _row(frame: Frame) -> tuple[float, float, float, float]:
    tip = frame.tip
    z = float(tip[2]) if tip.shape[0] == 3 else 0.0
    return (frame.timestamp, float(tip[0]), float(tip[1]), z)

