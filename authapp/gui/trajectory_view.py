"""Live plot of the fingertip: a front view (x-y) coloured by depth, and a top view (x-z).

The raw frame stream is drawn thin and grey as it arrives; a segmented gesture is drawn on
top, thick and coloured by depth (z, towards the writer; time for 2-D recordings), so the
user sees what the segmenter kept. Coordinates are the device's millimetres.

Frames arrive in bursts at the device's rate (a Leap Motion: up to about 120 per second);
redrawing on every burst would queue more paint work than the screen can show. Frames go
into a buffer, and a timer redraws the latest buffer at most ``REDRAW_HZ`` times a second
(the screen's rate), so the trace stays smooth and the window responsive. An empty view
shows no axes (no made-up 0-1 "mm" scale) until there is something to draw.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from capture.trajectory import Trajectory

STREAM_POINTS = 1500
"""Frames of the raw stream kept on screen (about 10 s of Leap data)."""
REDRAW_HZ = 60
"""Most redraws of the live stream per second (a screen's refresh rate)."""

_CMAP = pg.colormap.get("viridis")


LEVELS = 64
"""Colours of the depth scale: brushes are made once per level, not once per point."""
_BRUSHES: list = []


def depth_brushes(values: np.ndarray) -> list:
    """One brush per point, coloured by ``values`` scaled to the colour map (shared brushes
    of ``LEVELS`` colours: making a brush per point cost more than drawing)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return []
    if not _BRUSHES:
        rgba = _CMAP.map(np.linspace(0.0, 1.0, LEVELS), mode="byte")
        _BRUSHES.extend(pg.mkBrush(int(r), int(g), int(b), 230) for r, g, b, _ in rgba)
    lo, hi = float(np.min(v)), float(np.max(v))
    norm = (v - lo) / (hi - lo) if hi > lo else np.full_like(v, 0.5)
    index = np.clip(np.rint(norm * (LEVELS - 1)).astype(int), 0, LEVELS - 1)
    return [_BRUSHES[i] for i in index]


class TrajectoryView(QWidget):
    """Two linked views of a trajectory being written (``append_frames``) or finished
    (``show_gesture``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self.front = pg.PlotWidget(background="w")
        self.top = pg.PlotWidget(background="w")
        for plot, title, ylabel in ((self.front, "front view (x-y)", "y"),
                                    (self.top, "top view (x-z)", "z")):
            plot.setTitle(title, color="#333", size="10pt")
            plot.setLabel("bottom", "x", units="mm")
            plot.setLabel("left", ylabel, units="mm")
            plot.setAspectLocked(True)
            plot.setMinimumSize(240, 180)
        self.top.getPlotItem().invertY(True)  # z grows towards the writer: draw it downwards
        grey = pg.mkPen(110, 110, 110, 200, width=1.5)
        accent = pg.mkPen(230, 100, 20, 220, width=2.5)
        self._stream = [p.plot(pen=grey) for p in (self.front, self.top)]
        self._gesture = [p.plot(pen=accent) for p in (self.front, self.top)]
        self._dots = [pg.ScatterPlotItem(size=5, pen=None) for _ in range(2)]
        for plot, dots in zip((self.front, self.top), self._dots):
            plot.addItem(dots)
        self.caption = QLabel("no trajectory yet")
        self.caption.setObjectName("trajectoryCaption")
        self.caption.setWordWrap(True)
        views = QHBoxLayout()
        views.addWidget(self.front, 3)
        views.addWidget(self.top, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(views, 1)
        layout.addWidget(self.caption)
        self._buffer = np.empty((0, 4))
        self.gesture: Trajectory | None = None
        self.redraws = 0  # how often the stream was drawn (the throttle's test reads it)
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setInterval(1000 // REDRAW_HZ)
        self._redraw_timer.timeout.connect(self._redraw_stream)
        self._show_axes(False)

    # -- the raw stream -------------------------------------------------------------------
    def _show_axes(self, on: bool) -> None:
        """Axes and grid only around something drawn."""
        if getattr(self, "_axes_on", None) == on:
            return
        self._axes_on = on
        for plot in (self.front, self.top):
            item = plot.getPlotItem()
            for side in ("left", "bottom"):
                item.showAxis(side, on)
            item.showGrid(x=on, y=on, alpha=0.25)

    def clear(self, caption: str = "") -> None:
        self._redraw_timer.stop()
        self._buffer = np.empty((0, 4))
        self.gesture = None
        for item in self._stream + self._gesture:
            item.setData([], [])
        for dots in self._dots:
            dots.clear()
        self._show_axes(False)
        self.caption.setText(caption)

    def append_frames(self, rows: np.ndarray) -> None:
        """Add (t, x, y, z) rows of newly tracked frames to the stream; drawn by the timer."""
        rows = np.asarray(rows, dtype=float).reshape(-1, 4)
        self._buffer = np.concatenate([self._buffer, rows])[-STREAM_POINTS:]
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _redraw_stream(self) -> None:
        """Draw the latest buffer once; the timer stops until more frames come."""
        self._redraw_timer.stop()
        b = self._buffer
        if not len(b):
            return
        self.redraws += 1
        self._show_axes(True)
        self._stream[0].setData(b[:, 1], b[:, 2])
        self._stream[1].setData(b[:, 1], b[:, 3])
        if self.gesture is None:  # the fingertip now, coloured by its depth in the stream
            brush = depth_brushes(b[:, 3])[-1]
            self._dots[0].setData(b[-1:, 1], b[-1:, 2], brush=[brush], size=10)
            self._dots[1].setData(b[-1:, 1], b[-1:, 3], brush=[brush], size=10)

    @property
    def n_stream_points(self) -> int:
        return len(self._buffer)

    # -- a segmented or stored gesture ----------------------------------------------------
    def show_gesture(self, traj: Trajectory, caption: str = "",
                     keep_stream: bool = True) -> None:
        """Draw ``traj`` highlighted (on top of the stream unless ``keep_stream`` is False)."""
        if not keep_stream:
            self.clear()
        elif self._redraw_timer.isActive():  # frames not drawn yet: first the stream
            self._redraw_stream()
        self._show_axes(True)
        self.gesture = traj
        p = np.asarray(traj.positions, dtype=float)
        x, y = p[:, 0], p[:, 1]
        if traj.dims == 3:
            z, colour_by = p[:, 2], p[:, 2]
            depth = (f"depth z {np.min(z):.0f}..{np.max(z):.0f} mm "
                     "(colour: purple = far, yellow = near)")
        else:
            z, colour_by = np.zeros_like(x), np.asarray(traj.t, dtype=float)
            depth = "2-D recording: colour = time"
        brushes = depth_brushes(colour_by)
        self._gesture[0].setData(x, y)
        self._gesture[1].setData(x, z)
        self._dots[0].setData(x, y, brush=brushes, size=5)
        self._dots[1].setData(x, z, brush=brushes, size=5)
        info = f"{len(traj)} frames, {traj.duration:.2f} s, {depth}"
        self.caption.setText(f"{caption}: {info}" if caption else info)
