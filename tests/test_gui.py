"""The PyQt5 GUI end to end (offscreen): replayed real FMKit recordings through the
segmenter into the enrollment and login services, and every failure shown as a message."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from fakes.leap import Scenario, install, install_broken, make_hand, tracking
from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QApplication, QMessageBox

from authapp.cli import main as cli_main
from authapp.gui.main_window import MainWindow
from authapp.services import AuthService
from authapp.store import EnrollmentStore
from capture.formats import load_recording

WAIT_MS = 45_000


@pytest.fixture
def window(qtbot, tmp_path: Path):
    store = EnrollmentStore(tmp_path / "store")
    win = MainWindow(AuthService(store))
    qtbot.addWidget(win)
    win.show()
    win.source.realtime.setChecked(False)  # replay as fast as possible
    yield win
    win.shutdown()
    store.close()


def luduo(fmkit_dir: Path, word: str) -> list[Path]:
    files = sorted(fmkit_dir.glob(f"luduo_{word}_*.txt"))
    assert len(files) == 10
    return files


def idle(win: MainWindow) -> bool:
    return not win.capturing and not win.runner.busy


def screenshot(qtbot, win: MainWindow, path: Path) -> Path:
    """Save the window as PNG; also to $AIRAUTH_GUI_SCREENSHOTS when set (for review)."""
    qtbot.wait(100)  # let pending re-layouts (wrapped messages growing) happen first
    assert win.grab().save(str(path))
    assert path.stat().st_size > 10_000  # a real rendering, not an empty image
    out = os.environ.get("AIRAUTH_GUI_SCREENSHOTS")
    if out:
        shutil.copy(path, Path(out) / path.name)
    return path


def login(qtbot, win: MainWindow, user: str, file: Path) -> None:
    win.source.set_replay_files([file])
    win.tabs.setCurrentWidget(win.login_tab)
    win.login_tab.user.setEditText(user)
    qtbot.mouseClick(win.login_tab.login_button, 1)
    qtbot.waitUntil(lambda: idle(win) and win.login_tab.banner.text() != "", timeout=WAIT_MS)


def test_enroll_login_and_delete_a_real_user(qtbot, window, fmkit_dir, tmp_path,
                                             monkeypatch) -> None:
    win = window
    genuine = luduo(fmkit_dir, "luduo")
    win.source.set_replay_files(genuine[:5])
    tab = win.enroll_tab
    tab.user.setText("luduo")
    tab.n_samples.setValue(5)
    qtbot.mouseClick(tab.capture_button, 1)
    qtbot.waitUntil(lambda: idle(win) and len(tab.samples) == 5, timeout=WAIT_MS)
    # each replayed file went through the segmenter: trimmed, still the real recording
    assert tab.sample_list.count() == 5
    assert [t.meta.source for t in tab.samples] == [str(f) for f in genuine[:5]]
    assert all(8 <= len(t) and t.dims == 3 for t in tab.samples)
    assert win.view.gesture is tab.samples[-1] and win.view.n_stream_points > len(tab.samples[-1])
    assert "frames" in win.view.caption.text() and "depth z" in win.view.caption.text()

    qtbot.mouseClick(tab.enroll_button, 1)
    assert win.runner.busy and not tab.enroll_button.isEnabled()  # fitting is off-thread
    qtbot.waitUntil(lambda: idle(win) and tab.banner.text() != "", timeout=WAIT_MS)
    assert tab.banner.text() == "Enrolled luduo", tab.message.text()
    tab.user.setText("")
    qtbot.mouseClick(tab.enroll_button, 1)  # an error now: the old banner goes
    assert tab.banner.text() == "" and tab.message.text() == "enter a user id first"
    tab.user.setText("luduo")
    report = tab.details.toPlainText()
    assert "enrolled 'luduo': 5 samples" in report and "threshold" in report
    assert "quality check, per sample" in report
    screenshot(qtbot, win, tmp_path / "gui_enrolled.png")
    assert win.users_tab.names == ["luduo"]
    assert win.users_tab.table.item(0, 1).text() == "5"
    assert [win.login_tab.user.itemText(i) for i in range(win.login_tab.user.count())] == ["luduo"]

    login(qtbot, win, "luduo", genuine[6])
    lt = win.login_tab
    assert lt.banner.text() == "ACCEPTED", lt.reason.text()
    assert lt.result.decision and lt.result.outcome == "accept"
    assert lt.reason.text().startswith("accepted: score")
    r = lt.result
    rows = [(lt.scores.item(i, 0).text(), lt.scores.item(i, 1).text())
            for i in range(lt.scores.rowCount())]
    # the table states the reason line's own numbers: score, threshold, then the margin
    assert rows[0] == ("fusion score", f"{r.raw_score:.4g}")
    assert rows[1] == ("threshold", f"{r.threshold:.4g}")
    assert f"score {rows[0][1]} >= threshold {rows[1][1]}" in lt.reason.text()
    assert rows[2][0].startswith("margin") and float(rows[2][1]) == pytest.approx(r.score,
                                                                                   rel=1e-3)
    # the fusion's margin is shown once (as the margin), not again as a "fusion" part; the
    # parts below it are on the score's own scale and add up to the score
    assert r.per_verifier["fusion"] == pytest.approx(r.score)
    parts = [name.rsplit(" (", 1)[0] for name, _ in rows[3:]]
    assert parts and sorted(parts) == sorted(set(r.per_verifier) - {"fusion"})
    assert all(name.endswith("(part of the score)") for name, _ in rows[3:])
    assert sum(float(v) for _, v in rows[3:]) == pytest.approx(r.raw_score, rel=1e-3, abs=1e-2)
    screenshot(qtbot, win, tmp_path / "gui_login_accepted.png")

    # a new error clears the old verdict instead of leaving ACCEPTED above it
    lt.user.setEditText("")
    qtbot.mouseClick(lt.login_button, 1)
    assert lt.banner.text() == "" and lt.scores.rowCount() == 0 and lt.result is None
    assert lt.message.text() == "enter or pick a user id first"
    lt.user.setEditText("luduo")
    win.source.set_replay_files([])
    qtbot.mouseClick(lt.login_button, 1)
    qtbot.waitUntil(lambda: idle(win), timeout=WAIT_MS)
    assert lt.banner.text() == "" and lt.message.text().startswith("no sample captured")

    login(qtbot, win, "luduo", luduo(fmkit_dir, "jisuanji")[0])
    assert lt.banner.text() == "REJECTED", lt.reason.text()
    assert lt.result.outcome == "reject" and lt.reason.text().startswith("rejected: score")
    screenshot(qtbot, win, tmp_path / "gui_login_rejected.png")

    win.source.set_replay_files([genuine[7]])
    qtbot.mouseClick(lt.identify_button, 1)
    qtbot.waitUntil(lambda: idle(win) and lt.banner.text() != "", timeout=WAIT_MS)
    assert lt.banner.text() == "IDENTIFIED: luduo", lt.reason.text()
    assert lt.scores.item(0, 0).text() == "luduo"
    assert lt.scores.item(0, 1).text() == "accepts"  # names, as `authapp identify` lists them

    login(qtbot, win, "luduo", genuine[0])  # an enrollment sample again: a replay attack
    assert lt.banner.text() == "REJECTED: REPLAY ATTACK"
    assert "replay attack suspected" in lt.reason.text()
    assert "write it again: a recording can log in only once" in lt.reason.text()

    win.tabs.setCurrentWidget(win.users_tab)
    win.users_tab.select("luduo")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.No)
    qtbot.mouseClick(win.users_tab.delete_button, 1)
    assert win.users_tab.names == ["luduo"] and "nothing deleted" in win.users_tab.message.text()
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.Yes)
    monkeypatch.setattr("authapp.gui.authority.ask_authority", lambda *a: "admin")
    qtbot.mouseClick(win.users_tab.delete_button, 1)
    qtbot.waitUntil(lambda: idle(win) and win.users_tab.names == [], timeout=WAIT_MS)
    assert "luduo" in asked[0] and "cannot be undone" in asked[0]
    assert win.users_tab.message.text() == "deleted user 'luduo'"
    assert win.login_tab.user.count() == 0 and win.service.store.users() == []


def test_missing_leap_binding_is_a_message(qtbot, window, monkeypatch, tmp_path) -> None:
    install_broken(monkeypatch, tmp_path)  # `import leap` fails as without Ultraleap's service
    win = window
    win.source.live.setChecked(True)
    assert "Leap Motion support not installed" in win.source.message.text()
    assert "leapc-python-bindings" in win.source.message.text()
    win.enroll_tab.user.setText("alice")
    qtbot.mouseClick(win.enroll_tab.capture_button, 1)
    qtbot.waitUntil(lambda: idle(win), timeout=WAIT_MS)
    assert "Leap Motion support not installed" in win.enroll_tab.message.text()
    assert "Leap Motion support not installed" in win.capture_status.text()
    assert win.enroll_tab.samples == [] and win.isVisible()
    assert win.enroll_tab.capture_button.isEnabled()  # usable again
    screenshot(qtbot, win, tmp_path / "gui_no_leap.png")


def test_bad_input_and_quality_failures_are_messages(qtbot, window, fmkit_dir,
                                                     tmp_path) -> None:
    win = window
    genuine = luduo(fmkit_dir, "luduo")
    # a file that is no recording: the capture stops with the reader's message
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\nworld\n")
    win.source.set_replay_files([junk])
    qtbot.mouseClick(win.enroll_tab.capture_button, 1)  # wants 5, has 1 file
    qtbot.waitUntil(lambda: idle(win), timeout=WAIT_MS)
    assert "only 1 replay file(s) left" in win.enroll_tab.message.text()
    win.enroll_tab.n_samples.setValue(1)
    qtbot.mouseClick(win.enroll_tab.capture_button, 1)
    qtbot.waitUntil(lambda: idle(win), timeout=WAIT_MS)
    assert "unrecognised file format" in win.enroll_tab.message.text()

    # the same recording twice: the quality check's reasons are listed, nothing is stored
    win.source.set_replay_files([genuine[0], genuine[0], genuine[1]])
    win.enroll_tab.n_samples.setValue(3)
    win.enroll_tab.user.setText("luduo")
    qtbot.mouseClick(win.enroll_tab.capture_button, 1)
    qtbot.waitUntil(lambda: idle(win) and len(win.enroll_tab.samples) == 3, timeout=WAIT_MS)
    qtbot.mouseClick(win.enroll_tab.enroll_button, 1)
    qtbot.waitUntil(lambda: idle(win) and win.enroll_tab.banner.text() != "", timeout=WAIT_MS)
    assert win.enroll_tab.banner.text() == "Enrollment rejected"
    assert "sample 2 is a copy of sample 1" in win.enroll_tab.details.toPlainText()
    assert win.service.store.users() == [] and win.users_tab.names == []

    # logging in as nobody: the service's message, not a traceback
    login(qtbot, win, "nobody", genuine[2])
    assert win.login_tab.banner.text() == "ERROR"
    assert "no user 'nobody' is enrolled" in win.login_tab.reason.text()


def test_gui_command_opens_and_closes(qtbot, fmkit_dir, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run_gui installs its own
    files = [str(f) for f in luduo(fmkit_dir, "luduo")[:2]]
    seen: list[list[str]] = []

    def close() -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, MainWindow):
                seen.append(w.source.replay_files())
                w.close()

    QTimer.singleShot(300, close)
    assert cli_main(["gui", "--store", str(tmp_path / "s"), "--replay", *files]) == 0
    assert seen == [files]
    assert (tmp_path / "s" / "store.sqlite3").exists()
    assert cli_main(["gui", "--store", str(tmp_path / "s"), "--replay",
                     str(tmp_path / "missing.txt")]) == 2
    assert "no such file" in capsys.readouterr().err
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert cli_main(["gui", "--store", str(tmp_path / "new")]) == 2
    assert "no display" in capsys.readouterr().err and not (tmp_path / "new").exists()


def test_live_capture_through_the_leap_binding(qtbot, window, fmkit_dir, monkeypatch) -> None:
    """A real recording streamed by the (fake) Leap service, with rest before and after:
    the live path cuts the gesture out of the stream and plots it."""
    original = load_recording(fmkit_dir / "luduo_luduo_01.txt")
    pos = original.positions
    stream = [pos[0]] * 60 + list(pos) + [pos[-1]] * 120  # 9 ms frames: 0.5 s, 1.1 s rest
    install(monkeypatch, Scenario(events=[
        tracking(1_000_000 + i * 9000, i, make_hand(tuple(p))) for i, p in enumerate(stream)]))
    win = window
    win.source.live.setChecked(True)
    assert "binding found" in win.source.message.text()
    win.enroll_tab.n_samples.setValue(1)
    qtbot.mouseClick(win.enroll_tab.capture_button, 1)
    qtbot.waitUntil(lambda: idle(win), timeout=WAIT_MS)
    assert len(win.enroll_tab.samples) == 1, win.enroll_tab.message.text()
    traj = win.enroll_tab.samples[0]
    assert traj.meta.source == "live" and traj.meta.device == "leap"
    assert abs(traj.duration - original.duration) < 0.6
    gap = np.min(np.linalg.norm(traj.positions[:, None] - pos[None], axis=2), axis=1)
    assert np.all(gap < 1e-9)  # every kept frame is one of the recording's
    assert win.view.gesture is traj and win.view.n_stream_points > len(traj)
    assert win.capture_status.text() == "captured 1 sample(s)"


def test_replay_files_have_names_that_tell_them_apart(qtbot, window, shared_data) -> None:
    """Per-person folders name their files alike: the list shows as much path as it takes."""
    leap = shared_data / "leap_air_signatures"
    fmkit = shared_data / "fmkit_leap" / "luduo_luduo_01.txt"
    files = [leap / "u16" / "1.csv", leap / "u20" / "1.csv", fmkit]
    win = window
    win.source.set_replay_files(files)
    shown = [win.source.files.item(i).text() for i in range(win.source.files.count())]
    assert shown == ["u16/1.csv", "u20/1.csv", "luduo_luduo_01.txt"]
    assert win.source.replay_files() == [str(f) for f in files]
    win.source.select_file(2)
    win.source._remove_current()
    win.source.add_replay_files([leap / "u21" / "1.csv"])
    assert [win.source.files.item(i).text() for i in range(3)] == [
        "u16/1.csv", "u20/1.csv", "u21/1.csv"]
    win.source.select_file(0)
    win.enroll_tab.n_samples.setValue(2)
    qtbot.mouseClick(win.enroll_tab.capture_button, 1)
    qtbot.waitUntil(lambda: idle(win), timeout=WAIT_MS)
    labels = [win.enroll_tab.sample_list.item(i).text() for i in range(2)]
    assert labels[0].endswith("(u16/1.csv)") and labels[1].endswith("(u20/1.csv)"), labels


def test_score_rows_of_a_single_verifier_show_its_margin_once() -> None:
    """A plain verifier reports only its own margin in per_verifier: the table shows the
    reason line's score and threshold and that margin once, with no member rows."""
    from authapp.gui.login_tab import score_rows
    from authapp.services import VerifyResult

    r = VerifyResult("alice", False, -0.25, 1.5, 1.75, {"dtw": -0.25},
                     "rejected: score 1.5 < threshold 1.75", "reject")
    assert score_rows(r) == [("dtw score", "1.5"), ("threshold", "1.75"),
                             ("margin (>= 0 accepts)", "-0.25")]
    locked = VerifyResult("alice", False, None, None, None, {}, "locked", "locked")
    assert score_rows(locked) == []
