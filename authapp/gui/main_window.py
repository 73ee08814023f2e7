"""The AirAuth main window: source and live plot on the left, Enroll / Login / Users /
Experiments tabs on the right. It owns the background work: one ``CaptureThread`` at a time
for gestures, a ``TaskRunner`` for service calls (enrollment fitting, scoring, deletion), and
the Experiments tab's own worker (an experiment does not block logins)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtGui import QCloseEvent, QKeySequence
from PyQt5.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QShortcut,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from authapp.gui.capture import CaptureThread
from authapp.gui.drawing_pad import DrawCapture
from authapp.gui.enroll_tab import EnrollTab
from authapp.gui.experiments_tab import ExperimentsTab
from authapp.gui.host import DoneHandler, SampleHandler
from authapp.gui.login_tab import LoginTab
from authapp.gui.preferences import display_path, remember, window_geometry
from authapp.gui.source_panel import SourcePanel
from authapp.gui.trajectory_view import TrajectoryView
from authapp.gui.users_tab import UsersTab
from authapp.gui.widgets import MessageLabel
from authapp.gui.workers import TaskRunner
from authapp.services import AuthService
from capture.trajectory import Trajectory


class MainWindow(QMainWindow):
    """The whole GUI over one ``AuthService``; ``replay_files`` preload the replay queue.

    Its tabs see it as a ``TabHost`` (``authapp.gui.host``): keep the two in step."""

    users_changed = pyqtSignal()

    def __init__(self, service: AuthService, replay_files: Sequence[str | Path] = ()) -> None:
        super().__init__()
        self.service = service
        self.runner = TaskRunner(self)
        self.capture_thread: CaptureThread | DrawCapture | None = None
        self.setWindowTitle(f"AirAuth - {display_path(service.path)}")
        self.interrupted = False  # closed by Ctrl-C in the terminal (authapp.gui.app)
        self._status: dict[int, str] = {}  # each tab's last status message
        geometry = window_geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 760)

        self.source = SourcePanel()
        self.view = TrajectoryView()
        self.capture_status = MessageLabel("captureStatus")
        self.writing = QLabel("")
        self.writing.setObjectName("writingIndicator")
        self.cancel_button = QPushButton("Stop capture")
        self.cancel_button.setEnabled(False)
        status_row = QHBoxLayout()
        status_row.addWidget(self.capture_status, 1)
        status_row.addWidget(self.writing)
        status_row.addWidget(self.cancel_button)
        self.source_split = QSplitter(Qt.Vertical)  # the user may give the pad more room
        self.source_split.addWidget(self.source)
        self.source_split.addWidget(self.view)
        self.source_split.setChildrenCollapsible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.source_split, 1)
        left_layout.addLayout(status_row)
        self.left = left
        self.source.changed.connect(self._source_changed)

        self.tabs = QTabWidget()
        self.enroll_tab = EnrollTab(self)
        self.login_tab = LoginTab(self)
        self.users_tab = UsersTab(self)
        self.experiments_tab = ExperimentsTab(self)
        self.tabs.addTab(self.enroll_tab, "Enroll")
        self.tabs.addTab(self.login_tab, "Login")
        self.tabs.addTab(self.users_tab, "Users")
        self.tabs.addTab(self.experiments_tab, "Experiments")
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.setCentralWidget(splitter)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.statusBar().showMessage(self._default_status())
        QShortcut(QKeySequence("Ctrl+Q"), self, activated=self.close)

        self.runner.busy_changed.connect(lambda _: self._update_busy())
        self.users_changed.connect(self.refresh_users)
        self.cancel_button.clicked.connect(self.cancel_capture)
        if replay_files:
            self.source.set_replay_files(list(replay_files))
        self.refresh_users()

    # -- capture --------------------------------------------------------------------------
    @property
    def capturing(self) -> bool:
        return self.capture_thread is not None

    def start_capture(self, n: int, on_sample: SampleHandler, on_done: DoneHandler) -> bool:
        """Capture ``n`` gestures from the chosen source; ``on_sample`` gets each one and
        ``on_done`` the error message (None when all ``n`` arrived)."""
        if self.capturing or self.runner.busy:
            on_done("busy: wait for the current capture or computation to finish")
            return False
        spec = self.source.spec(n)
        thread: CaptureThread | DrawCapture
        if spec.kind == "draw":
            thread = DrawCapture(self.source.pad, n, self)
            self.source.done_button.clicked.connect(thread.done)
            thread.rejected.connect(self.source.show_error)
        else:
            thread = CaptureThread(spec, n, self)
        self.capture_thread = thread
        self.view.clear(f"waiting for {spec.describe()}...")
        self.source.show_info("")
        self.capture_status.show_message(f"capturing {n} sample(s) from {spec.describe()}")

        def gesture(traj: Trajectory) -> None:
            self.view.show_gesture(traj, f"segmented sample {thread.n_captured}")
            self.source.advance(1)
            on_sample(traj)

        def finished() -> None:
            self.capture_thread = None
            if isinstance(thread, DrawCapture):
                self.source.done_button.clicked.disconnect(thread.done)
            thread.deleteLater()
            error = thread.error
            if error is None and thread.n_captured < n:
                error = "capture cancelled"
            if error:  # in full above the plot; one sentence below it
                if self.view.gesture is None:
                    self.view.caption.setText("no gesture captured")
                self.source.show_error(error)
                self.capture_status.show_message(_first_sentence(error), "bad")
                self.capture_status.setToolTip(error)
            else:
                self.capture_status.show_message(f"captured {n} sample(s)", "ok")
            self._update_busy()
            on_done(error)

        thread.sample_started.connect(self._sample_started)
        thread.frames.connect(self.view.append_frames)
        thread.writing.connect(self._writing)
        thread.gesture.connect(gesture)
        thread.finished.connect(finished)
        thread.start()
        self._update_busy()
        return True

    def _tab_changed(self) -> None:
        """The Experiments tab works on folders, not on gestures: it gets the whole window.
        Each tab has its own status line (a login's verdict is not the Experiments tab's),
        and the keyboard focus goes to the tab's first input."""
        tab = self.tabs.currentWidget()
        self.left.setVisible(tab is not self.experiments_tab)
        self.statusBar().showMessage(self._status.get(self.tabs.currentIndex(),
                                                      self._default_status()))
        first = getattr(tab, "first_input", None)
        if first is not None:
            first().setFocus(Qt.TabFocusReason)

    def cancel_capture(self) -> None:
        if self.capture_thread is not None:
            self.capture_thread.cancel()

    def _source_changed(self) -> None:
        """The drawing pad gets most of the height; the other sources leave it to the plot."""
        total = sum(self.source_split.sizes()) or self.height()
        wanted = self.source.minimumSizeHint().height()
        if self.source.kind == "draw":
            wanted = max(wanted, int(0.62 * total))
        self.source_split.setSizes([wanted, max(total - wanted, 1)])

    def capture_hint(self) -> str:
        """What the writer does to end a sample with the chosen source."""
        if self.source.kind == "draw":
            return "draw on the pad, then press Done"
        return "write, then hold still"

    def _sample_started(self, what: str) -> None:
        self.view.clear(f"capturing: {what}")
        self.capture_status.show_message(f"capturing {what}: {self.capture_hint()}")

    def _writing(self, on: bool) -> None:
        self.writing.setText("writing" if on else "")
        self.writing.setStyleSheet("color: white; background: #e66414; padding: 2px 6px;"
                                   if on else "")

    # -- shared helpers for the tabs ------------------------------------------------------
    def show_trajectory(self, traj: Trajectory, caption: str) -> None:
        self.view.show_gesture(traj, caption, keep_stream=False)

    def set_status(self, text: str, tab: QWidget | None = None) -> None:
        """``tab``'s status line (default: the current tab's); shown while it is current."""
        index = self.tabs.currentIndex() if tab is None else self.tabs.indexOf(tab)
        self._status[index] = text
        if index == self.tabs.currentIndex():
            self.statusBar().showMessage(text)

    def _default_status(self) -> str:
        return f"store: {display_path(self.service.path)}"

    def user_enrolled(self, name: str) -> None:
        """The next thing after an enrollment is usually that user's login: pre-fill it."""
        self.login_tab.user.setEditText(name)

    def refresh_users(self) -> None:
        names = self.users_tab.refresh()
        self.login_tab.set_users(names)
        self.enroll_tab.show_guide(not names)

    def _update_busy(self) -> None:
        busy = self.capturing or self.runner.busy
        for tab in (self.enroll_tab, self.login_tab, self.users_tab):
            tab.set_busy(busy)
        self.source.set_capturing(self.capturing)
        self.cancel_button.setEnabled(self.capturing)

    # -- shutdown -------------------------------------------------------------------------
    def shutdown(self, wait_ms: int = 30000) -> None:
        """Stop the capture and wait for running service calls (an enrollment finishes its
        atomic save rather than being cut off)."""
        thread = self.capture_thread
        if thread is not None:
            thread.cancel()
            thread.wait(wait_ms)
        self.experiments_tab.shutdown(wait_ms)
        self.runner.wait(wait_ms)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        remember(self.service.path, self.saveGeometry())
        super().closeEvent(event)


def _first_sentence(text: str) -> str:
    head, sep, _ = text.partition(". ")
    return head + "." if sep else text
