"""The Users tab: enrolled users with their lock status, unlock, deletion (by the user's own
login or an administrator), and the store-wide settings (lockout policy, ...)."""

from __future__ import annotations

import time
from typing import Any

from PyQt5.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from authapp.gui.authority import GUI_ADMIN, with_authority
from authapp.gui.host import TabHost
from authapp.gui.widgets import MessageLabel
from authapp.gui.workers import error_message
from authapp.services import Actor, AuthService, admin
from authapp.settings_schema import SPECS

COLUMNS = ("user", "samples", "verifier", "enrolled", "status")


def list_users(service: AuthService) -> list[Any]:
    """Enrolled users (``UserInfo``) as the service lists them."""
    return list(service.users())


class UsersTab(QWidget):
    """A table of enrolled users (with lock status) and the store's settings."""

    def __init__(self, host: TabHost) -> None:
        super().__init__()
        self.host = host
        self.names: list[str] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("usersTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        header = self.table.horizontalHeader()  # dates and states whole, names get the rest
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.refresh_button = QPushButton("Refresh")
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setToolTip("end the selected user's lockout now (administrator; "
                                      "audited)")
        self.delete_button = QPushButton("Delete user...")
        self.settings = QTableWidget(0, 2)
        self.settings.setObjectName("settingsTable")
        self.settings.setHorizontalHeaderLabels(["setting", "value"])
        self.settings.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.settings.verticalHeader().setVisible(False)
        self.settings.setEditTriggers(QTableWidget.NoEditTriggers)
        self.settings.setSelectionBehavior(QTableWidget.SelectRows)
        self.settings.setSelectionMode(QTableWidget.SingleSelection)
        self.change_button = QPushButton("Change setting...")
        self.change_button.setToolTip("change the selected store-wide setting (administrator; "
                                      "checked and audited)")
        self.message = MessageLabel("usersMessage")
        row = QHBoxLayout()
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        row.addWidget(self.unlock_button)
        row.addWidget(self.delete_button)
        settings_row = QHBoxLayout()
        settings_row.addStretch(1)
        settings_row.addWidget(self.change_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(QLabel("Store settings"))
        layout.addWidget(self.settings, 1)
        layout.addLayout(settings_row)
        layout.addWidget(self.message)
        self.refresh_button.clicked.connect(self.refresh)
        self.unlock_button.clicked.connect(self.unlock_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.change_button.clicked.connect(self.change_selected_setting)

    def refresh(self) -> list[str]:
        """Reload users and settings; returns the user names (also on error: the last known)."""
        svc = self.host.service
        try:
            users = list_users(svc)
            status = [admin.lock_status(svc, u.name) for u in users]
            settings = admin.current(svc)
        except Exception as exc:  # noqa: BLE001 - a damaged store is reported, not raised
            self.message.show_message(f"cannot list users: {error_message(exc)}", "bad")
            return self.names
        self.names = [u.name for u in users]
        self.table.setRowCount(len(users))
        for i, u in enumerate(users):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(u.updated))
            for j, value in enumerate((u.name, str(u.n_recordings), u.verifier_kind, when,
                                       status[i])):
                self.table.setItem(i, j, QTableWidgetItem(value))
        self.settings.setRowCount(len(settings))
        for i, (key, value) in enumerate(settings.items()):
            item = QTableWidgetItem(key)
            item.setToolTip(SPECS[key].help)
            self.settings.setItem(i, 0, item)
            self.settings.setItem(i, 1, QTableWidgetItem(str(value)))
        if self.message.kind != "bad" and \
                not self.message.text().startswith(("deleted", "unlocked", "set ")):
            self.message.show_message(f"{len(users)} user(s) enrolled" if users
                                      else "no users enrolled")
        return self.names

    def select(self, name: str) -> None:
        if name in self.names:
            self.table.selectRow(self.names.index(name))

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.names[rows[0].row()] if rows else None

    # -- actions --------------------------------------------------------------------------
    def unlock_selected(self) -> None:
        name = self.selected()
        if name is None:
            self.message.show_message("select a user to unlock", "bad")
            return
        svc = self.host.service
        self.host.runner.submit(lambda: svc.unlock(GUI_ADMIN, name),
                                lambda before: self._unlocked(name, before), self._failed)

    def _unlocked(self, name: str, before: Any) -> None:
        was = "was locked" if before.locked else "was not locked"
        self.message.show_message(f"unlocked {name!r} ({was}; failed attempts reset)", "ok")
        self.host.users_changed.emit()

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

        def delete(actor: Actor) -> None:
            self.host.runner.submit(lambda: svc.delete(actor, name),
                                    lambda _: self._deleted(name), self._failed)

        with_authority(self.host, name, "deletion", delete, self._failed)

    def _deleted(self, name: str) -> None:
        self.message.show_message(f"deleted user {name!r}", "ok")
        self.host.set_status(f"deleted user {name!r}", self)
        self.host.users_changed.emit()

    def change_selected_setting(self) -> None:
        rows = self.settings.selectionModel().selectedRows()
        if not rows:
            self.message.show_message("select a setting to change", "bad")
            return
        key = self.settings.item(rows[0].row(), 0).text()
        old = self.settings.item(rows[0].row(), 1).text()
        text, ok = QInputDialog.getText(self, f"Change {key}",
                                        f"{SPECS[key].help}\n(type 'default' to reset)", text=old)
        if not ok:
            return
        svc = self.host.service

        self.host.runner.submit(lambda: svc.change_setting(GUI_ADMIN, key, text),
                                lambda _: self._changed(key), self._failed)

    def _changed(self, key: str) -> None:
        self.message.show_message(f"set {key} = {admin.current(self.host.service)[key]} "
                                  "(recorded in the audit log)", "ok")
        self.host.users_changed.emit()

    def _failed(self, message: str, exc: BaseException | None = None) -> None:
        self.message.show_message(message, "bad")
        self.host.users_changed.emit()

    def set_busy(self, busy: bool) -> None:
        for b in (self.delete_button, self.unlock_button, self.change_button):
            b.setEnabled(not busy)
