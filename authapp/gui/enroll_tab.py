"""The Enroll tab: capture N samples, review them, fit the user's verifier off the GUI thread."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from authapp.gui.authority import with_authority
from authapp.gui.capture import short_names
from authapp.gui.host import TabHost
from authapp.gui.widgets import Banner, MessageLabel
from authapp.services import Actor, AuthService, EnrollmentQualityError, EnrollmentReport
from authapp.settings_schema import verifier_choices
from capture.trajectory import Trajectory
from core.errors import AirAuthError

STORE_DEFAULT = "store setting"
GUIDE = ("<b>Welcome: nobody is enrolled in this store yet.</b> "
         "1. Pick a source on the left: <i>Draw with the mouse</i> needs no device; "
         "replay files or the Leap Motion work too. "
         "2. Type a user id here and press Enter: that captures the samples (write your "
         "name the same way each time). "
         "3. Press Enroll. Then log in on the <i>Login</i> tab with a new sample: a "
         "recording can log in only once, so write it again each time.")


class EnrollTab(QWidget):
    """User id, samples captured from the chosen source, and the enrollment report."""

    def __init__(self, host: TabHost) -> None:
        super().__init__()
        self.host = host
        self.samples: list[Trajectory] = []
        self.report: EnrollmentReport | None = None

        self.user = QLineEdit()
        self.user.setPlaceholderText("user id, e.g. alice")
        self.n_samples = QSpinBox()
        self.n_samples.setRange(1, 20)
        self.n_samples.setValue(5)
        self.verifier = QComboBox()
        self.verifier.addItem(f"{STORE_DEFAULT} ({self._store_kind()})", None)
        for name in verifier_choices():
            self.verifier.addItem(name, name)
        self.re_enroll = QCheckBox("replace an existing enrollment (re-enroll)")
        self.add_samples = QCheckBox("add to an existing enrollment "
                                     "(a later sitting)")
        self.add_samples.setObjectName("enrollAdd")
        # one or the other: --add keeps the enrolled samples, re-enroll replaces them
        self.re_enroll.toggled.connect(lambda on: on and self.add_samples.setChecked(False))
        self.add_samples.toggled.connect(lambda on: on and self.re_enroll.setChecked(False))
        self.capture_button = QPushButton("Capture samples")
        self.remove_button = QPushButton("Remove sample")
        self.clear_button = QPushButton("Clear samples")
        self.sample_list = QListWidget()
        self.sample_list.setObjectName("enrollSamples")
        self.enroll_button = QPushButton("Enroll")
        self.enroll_button.setDefault(True)
        self.banner = Banner("enrollBanner")
        self.message = MessageLabel("enrollMessage")
        self.details = QPlainTextEdit()
        self.details.setObjectName("enrollReport")
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("The enrollment report (quality check, verifier, "
                                        "threshold, timings) appears here.")

        self.guide = QLabel(GUIDE)
        self.guide.setObjectName("firstRunGuide")
        self.guide.setWordWrap(True)
        self.guide.setStyleSheet("background: #eef4fb; border: 1px solid #9bbbe0; "
                                 "border-radius: 6px; padding: 8px;")
        self.guide.setVisible(False)

        form = QFormLayout()
        form.addRow("User id", self.user)
        form.addRow("Samples to capture", self.n_samples)
        form.addRow("Verifier", self.verifier)
        form.addRow("", self.re_enroll)
        form.addRow("", self.add_samples)
        row = QHBoxLayout()
        for b in (self.capture_button, self.remove_button, self.clear_button):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.guide)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.sample_list, 1)
        layout.addWidget(self.enroll_button)
        layout.addWidget(self.banner)
        layout.addWidget(self.message)
        layout.addWidget(self.details, 1)

        self.user.returnPressed.connect(self._user_entered)
        self.capture_button.clicked.connect(self.capture)
        self.remove_button.clicked.connect(self.remove_sample)
        self.clear_button.clicked.connect(self.clear_samples)
        self.enroll_button.clicked.connect(self.enroll)
        self.sample_list.currentRowChanged.connect(self._show_sample)
        self.n_samples.valueChanged.connect(self._update_buttons)
        self._update_buttons()

    def first_input(self) -> QWidget:
        return self.user

    def show_guide(self, empty_store: bool) -> None:
        """The first-run guide, while the store has no users."""
        self.guide.setVisible(empty_store)

    def _user_entered(self) -> None:
        """Enter in the user id: capture the samples, or enroll once they are there."""
        if self.samples and self.enroll_button.isEnabled():
            self.enroll()
        elif self.capture_button.isEnabled():
            self.capture()

    def _store_kind(self) -> str:
        return self.host.service.settings.verifier_kind

    # -- samples --------------------------------------------------------------------------
    def capture(self) -> None:
        self.banner.show_result("", "info")  # a new capture starts a new enrollment
        self.details.clear()
        self.message.show_message(f"capturing... {self.host.capture_hint()}, for each sample")
        self.host.start_capture(self.n_samples.value(), self.add_sample, self._capture_done)

    def add_sample(self, traj: Trajectory) -> None:
        self.samples.append(traj)
        src = traj.meta.source or "live"
        item = QListWidgetItem()
        item.setToolTip(src)
        self.sample_list.addItem(item)
        names = short_names([t.meta.source or "live" for t in self.samples])
        for i, (t, name) in enumerate(zip(self.samples, names)):
            self.sample_list.item(i).setText(f"sample {i + 1}: {len(t)} frames, "
                                             f"{t.duration:.2f} s  ({name})")
        self.sample_list.blockSignals(True)
        self.sample_list.setCurrentRow(self.sample_list.count() - 1)
        self.sample_list.blockSignals(False)
        self._update_buttons()

    def _capture_done(self, error: str | None) -> None:
        if error:
            self._show_error(f"capture stopped: {error}")
        else:
            self.message.show_message(f"{len(self.samples)} sample(s) ready: press Enter "
                                      "or Enroll", "info")
        self._update_buttons()
        (self.enroll_button if self.enroll_button.isEnabled() else self.capture_button
         ).setFocus()

    def remove_sample(self) -> None:
        row = self.sample_list.currentRow()
        if 0 <= row < len(self.samples):
            del self.samples[row]
            self._relist()

    def clear_samples(self) -> None:
        self.samples.clear()
        self._relist()

    def _relist(self) -> None:
        kept = list(self.samples)
        self.samples.clear()
        self.sample_list.clear()
        for t in kept:
            self.add_sample(t)
        self._update_buttons()

    def _show_sample(self, row: int) -> None:
        if 0 <= row < len(self.samples):
            self.host.show_trajectory(self.samples[row], f"enrollment sample {row + 1}")

    # -- enrollment -----------------------------------------------------------------------
    def enroll(self) -> None:
        user = self.user.text().strip()
        if not user:
            self._show_error("enter a user id first")
            return
        if not self.samples:
            self._show_error("capture the enrollment samples first")
            return
        base = self.host.service
        kind = self.verifier.currentData()
        try:  # the choice is checked as `authapp settings verifier` and `--verifier` are
            service = base if kind is None else base.with_settings({"verifier": kind})
        except AirAuthError as exc:
            self._show_error(str(exc))
            return
        samples, re_enroll = list(self.samples), self.re_enroll.isChecked()
        add = self.add_samples.isChecked()
        self.banner.show_result("", "info")
        self.details.clear()

        def start(actor: Actor | None = None) -> None:
            self.message.show_message(f"fitting the verifier for {user!r} on {len(samples)} "
                                      "samples...", "info")
            self.host.set_status(f"enrolling {user!r}...", self)
            self.host.runner.submit(
                lambda: service.enroll(user, samples, re_enroll=re_enroll, add=add,
                                       actor=actor),
                self._enrolled, self._enroll_failed)

        if add or (re_enroll and _enrolled(base, user)):  # the account's owner or admin
            with_authority(self.host, user, "adding samples" if add else "re-enrollment",
                           start, lambda m, e: self._enroll_failed(m, e))
        else:
            start()

    def _show_error(self, text: str) -> None:
        """A new error replaces the last result: an old "Enrolled" must not stay above it."""
        self.banner.show_result("", "info")
        self.message.show_message(text, "bad")

    def _enrolled(self, report: EnrollmentReport) -> None:
        self.report = report
        verb = "Re-enrolled" if report.re_enrolled else "Enrolled"
        self.banner.show_result(f"{verb} {report.user}", "ok")
        self.message.show_message(report.lines()[0], "ok")
        lines = list(report.lines())
        if report.quality is not None:
            lines.append("")
            lines.append("quality check, per sample:")
            for s in report.quality.samples:
                notes = "; ".join(s.notes) or "ok"
                lines.append(f"  sample {s.index + 1}: {s.duration_s:.2f} s, "
                             f"{s.size_mm:.0f} mm  - {notes}")
        self.details.setPlainText("\n".join(lines))
        self._mark_samples(set(), {})
        self.host.set_status(f"enrolled {report.user!r}", self)
        self.host.users_changed.emit()
        self.host.user_enrolled(report.user)

    def _enroll_failed(self, message: str, exc: BaseException | None) -> None:
        self.banner.show_result("Enrollment rejected", "bad")
        self.message.show_message(message, "bad")
        if isinstance(exc, EnrollmentQualityError):
            reasons = []
            bad: dict[int, list[str]] = {}
            if exc.report is not None:
                reasons += list(exc.report.messages_rejecting())
                for s in exc.report.samples:
                    if s.reasons:
                        bad[s.index] = list(s.reasons)
            reasons += exc.extra
            self.details.setPlainText("The samples failed the quality check:\n"
                                      + "\n".join(f"- {r}" for r in reasons)
                                      + "\n\nRemove or re-capture the marked samples.")
            self._mark_samples(set(bad), bad)
        else:
            self.details.setPlainText(message)
        self.host.set_status("enrollment failed", self)

    def _mark_samples(self, rejected: set[int], reasons: dict[int, list[str]]) -> None:
        for i in range(self.sample_list.count()):
            item = self.sample_list.item(i)
            item.setForeground(QColor("#b00020") if i in rejected else QColor("#000000"))
            if i in reasons:
                item.setToolTip("; ".join(reasons[i]))

    # -- state ----------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = getattr(self, "_busy", False)
        self.capture_button.setText(f"Capture {self.n_samples.value()} sample(s)")
        self.capture_button.setEnabled(not busy)
        self.enroll_button.setEnabled(not busy and bool(self.samples))
        self.remove_button.setEnabled(not busy and bool(self.samples))
        self.clear_button.setEnabled(not busy and bool(self.samples))
        self.sample_list.setEnabled(True)
        self.sample_list.setFocusPolicy(Qt.StrongFocus)


def _enrolled(service: AuthService, user: str) -> bool:
    try:
        return service.has_user(user)
    except Exception:  # noqa: BLE001 - a bad id: enroll reports it
        return False
