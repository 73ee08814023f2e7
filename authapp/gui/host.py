"""What a tab may use of the window it sits in: the ``TabHost`` protocol.

The tabs (and ``authapp.gui.authority``) talk to the main window through these few members
only. Typing them with this protocol instead of ``MainWindow`` keeps the dependency one-way
(``main_window`` builds the tabs; the tabs do not import ``main_window``) and says in one place
what a tab needs: a stand-in host for a test implements just this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PyQt5.QtCore import pyqtBoundSignal
from PyQt5.QtWidgets import QWidget

from authapp.gui.workers import TaskRunner
from authapp.services import AuthService
from capture.trajectory import Trajectory

SampleHandler = Callable[[Trajectory], None]
"""Gets each captured gesture."""
DoneHandler = Callable[[str | None], None]
"""Gets the capture's error message, None when every gesture arrived."""


class TabHost(Protocol):
    """The main window as the tabs see it (``authapp.gui.main_window.MainWindow``)."""

    service: AuthService
    """The service every enrollment, login and account change goes through."""
    runner: TaskRunner
    """Runs service calls off the GUI thread, one at a time."""

    @property
    def users_changed(self) -> pyqtBoundSignal:
        """Emit after enrolling, deleting or unlocking a user: the window refreshes its lists."""
        ...

    def start_capture(self, n: int, on_sample: SampleHandler, on_done: DoneHandler) -> bool:
        """Capture ``n`` gestures from the chosen source (False when busy)."""
        ...

    def capture_hint(self) -> str:
        """What the writer does to end a sample with the chosen source."""
        ...

    def show_trajectory(self, traj: Trajectory, caption: str) -> None:
        """Show a recording in the window's plot."""
        ...

    def set_status(self, text: str, tab: QWidget | None = None) -> None:
        """Show one line in the window's status bar: ``tab``'s (default: the current tab's),
        shown while that tab is current."""
        ...

    def user_enrolled(self, name: str) -> None:
        """A user was just enrolled (the Login tab gets their id)."""
        ...

    def window(self) -> QWidget:
        """The top-level window: the parent of the tabs' dialogs."""
        ...
