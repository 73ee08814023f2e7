"""The Users tab: enrolled users from the service, deletion after confirmation."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PyQt5.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from authapp.gui.widgets import MessageLabel
from authapp.gui.workers import error_message
from authapp.services import AuthService

if TYPE_CHECKING:
    from authapp.gui.main_window import MainWindow

COLUMNS = ("user", "samples", "verifier", "enrolled")


def list_users(service: AuthService) -> list[Any]:
    """Enrolled users (``UserInfo``) as the service lists them."""
    return list(service.users())


class UsersTab(QWidget):
    """A table of enrolled users with refresh and delete."""

    def __init__(self, host: MainWindow) -> None:
        super().__init__()
        self.host = host
        self.names: list[str] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("usersTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.refresh_button = QPushButton("Refresh")
        self.delete_button = QPushButton("Delete user...")
        self.message = MessageLabel("usersMessage")
        row = QHBoxLayout()
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        row.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        self.refresh_button.clicked.connect(self.refresh)
        self.delete_button.clicked.connect(self.delete_selected)

    def refresh(self) -> list[str]:
        """Reload the list; returns the user names (also on error: the last known)."""
        try:
            users = list_users(self.host.service)
        except Exception as exc:  # noqa: BLE001 - a damaged store is reported, not raised
            self.message.show_message(f"cannot list users: {error_message(exc)}", "bad")
            return self.names
        self.names = [u.name for u in users]
        self.table.setRowCount(len(users))
        for i, u in enumerate(users):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(u.updated))
            for j, value in enumerate((u.name, str(u.n_recordings), u.verifier_kind, when)):
                self.table.setItem(i, j, QTableWidgetItem(value))
        if not self.message.text().startswith("deleted"):
            self.message.show_message(f"{len(users)} user(s) enrolled" if users
                                      else "no users enrolled")
        return self.names

    def select(self, name: str) -> None:
        if name in self.names:
            self.table.selectRow(self.names.index(name))

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.names[rows[0].row()] if rows else None

    def delete_selected(self) -> None:
        name = self.selected()
        if name is None:
            self.message.show_message("select a user to delete", "bad")
            return
        answer = QMessageBox.question(
            self, "Delete user",
            f"Delete user {name!r} with their enrollment, login attempts and stored "
            "fingerprints? This cannot be undone.",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        if answer != QMessageBox.Yes:
            self.message.show_message("nothing deleted")
            return
        svc = self.host.service
        self.host.runner.submit(lambda: svc.delete(name), lambda _: self._deleted(name),
                                self._failed)

    def _deleted(self, name: str) -> None:
        self.message.show_message(f"deleted user {name!r}", "ok")
        self.host.set_status(f"deleted user {name!r}")
        self.host.users_changed.emit()

    def _failed(self, message: str, exc: BaseException) -> None:
        self.message.show_message(message, "bad")
        self.host.users_changed.emit()

    def set_busy(self, busy: bool) -> None:
        self.delete_button.setEnabled(not busy)
