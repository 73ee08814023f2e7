"""The Login tab: capture one gesture and verify it (1:1), or identify its writer (1:N)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from authapp.gui.authority import GUI_ADMIN
from authapp.gui.host import TabHost
from authapp.gui.widgets import Banner, MessageLabel
from authapp.service_results import accepting_candidates, score_rows
from authapp.services import IdentifyResult, VerifyResult
from capture.trajectory import Trajectory

BANNERS = {"accept": ("ACCEPTED", "ok"), "reject": ("REJECTED", "bad"),
           "replay": ("REJECTED: REPLAY ATTACK", "bad"), "locked": ("ACCOUNT LOCKED", "warn")}


class LoginTab(QWidget):
    """User choice, a capture button and the decision with its scores."""

    def __init__(self, host: TabHost) -> None:
        super().__init__()
        self.host = host
        self.result: VerifyResult | IdentifyResult | None = None
        self._mode = "login"

        self.user = QComboBox()
        self.user.setEditable(True)
        self.user.setInsertPolicy(QComboBox.NoInsert)  # Enter logs in, adds no list entry
        self.user.setObjectName("loginUser")
        self.user.lineEdit().setPlaceholderText("user id")
        self.check_only = QCheckBox("administrator check (not a login)")
        self.check_only.setToolTip("score the sample without recording an attempt; audited, "
                                   "and the lockout and replay rules still apply")
        self.login_button = QPushButton("Capture && log in")
        self.login_button.setDefault(True)
        self.identify_button = QPushButton("Capture && identify (1:N)")
        self.banner = Banner("loginBanner")
        self.reason = MessageLabel("loginReason")
        self.scores = QTableWidget(0, 2)
        self.scores.setObjectName("loginScores")
        self.scores.setHorizontalHeaderLabels(["verifier / user", "value"])
        self.scores.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.scores.verticalHeader().setVisible(False)
        self.scores.setEditTriggers(QTableWidget.NoEditTriggers)
        self.message = MessageLabel("loginMessage")

        form = QFormLayout()
        form.addRow("User id", self.user)
        form.addRow("", self.check_only)
        row = QHBoxLayout()
        row.addWidget(self.login_button)
        row.addWidget(self.identify_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.banner)
        layout.addWidget(self.reason)
        layout.addWidget(self.scores, 1)
        layout.addWidget(self.message)

        self.user.lineEdit().returnPressed.connect(self.login)
        self.login_button.clicked.connect(self.login)
        self.identify_button.clicked.connect(self.identify)
        self.user.currentTextChanged.connect(self._show_lock_state)

    def first_input(self) -> QWidget:
        return self.user

    def _ready_for_next(self) -> None:
        """After a verdict the next person types their id: focus there, old id selected."""
        self.user.setFocus(Qt.OtherFocusReason)
        self.user.lineEdit().selectAll()

    def set_users(self, names: Sequence[str]) -> None:
        current = self.user.currentText()
        self.user.blockSignals(True)
        self.user.clear()
        self.user.addItems(list(names))
        self.user.setEditText(current)
        self.user.blockSignals(False)

    # -- actions --------------------------------------------------------------------------
    def login(self) -> None:
        if not self.user.currentText().strip():
            self._show_error("enter or pick a user id first")
            return
        self._start("login")

    def identify(self) -> None:
        self._start("identify")

    def _start(self, mode: str) -> None:
        self._mode = mode
        self.banner.show_result("", "info")
        self.reason.clear_message()
        self.scores.setRowCount(0)
        self.message.show_message(f"capturing one sample... {self.host.capture_hint()}")
        self.host.start_capture(1, self._captured, self._capture_done)

    def _captured(self, traj: Trajectory) -> None:
        svc = self.host.service
        self.message.show_message("scoring...")
        if self._mode == "identify":
            self.host.runner.submit(lambda: svc.identify(traj), self._identified, self._failed)
            return
        user = self.user.currentText().strip()
        if self.check_only.isChecked():  # the administrator's check (the service audits it)
            self.host.runner.submit(lambda: svc.offline_check(GUI_ADMIN, user, traj),
                                    self._verified, self._failed)
        else:
            self.host.runner.submit(lambda: svc.verify(user, traj), self._verified,
                                    self._failed)

    def _capture_done(self, error: str | None) -> None:
        if error:
            self._show_error(f"no sample captured: {error}")

    def _show_error(self, text: str) -> None:
        """A new error replaces the last verdict: an old ACCEPTED must not stay above it."""
        self.result = None
        self.banner.show_result("", "info")
        self.reason.clear_message()
        self.scores.setRowCount(0)
        self.message.show_message(text, "bad")

    def _verified(self, r: VerifyResult) -> None:
        self.result = r
        text, kind = BANNERS.get(r.outcome, (r.outcome.upper(), "bad"))
        self.banner.show_result(text, kind)
        self.reason.show_message(r.reason, "ok" if r.decision else kind)
        self._fill(score_rows(r))
        extra = []
        if r.replay_of is not None and r.outcome != "replay":
            extra.append(f"note: near-exact copy of {r.replay_of.ref}")
        if r.locked_until is not None:
            extra.append("account locked until "
                         + time.strftime("%H:%M:%S", time.localtime(r.locked_until)))
        self.message.show_message("; ".join(extra) or
                                  ("attempt recorded" if not self.check_only.isChecked()
                                   else "administrator check: nothing recorded (audited)"),
                                  "warn" if extra else "info")
        self.host.set_status(f"login {r.user!r}: {r.outcome}", self)
        self._ready_for_next()

    def _identified(self, r: IdentifyResult) -> None:
        self.result = r
        if r.identified:
            self.banner.show_result(f"IDENTIFIED: {r.user}", "ok")
        else:
            self.banner.show_result("NOT IDENTIFIED", "bad")
        self.reason.show_message(r.reason, "ok" if r.identified else "bad")
        self._fill([(name, "accepts") for name in accepting_candidates(r)])
        self.message.show_message("identification records no attempt")
        self.host.set_status(r.reason, self)
        self._ready_for_next()

    def _failed(self, message: str, exc: BaseException) -> None:
        self.banner.show_result("ERROR", "bad")
        self.reason.show_message(message, "bad")
        self.message.clear_message()
        self.host.set_status("login failed: " + message, self)

    def _fill(self, rows: Sequence[tuple[str, float | str | None]]) -> None:
        self.scores.setRowCount(len(rows))
        for i, (name, value) in enumerate(rows):
            text = value if isinstance(value, str) else "-" if value is None else f"{value:+.4f}"
            self.scores.setItem(i, 0, QTableWidgetItem(str(name)))
            self.scores.setItem(i, 1, QTableWidgetItem(text))

    def _show_lock_state(self, name: str) -> None:
        """Tell the user before they write when the account is locked."""
        name = name.strip()
        if not name or self.host.runner.busy:
            return
        try:
            state = self.host.service.lock_state(name)
        except Exception:  # noqa: BLE001 - unknown user while typing: nothing to say yet
            self.message.clear_message()
            return
        if state.locked:
            until = time.strftime("%H:%M:%S", time.localtime(state.until or 0))
            self.message.show_message(f"account {name!r} is locked until {until}", "warn")
        else:
            self.message.clear_message()

    def set_busy(self, busy: bool) -> None:
        self.login_button.setEnabled(not busy)
        self.identify_button.setEnabled(not busy)

