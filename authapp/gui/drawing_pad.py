"""Drawing with the mouse: a 2-D source, so anyone can try enrollment and login without a
Leap Motion.

``DrawingPad`` records the pointer from the first press to the last release of a sample as
``Frame``s stamped with a monotonic clock when they happen (mouse events, plus a 100 Hz tick
that holds the last position, so a pause in the writing is a pause in time, not a jump), in
screen millimetres, y up, with a ``pen_down`` channel (pen-up moves between strokes are kept,
as in pen-tablet data). ``capture.sources.trajectory_from_frames`` turns them into the
``Trajectory``: 2-D, device ``DRAW_DEVICE``. ``DrawCapture`` drives it with the same signals
as ``CaptureThread``, so the Enroll and Login tabs take drawn samples like captured ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PyQt5.QtCore import QObject, QPoint, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygon
from PyQt5.QtWidgets import QSizePolicy, QWidget

from capture.sources import Frame, trajectory_from_frames
from capture.trajectory import Label, Trajectory, TrajectoryMeta
from core.errors import AirAuthError

DRAW_DEVICE = "mouse"
"""``TrajectoryMeta.device`` of drawn samples: 2-D mouse strokes, not in-air writing."""

TICK_S = 0.01
"""While drawing, the held position is recorded at least this often (100 Hz)."""


class DrawingPad(QWidget):
    """A white pad that records one written sample at a time while armed.

    ``finish()`` returns the sample as a Trajectory (or raises ``AirAuthError`` when too
    little was drawn) and clears the pad. ``clock`` is injectable for tests.
    """

    pen_changed = pyqtSignal(bool)  # the button went down (True) or up

    def __init__(self, parent: QWidget | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.setObjectName("drawingPad")
        self.setMinimumSize(360, 200)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMouseTracking(True)  # pen-up moves between strokes are part of the sample
        self.setCursor(Qt.CrossCursor)
        self.clock = clock
        self.prompt = "choose 'Capture' in the Enroll or Login tab, then draw here"
        self.armed = False
        self._frames: list[Frame] = []
        self._strokes: list[list[QPoint]] = []
        self._down = False
        self._last: QPoint | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(int(TICK_S * 1000))
        self._timer.timeout.connect(self._tick)

    # -- state ----------------------------------------------------------------------------
    def arm(self, prompt: str) -> None:
        """Start a new sample: clear the pad and accept drawing."""
        self.armed = True
        self.prompt = prompt
        self.clear()

    def disarm(self, prompt: str = "") -> None:
        self.armed = False
        self._timer.stop()
        self._down = False
        if prompt:
            self.prompt = prompt
        self.update()

    def clear(self) -> None:
        """Forget what was drawn for this sample."""
        self._frames.clear()
        self._strokes.clear()
        self._down = False
        self._timer.stop()
        self.update()

    @property
    def n_frames(self) -> int:
        return len(self._frames)

    def mm_per_px(self) -> tuple[float, float]:
        """Screen millimetres per pixel (the display's logical resolution)."""
        return 25.4 / max(self.logicalDpiX(), 1), 25.4 / max(self.logicalDpiY(), 1)

    def finish(self) -> Trajectory:
        """The sample drawn since ``arm``, from the first press to the last release."""
        frames = list(self._frames)
        while frames and frames[-1].extra["pen_down"] == 0.0:
            frames.pop()  # moving away after the last stroke is not writing
        if not any(f.extra["pen_down"] for f in frames):
            raise AirAuthError("nothing drawn yet: write on the pad with the left button "
                               "held down, then press Done")
        sx, sy = self.mm_per_px()
        meta = TrajectoryMeta(label=Label.UNKNOWN, device=DRAW_DEVICE, source="drawing pad",
                              extra={"recorded_by": "authapp gui", "dims": 2,
                                     "input": "mouse on a 2-D drawing pad",
                                     "mm_per_px": [round(sx, 6), round(sy, 6)],
                                     "strokes": len(self._strokes)})
        traj = trajectory_from_frames(frames, meta)  # too short: TrajectoryError, says so
        self.clear()
        return traj

    # -- recording ------------------------------------------------------------------------
    def _record(self, pos: QPoint) -> None:
        t = float(self.clock())
        if self._frames and t <= self._frames[-1].timestamp:
            return  # two events within one clock tick: the first one stands
        sx, sy = self.mm_per_px()
        self._frames.append(Frame(timestamp=t, tip=(pos.x() * sx, -pos.y() * sy),
                                  extra={"pen_down": 1.0 if self._down else 0.0}))

    def _tick(self) -> None:
        if self._last is not None and self._frames and \
                self.clock() - self._frames[-1].timestamp >= TICK_S:
            self._record(self._last)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not self.armed or event.button() != Qt.LeftButton:
            return
        self._down = True
        self._last = event.pos()
        self._strokes.append([event.pos()])
        self._record(event.pos())
        self._timer.start()
        self.pen_changed.emit(True)
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self.armed or not self._frames:
            return  # before the first press nothing is recorded
        self._last = event.pos()
        self._record(event.pos())
        if self._down:
            self._strokes[-1].append(event.pos())
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if not self.armed or not self._down or event.button() != Qt.LeftButton:
            return
        self._last = event.pos()
        self._record(event.pos())
        self._down = False
        self._strokes[-1].append(event.pos())
        self.pen_changed.emit(False)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor("white") if self.armed else QColor("#f2f2f2"))
        p.setPen(QPen(QColor("#999999"), 1, Qt.DashLine))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.setPen(QColor("#666666"))
        p.drawText(self.rect().adjusted(8, 6, -8, -6),
                   Qt.AlignTop | Qt.AlignLeft | Qt.TextWordWrap, self.prompt)
        p.setPen(QPen(QColor("#1f3a93"), 2.5, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
        for stroke in self._strokes:
            p.drawPolyline(QPolygon(stroke))
        p.end()


class DrawCapture(QObject):
    """``n`` samples from the pad, one per Done, with ``CaptureThread``'s signals and
    attributes (``n_captured``, ``error``, ``cancel``, ``wait``), so the window treats both
    sources alike."""

    sample_started = pyqtSignal(str)
    frames = pyqtSignal(object)  # never emitted: the pad itself shows the ink
    writing = pyqtSignal(bool)
    gesture = pyqtSignal(object)
    failed = pyqtSignal(str)
    rejected = pyqtSignal(str)  # a Done with too little drawn: say why, keep drawing
    finished = pyqtSignal()

    def __init__(self, pad: DrawingPad, n: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pad = pad
        self.n = n
        self.n_captured = 0
        self.error: str | None = None
        self.running = False

    def start(self) -> None:
        self.running = True
        self.pad.pen_changed.connect(self.writing)
        self._next()

    def done(self) -> None:
        """The Done button: the drawn sample, if it is one, becomes the next gesture."""
        if not self.running:
            return
        try:
            traj = self.pad.finish()
        except AirAuthError as exc:
            self.rejected.emit(str(exc))
            return
        self.n_captured += 1
        self.gesture.emit(traj)
        if self.n_captured >= self.n:
            self._end("drawn")
        else:
            self._next()

    def cancel(self) -> None:
        if self.running:
            self._end("cancelled")

    def wait(self, msecs: int = 0) -> bool:
        return True  # nothing runs off the GUI thread

    def _next(self) -> None:
        what = f"drawn sample {self.n_captured + 1} of {self.n}"
        self.pad.arm(f"{what}: write with the left button held down, then press Done")
        self.sample_started.emit(what)

    def _end(self, how: str) -> None:
        self.running = False
        self.pad.pen_changed.disconnect(self.writing)
        self.writing.emit(False)
        self.pad.disarm(f"{self.n_captured} sample(s) {how}")
        QTimer.singleShot(0, self.finished.emit)  # after the caller's own bookkeeping
