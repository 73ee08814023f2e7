"""Who acts in the GUI, as the service's ``Actor``: an account's owner, by writing their
signature first, or the administrator, explicitly (``GUI_ADMIN``: the administrator's buttons
and check box). The service decides what each may do and audits it; used by re-enrollment,
adding samples and deletion."""

from __future__ import annotations

from collections.abc import Callable

from PyQt5.QtWidgets import QMessageBox, QWidget

from authapp.gui.host import TabHost
from authapp.services.actor import Actor
from authapp.services.proof import PROOF_WRITINGS
from capture.trajectory import Trajectory

PROOF, ADMIN = "proof", "admin"
GUI_ADMIN = Actor.admin("admin (GUI)")
"""The administrator at this GUI (how the audit log names them)."""


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
                   then: Callable[[Actor], None],
                   failed: Callable[[str, BaseException | None], None]) -> None:
    """Ask who does ``action`` on ``user``, collect their proof if they are that user, then
    call ``then(actor)`` (the service authorises it: ``AuthService.authorize``);
    ``failed(message, exc)`` when cancelled or nothing was captured."""
    choice = ask_authority(host.window(), user, action)
    if choice is None:
        failed("cancelled: nothing changed", None)
        return
    if choice == ADMIN:
        then(GUI_ADMIN)
        return
    captured: list[Trajectory] = []

    def done(error: str | None) -> None:
        if error or len(captured) < PROOF_WRITINGS:
            failed(f"no login sample captured: {error}", None)
            return
        then(Actor.user(user, proof=list(captured)))

    host.set_status(f"{action}: write {user!r}'s signature twice to prove it is them")
    host.start_capture(PROOF_WRITINGS, captured.append, done)
