"""Starting the GUI: the QApplication, a last-resort error dialog, the main window."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from PyQt5.QtWidgets import QApplication, QMessageBox

from authapp.gui.main_window import MainWindow
from authapp.gui.workers import error_message
from authapp.services import AuthService
from capture.errors import AirAuthError


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


def run_gui(service: AuthService, replay_files: Sequence[str | Path] = ()) -> int:
    """Show the main window over ``service`` until it is closed; the exit status."""
    check_display()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "authapp"])
    app.setApplicationName("AirAuth")
    sys.excepthook = _excepthook
    window = MainWindow(service, replay_files)
    window.show()
    try:
        return int(app.exec_())
    finally:
        window.shutdown()
