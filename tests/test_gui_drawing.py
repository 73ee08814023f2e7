"""The draw-with-the-mouse source (offscreen): strokes written on the pad with real mouse
events become 2-D trajectories (device "mouse", pen-up moves kept, the clock's timestamps),
which enroll a user and log in like recordings from the other sources."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PyQt5.QtCore import QEvent, QPointF, Qt
from PyQt5.QtGui import QMouseEvent
from PyQt5.QtWidgets import QApplication

from authapp.gui.drawing_pad import DRAW_DEVICE, DrawingPad
from authapp.gui.main_window import MainWindow
from authapp.services import AuthService
from authapp.store import EnrollmentStore

WAIT_MS = 60_000
FRAME_S = 0.008  # a mouse reports about every 8 ms while it moves


class Clock:
    """The pad's clock, advanced by the test as it moves the mouse."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def window(qtbot, tmp_path: Path):
    store = EnrollmentStore(tmp_path / "store")
    win = MainWindow(AuthService(store))
    qtbot.addWidget(win)
    win.show()
    win.source.draw.setChecked(True)
    win.source.pad.clock = Clock()
    yield win
    win.shutdown()
    store.close()


def signature(rng: np.random.Generator, forged: bool = False) -> list[np.ndarray]:
    """Pixel strokes of one writing of a made-up two-stroke signature (``forged``: another
    shape), each writing a little different in place, size, speed and tremor."""
    s1 = np.linspace(0, 1, int(70 * rng.uniform(0.85, 1.15)))
    s2 = np.linspace(0, 1, int(45 * rng.uniform(0.85, 1.15)))
    a1, a2, r = rng.uniform(0.75, 1.25), rng.uniform(0.6, 1.4), rng.uniform(0.85, 1.15)
    if forged:
        first = np.c_[40 + 340 * s1, 130 + 60 * a1 * (2 * np.abs((4 * s1) % 2 - 1) - 1)]
        second = np.c_[90 + 240 * s2, 210 - 10 * s2]
    else:
        first = np.c_[40 + 300 * s1,
                      130 - 60 * a1 * np.sin(3 * np.pi * s1) - 15 * a2 * np.sin(10 * np.pi * s1)]
        second = np.c_[400 + 45 * r * np.cos(2 * np.pi * s2), 130 + 45 * r * np.sin(2 * np.pi * s2)]
    stretch = np.array([rng.uniform(0.88, 1.12), rng.uniform(0.88, 1.12)])
    shift = rng.uniform(-8, 8, size=2)
    angle = np.radians(rng.uniform(-4, 4))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return [((stroke * stretch) @ turn.T + shift + rng.normal(0, 2.0, stroke.shape)).round()
            for stroke in (first, second)]


def send(pad: DrawingPad, kind: QEvent.Type, xy: np.ndarray, down: bool) -> None:
    button = Qt.NoButton if kind == QEvent.MouseMove else Qt.LeftButton
    event = QMouseEvent(kind, QPointF(float(xy[0]), float(xy[1])), button,
                        Qt.LeftButton if down else Qt.NoButton, Qt.NoModifier)
    pad.clock.t += FRAME_S
    QApplication.sendEvent(pad, event)


def draw(win: MainWindow, strokes: list[np.ndarray]) -> None:
    """Write ``strokes`` on the pad with mouse events (pen-up travel between them), then Done."""
    pad = win.source.pad
    for k, stroke in enumerate(strokes):
        if k:  # travel with the button up to the next stroke
            for xy in np.linspace(strokes[k - 1][-1], stroke[0], 8)[1:-1]:
                send(pad, QEvent.MouseMove, xy, down=False)
        send(pad, QEvent.MouseButtonPress, stroke[0], down=True)
        for xy in stroke[1:]:
            send(pad, QEvent.MouseMove, xy, down=True)
        send(pad, QEvent.MouseButtonRelease, stroke[-1], down=False)
    for xy in stroke[-1] + np.arange(1, 6)[:, None] * 4.0:  # moving away: not writing
        send(pad, QEvent.MouseMove, xy, down=False)
    win.source.done_button.click()


def idle(win: MainWindow) -> bool:
    return not win.capturing and not win.runner.busy


def test_pad_defaults_to_the_monotonic_clock(qtbot) -> None:
    pad = DrawingPad()
    qtbot.addWidget(pad)
    assert pad.clock is time.monotonic


