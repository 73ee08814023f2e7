"""Starting the GUI: the QApplication, a last-resort error dialog, the main window."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QApplication, QMessageBox

from authapp.gui.main_window import MainWindow
from authapp.gui.workers import error_message
from authapp.services import AuthService
from core.errors import AirAuthError


def check_display() -> None:
    """Qt aborts the process when it cannot open a display: say so clearly instead."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise AirAuthError("no display to open the window on (DISPLAY is not set): run it in a "
                           "desktop session, or set QT_QPA_PLATFORM=offscreen for a headless run")


def _excepthook(kind: type[BaseException], exc: BaseException,
                tb: TracebackType | None) -> None:
    """An exception escaping a slot is shown as a message instead of aborting the app."""
    if not isinstance(exc, AirAuthError):  # a bug: keep the details for the bug report
        traceback.print_exception(kind, exc, tb, file=sys.stderr)
    if QApplication.instance() is not None:
        QMessageBox.critical(None, "AirAuth error", error_message(exc))


EXIT_INTERRUPTED = 130
SIGNAL_POLL_MS = 200
"""How often Qt's event loop lets Python run its signal handlers (Ctrl-C's latency)."""


def close_on_interrupt(window: MainWindow) -> QTimer:
    """Ctrl-C in the terminal closes ``window`` as its close button would (running work
    finishes or is cancelled, the window's size is remembered). Python handles signals only
    between bytecodes, and Qt's C++ event loop runs none while idle: the returned timer wakes
    the interpreter every ``SIGNAL_POLL_MS`` so the handler runs. Restore the previous
    handler when the window is gone (``run_gui`` does)."""

    def interrupted(_signum: int, _frame: object) -> None:
        window.interrupted = True
        window.close()

    signal.signal(signal.SIGINT, interrupted)
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(SIGNAL_POLL_MS)
    return timer


def run_gui(service: AuthService, replay_files: Sequence[str | Path] = ()) -> int:
    """Show the main window over ``service`` until it is closed; the exit status (130 when
    Ctrl-C closed it, as for the other commands)."""
    check_display()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "authapp"])
    app.setApplicationName("AirAuth")
    sys.excepthook = _excepthook
    window = MainWindow(service, replay_files)
    previous = signal.getsignal(signal.SIGINT)
    close_on_interrupt(window)
    window.show()
    try:
        code = int(app.exec_())
        return EXIT_INTERRUPTED if window.interrupted else code
    finally:
        signal.signal(signal.SIGINT, previous)
        window.shutdown()
