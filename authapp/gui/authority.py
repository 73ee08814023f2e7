"""Who may change an account from the GUI: its owner, by logging in first, or an
administrator, explicitly (audited). Used by re-enrollment and deletion."""

from __future__ import annotations

from collections.abc import Callable

from PyQt5.QtWidgets import QMessageBox, QWidget

from authapp.gui.host import TabHost
from authapp.services.proof import PROOF_WRITINGS
from capture.trajectory import Trajectory

PROOF, ADMIN = "proof", "admin"


def ask_authority(parent: QWidget, user: str, action: str) -> str | None:
    """Ask how ``action`` on ``user``'s account is authorised: ``PROOF`` (capture two login
    samples of that user first), ``ADMIN`` (administrator, recorded in the audit log), or
    None (cancelled)."""
    box = QMessageBox(parent)
    box.setWindowTitle(f"{action.capitalize()} {user!r}")
    box.setText(f"The {action} of {user!r} replaces or removes their account. Prove it is "
                f"{user!r} by writing their signature twice now, or act as the administrator (recorded in "
                "the audit log).")
    proof = box.addButton("Log in as the user first", QMessageBox.AcceptRole)
    admin = box.addButton("Administrator", QMessageBox.DestructiveRole)
    box.addButton(QMessageBox.Cancel)
    box.exec_()
    clicked = box.clickedButton()
    return PROOF if clicked is proof else ADMIN if clicked is admin else None


def with_authority(host: TabHost, user: str, action: str,
                   then: Callable[[str], None],
                   failed: Callable[[str, BaseException | None], None]) -> None:
    """Authorise ``action`` on ``user`` (see ``AuthService.authorize``), then call
    ``then(actor)`` on the GUI thread; ``failed(message, exc)`` otherwise."""
    choice = ask_authority(host.window(), user, action)
    svc = host.service
    if choice is None:
        failed("cancelled: nothing changed", None)
        return
    if choice == ADMIN:
        host.runner.submit(lambda: svc.authorize(user, action, admin=True), then, failed)
        return
    captured: list[Trajectory] = []

    def done(error: str | None) -> None:
        if error or len(captured) < PROOF_WRITINGS:
            failed(f"no login sample captured: {error}", None)
            return
        samples = list(captured)
        host.runner.submit(lambda: svc.authorize(user, action, proof=samples), then, failed)

    host.set_status(f"{action}: write {user!r}'s signature twice to prove it is them")
    host.start_capture(PROOF_WRITINGS, captured.append, done)