def test_drawn_samples_enroll_and_log_in(qtbot, window) -> None:
    win, rng = window, np.random.default_rng(7)
    assert win.source.kind == "draw" and win.source.draw_box.isVisibleTo(win)
    assert not win.source.replay_box.isVisibleTo(win)
    tab = win.enroll_tab
    tab.user.setText("mousey")
    tab.n_samples.setValue(5)
    qtbot.mouseClick(tab.capture_button, 1)
    assert win.capturing and win.source.pad.armed and win.source.done_button.isEnabled()
    assert "drawn sample 1 of 5" in win.capture_status.text()
    assert not win.source.replay.isEnabled()  # no change of source mid-capture

    win.source.done_button.click()  # Done before drawing anything: said, and still capturing
    assert "nothing drawn yet" in win.source.message.text() and win.capturing

    drawn = []
    for _ in range(5):
        strokes = signature(rng)
        drawn.append(strokes)
        start = win.source.pad.clock.t
        draw(win, strokes)
        traj = tab.samples[-1]
        # the clock's own timestamps, from the first press to the last release
        n_events = sum(len(s) + 1 for s in strokes) + 6  # press, moves, release; travel
        assert len(traj) == n_events
        assert traj.duration == pytest.approx((n_events - 1) * FRAME_S, abs=1e-9)
        assert win.source.pad.clock.t - start > traj.duration  # the move-away is cut off
        assert traj.dims == 2 and traj.meta.device == DRAW_DEVICE == "mouse"
        assert traj.meta.extra["dims"] == 2 and traj.meta.extra["strokes"] == 2
        pen = traj.channels["pen_down"]
        assert pen[0] == 1 and pen[-1] == 1 and np.sum(pen == 0) == 6  # the pen-up travel
        sx, sy = win.source.pad.mm_per_px()
        first = strokes[0][0]
        np.testing.assert_allclose(traj.positions[0], [first[0] * sx, -first[1] * sy])
    qtbot.waitUntil(lambda: idle(win), timeout=WAIT_MS)
    assert len(tab.samples) == 5 and win.capture_status.text() == "captured 5 sample(s)"
    assert not win.source.pad.armed and win.source.replay.isEnabled()
    assert win.view.gesture is tab.samples[-1] and "2-D recording" in win.view.caption.text()

    qtbot.mouseClick(tab.enroll_button, 1)
    qtbot.waitUntil(lambda: idle(win) and tab.banner.text() != "", timeout=WAIT_MS)
    assert tab.banner.text() == "Enrolled mousey", tab.details.toPlainText()
    assert win.users_tab.names == ["mousey"]

    lt = win.login_tab
    win.tabs.setCurrentWidget(lt)
    lt.user.setEditText("mousey")
    for strokes, verdict in ((signature(rng), "ACCEPTED"),
                             (signature(rng, forged=True), "REJECTED")):
        qtbot.mouseClick(lt.login_button, 1)
        draw(win, strokes)
        qtbot.waitUntil(lambda: idle(win) and lt.banner.text() != "", timeout=WAIT_MS)
        assert lt.banner.text() == verdict, lt.reason.text()

    qtbot.mouseClick(lt.login_button, 1)  # the same drawing again: a replay attack
    draw(win, drawn[0])
    qtbot.waitUntil(lambda: idle(win) and lt.banner.text() != "", timeout=WAIT_MS)
    assert lt.banner.text() == "REJECTED: REPLAY ATTACK", lt.reason.text()


def test_stop_capture_ends_drawing(qtbot, window) -> None:
    win = window
    win.enroll_tab.n_samples.setValue(3)
    qtbot.mouseClick(win.enroll_tab.capture_button, 1)
    draw(win, signature(np.random.default_rng(1)))
    assert len(win.enroll_tab.samples) == 1 and win.capturing
    qtbot.mouseClick(win.cancel_button, 1)
    qtbot.waitUntil(lambda: idle(win), timeout=WAIT_MS)
    assert win.capture_status.text() == "capture cancelled"
    assert "capture cancelled" in win.enroll_tab.message.text()
    assert not win.source.pad.armed and not win.source.done_button.isEnabled()
    send(win.source.pad, QEvent.MouseButtonPress, np.array([50.0, 50.0]), down=True)
    assert win.source.pad.n_frames == 0  # an idle pad records nothing
