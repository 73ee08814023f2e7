"""Running service calls off the GUI thread, and turning exceptions into messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt5.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal

from core.errors import AirAuthError


def error_message(exc: BaseException) -> str:
    """The text a person sees for ``exc``: AirAuth errors are meant for users as they are;
    anything else is a bug, still shown as one line rather than a traceback."""
    if isinstance(exc, AirAuthError):
        return str(exc)
    return f"unexpected error ({type(exc).__name__}): {exc}"


class _TaskSignals(QObject):
    done = pyqtSignal(object)
    failed = pyqtSignal(str, object)  # message, the exception (for details such as reports)


class Task(QRunnable):
    """``fn()`` on a pool thread; ``signals.done(result)`` or ``signals.failed(message, exc)``
    arrive on the GUI thread (queued connections)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = _TaskSignals()

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # noqa: BLE001 - every failure must reach the window
            self.signals.failed.emit(error_message(exc), exc)
        else:
            self.signals.done.emit(result)


class TaskRunner(QObject):
    """Starts ``Task``s on a private pool and keeps them alive until they report.

    ``busy_changed(bool)`` lets the window disable actions while something runs.
    """

    busy_changed = pyqtSignal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # one service call at a time: the store is one writer
        self._running: set[Task] = set()

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
               on_failed: Callable[[str, BaseException], None]) -> Task:
        task = Task(fn)
        task.setAutoDelete(False)

        def finish() -> None:
            self._running.discard(task)
            if not self._running:
                self.busy_changed.emit(False)

        task.signals.done.connect(lambda r: (finish(), on_done(r)))
        task.signals.failed.connect(lambda m, e: (finish(), on_failed(m, e)))
        was_busy = self.busy
        self._running.add(task)
        if not was_busy:
            self.busy_changed.emit(True)
        self.pool.start(task)
        return task

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every task ended (window closing)."""
        return self.pool.waitForDone(msecs)
