"""The same rules in the GUI (offscreen, real FMKit recordings replayed through the segmenter):
the administrator check box applies lockout and replay rules; re-enrolling or deleting
someone needs their login or the administrator; the Users tab shows lock status, unlocks and
changes settings (issue 14 items 2 and 9, issue 15's lockout administration)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt5.QtWidgets import QInputDialog, QMessageBox
from storekit import STORE_KIND, fmkit

from authapp.gui.main_window import MainWindow
from authapp.security import LockoutPolicy
from authapp.services import AuthService, Settings
from authapp.store import EnrollmentStore

WAIT_MS = 45_000


@pytest.fixture
def win(qtbot, tmp_path: Path):
    store = EnrollmentStore(tmp_path / "store")
    svc = AuthService(store, Settings(verifier=STORE_KIND,
                                      lockout=LockoutPolicy(3, 600.0, 900.0)))
    svc.enroll("luduo", fmkit("luduo")[:5])
    w = MainWindow(svc)
    qtbot.addWidget(w)
    w.show()
    w.source.realtime.setChecked(False)
    yield w
    w.shutdown()
    store.close()


def _idle(w: MainWindow) -> bool:
    return not w.capturing and not w.runner.busy


def _file(fmkit_dir: Path, word: str, k: int) -> Path:
    return fmkit_dir / f"luduo_{word}_{k:02d}.txt"


def _login(qtbot, w: MainWindow, f: Path, check_only: bool = False) -> str:
    w.source.set_replay_files([f])
    lt = w.login_tab
    lt.check_only.setChecked(check_only)
    lt.user.setEditText("luduo")
    lt.banner.show_result("", "info")
    qtbot.mouseClick(lt.login_button, 1)
    qtbot.waitUntil(lambda: _idle(w) and lt.banner.text() != "", timeout=WAIT_MS)
    return lt.banner.text()


def test_administrator_check_applies_lockout_and_replay_rules(qtbot, win, fmkit_dir) -> None:
    assert "administrator check" in win.login_tab.check_only.text()
    assert _login(qtbot, win, _file(fmkit_dir, "luduo", 1), check_only=True) == \
        "REJECTED: REPLAY ATTACK"  # an exact copy of an enrollment sample
    for k in (1, 2, 3):
        assert _login(qtbot, win, _file(fmkit_dir, "jisuanji", k)) == "REJECTED"
    assert _login(qtbot, win, _file(fmkit_dir, "luduo", 8), check_only=True) == "ACCOUNT LOCKED"
    events = [e.event for e in win.service.store.audit_log("luduo")]
    assert events.count("offline_check") == 2
    win.users_tab.refresh()
    assert win.users_tab.table.item(0, 4).text().startswith("locked until")
    win.users_tab.select("luduo")
    qtbot.mouseClick(win.users_tab.unlock_button, 1)
    qtbot.waitUntil(lambda: _idle(win) and "unlocked" in win.users_tab.message.text(),
                    timeout=WAIT_MS)
    assert win.users_tab.table.item(0, 4).text() == "ok"
    assert _login(qtbot, win, _file(fmkit_dir, "luduo", 8)) == "ACCEPTED"


def _re_enroll(qtbot, w: MainWindow, files: list[Path]) -> str:
    tab = w.enroll_tab
    tab.clear_samples()
    w.source.set_replay_files(files)
    tab.user.setText("luduo")
    tab.n_samples.setValue(4)
    qtbot.mouseClick(tab.capture_button, 1)
    qtbot.waitUntil(lambda: _idle(w) and len(tab.samples) == 4, timeout=WAIT_MS)
    tab.re_enroll.setChecked(True)
    tab.banner.show_result("", "info")
    qtbot.mouseClick(tab.enroll_button, 1)
    qtbot.waitUntil(lambda: _idle(w) and tab.banner.text() != "", timeout=WAIT_MS)
    return tab.banner.text() + " | " + tab.message.text()


def test_re_enroll_and_delete_need_the_users_login_or_an_administrator(
        qtbot, win, fmkit_dir, monkeypatch) -> None:
    other = [_file(fmkit_dir, "jisuanji", k) for k in (5, 6, 7, 8)]
    before = win.service.store.get_user("luduo").model_sha256
    monkeypatch.setattr("authapp.gui.authority.ask_authority", lambda *a: None)
    assert "cancelled" in _re_enroll(qtbot, win, other)
    # "log in first" with someone else's writing: refused, nothing replaced
    monkeypatch.setattr("authapp.gui.authority.ask_authority", lambda *a: "proof")
    orig = win.source.set_replay_files

    def queue_proof(files):  # the two proof samples come after the enrollment samples
        orig(list(files) + [_file(fmkit_dir, "jisuanji", 9), _file(fmkit_dir, "jisuanji", 10)])

    monkeypatch.setattr(win.source, "set_replay_files", queue_proof)
    result = _re_enroll(qtbot, win, other)
    assert "did not pass the login" in result, result
    assert win.service.store.get_user("luduo").model_sha256 == before
    # the owner's two fresh samples: allowed
    monkeypatch.setattr(win.source, "set_replay_files", lambda files: orig(
        list(files) + [_file(fmkit_dir, "luduo", 9), _file(fmkit_dir, "luduo", 10)]))
    own = [_file(fmkit_dir, "luduo", k) for k in (5, 6, 7, 8)]
    assert _re_enroll(qtbot, win, own).startswith("Re-enrolled luduo")
    assert win.service.store.get_user("luduo").model_sha256 != before
    # deletion: refused without authority, done by the administrator (audited)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    monkeypatch.setattr("authapp.gui.authority.ask_authority", lambda *a: None)
    win.users_tab.select("luduo")
    qtbot.mouseClick(win.users_tab.delete_button, 1)
    qtbot.waitUntil(lambda: _idle(win), timeout=WAIT_MS)
    assert "cancelled" in win.users_tab.message.text() and win.users_tab.names == ["luduo"]
    monkeypatch.setattr("authapp.gui.authority.ask_authority", lambda *a: "admin")
    win.users_tab.select("luduo")
    qtbot.mouseClick(win.users_tab.delete_button, 1)
    qtbot.waitUntil(lambda: _idle(win) and win.users_tab.names == [], timeout=WAIT_MS)
    events = [(e.event, e.detail) for e in win.service.store.audit_log()]
    assert ("admin_action", {"action": "deletion"}) in events


def test_settings_are_changed_in_the_users_tab_checked_and_audited(qtbot, win,
                                                                   monkeypatch) -> None:
    tab = win.users_tab
    keys = [tab.settings.item(i, 0).text() for i in range(tab.settings.rowCount())]
    row = keys.index("max_failures")
    tab.settings.selectRow(row)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("1e999", True))
    qtbot.mouseClick(tab.change_button, 1)
    qtbot.waitUntil(lambda: _idle(win) and tab.message.kind == "bad", timeout=WAIT_MS)
    assert "max_failures" in tab.message.text()
    tab.settings.selectRow(row)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("2", True))
    qtbot.mouseClick(tab.change_button, 1)
    qtbot.waitUntil(lambda: _idle(win) and tab.message.text().startswith("set "),
                    timeout=WAIT_MS)
    assert tab.settings.item(row, 1).text() == "2"
    assert win.service.settings.lockout.max_failures == 2
    assert "setting" in [e.event for e in win.service.store.audit_log()]


def test_adding_samples_in_the_gui_needs_authority_and_keeps_the_enrollment(
        qtbot, win, fmkit_dir, monkeypatch) -> None:
    """The Enroll tab's "add these samples" (``enroll --add``): it excludes re-enroll, asks
    for the user's login or the administrator, and adds to the stored samples."""
    tab = win.enroll_tab
    tab.re_enroll.setChecked(True)
    tab.add_samples.setChecked(True)
    assert not tab.re_enroll.isChecked()  # one or the other
    tab.clear_samples()
    win.source.set_replay_files([_file(fmkit_dir, "luduo", k) for k in (6, 7)])
    tab.user.setText("luduo")
    tab.n_samples.setValue(2)
    qtbot.mouseClick(tab.capture_button, 1)
    qtbot.waitUntil(lambda: _idle(win) and len(tab.samples) == 2, timeout=WAIT_MS)
    monkeypatch.setattr("authapp.gui.authority.ask_authority", lambda *a: None)
    tab.banner.show_result("", "info")
    qtbot.mouseClick(tab.enroll_button, 1)
    qtbot.waitUntil(lambda: _idle(win) and tab.message.text() != "", timeout=WAIT_MS)
    assert "cancelled" in tab.message.text()
    assert win.service.store.get_user("luduo").n_recordings == 5
    monkeypatch.setattr("authapp.gui.authority.ask_authority", lambda *a: "admin")
    qtbot.mouseClick(tab.enroll_button, 1)
    qtbot.waitUntil(lambda: _idle(win) and tab.banner.text() != "", timeout=WAIT_MS)
    info = win.service.store.get_user("luduo")
    assert info.n_recordings == 7 and info.metadata["n_enrollment"] == 7
    assert ("admin_action", {"action": "adding samples"}) in [
        (e.event, e.detail) for e in win.service.store.audit_log()]
