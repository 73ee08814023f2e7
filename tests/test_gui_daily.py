"""The GUI as a person who uses it every day meets it (issue 23), offscreen with pytest-qt:
a first-run guide on an empty store, Enter to go on and the focus where the next input goes,
a verdict readable from across a desk, a status line per tab, the Login tab pre-filled after
an enrollment, the live trace redrawn at the screen's rate, empty plots without made-up
axes, a neutral progress bar, output outside the working directory, a window that
remembers its size and store, and Ctrl-C in the terminal closing it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PyQt5.QtCore import Qt, QTimer

from authapp.gui.main_window import MainWindow
from authapp.gui.preferences import display_path, experiments_dir, last_store
from authapp.gui.trajectory_view import REDRAW_HZ, TrajectoryView
from authapp.gui.widgets import BANNER_POINTS, COLOURS
from authapp.services import AuthService
from authapp.store import EnrollmentStore

WAIT_MS = 60_000


@pytest.fixture
def window(qtbot, tmp_path: Path):
    store = EnrollmentStore(tmp_path / "store")
    win = MainWindow(AuthService(store))
    qtbot.addWidget(win)
    win.show()
    win.source.realtime.setChecked(False)
    yield win
    win.shutdown()
    store.close()


def idle(win: MainWindow) -> bool:
    return not win.capturing and not win.runner.busy


def test_first_session_by_keyboard(qtbot, window, fmkit_dir: Path) -> None:
    win, tab, lt = window, window.enroll_tab, window.login_tab
    files = sorted(fmkit_dir.glob("luduo_luduo_*.txt"))
    assert tab.guide.isVisible() and "nobody is enrolled" in tab.guide.text()

    win.source.set_replay_files(files[:5])
    tab.user.setFocus()
    qtbot.keyClicks(tab.user, "luduo")
    qtbot.keyClick(tab.user, Qt.Key_Return)  # Enter captures the samples ...
    qtbot.waitUntil(lambda: idle(win) and len(tab.samples) == 5, timeout=WAIT_MS)
    assert tab.enroll_button.hasFocus()  # ... and the focus goes where the next step is
    qtbot.keyClick(tab.enroll_button, Qt.Key_Return)  # Enter enrolls
    qtbot.waitUntil(lambda: idle(win) and tab.banner.text() != "", timeout=WAIT_MS)
    assert tab.banner.text() == "Enrolled luduo", tab.message.text()
    assert not tab.guide.isVisible()  # the guide is for an empty store only
    assert lt.user.currentText() == "luduo"  # the Login tab is ready for the new user
    assert win.statusBar().currentMessage() == "enrolled 'luduo'"

    win.source.set_replay_files(files[6:7])
    win.tabs.setCurrentWidget(lt)
    assert lt.user.hasFocus()  # the tab's first input
    assert "enrolled" not in win.statusBar().currentMessage()  # each tab its own status
    qtbot.keyClick(lt.user.lineEdit(), Qt.Key_Return)  # Enter logs in
    qtbot.waitUntil(lambda: idle(win) and lt.banner.text() != "", timeout=WAIT_MS)
    assert lt.banner.text() == "ACCEPTED", lt.reason.text()
    assert lt.user.count() == 1  # Enter added no second "luduo" to the list
    # readable from across a desk: large, bold, white on green
    assert lt.banner.font().pointSize() >= BANNER_POINTS >= 28 and lt.banner.font().bold()
    assert COLOURS["ok"] in lt.banner.styleSheet() and lt.banner.height() >= 60
    assert lt.user.hasFocus() and lt.user.lineEdit().selectedText() == "luduo"  # next person
    assert win.statusBar().currentMessage() == "login 'luduo': accept"

    win.tabs.setCurrentWidget(win.experiments_tab)
    assert "login" not in win.statusBar().currentMessage()
    assert win.statusBar().currentMessage() == f"store: {display_path(win.service.store.path)}"
    win.tabs.setCurrentWidget(lt)
    assert win.statusBar().currentMessage() == "login 'luduo': accept"


def test_experiments_tab_before_a_folder_and_where_it_writes(qtbot, window, tmp_path,
                                                             monkeypatch) -> None:
    ex = window.experiments_tab
    window.tabs.setCurrentWidget(ex)
    assert not ex.progress.isTextVisible() and ex.progress.value() == 0  # no "0 of 100"
    assert ex.data_dir.hasFocus()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # wherever the GUI was started, it writes to the data folder
    ex.data_dir.setText("../shared/data/fmkit_leap")
    assert ex.output_folder() == experiments_dir() / "fmkit_leap"
    assert Path(os.environ["XDG_DATA_HOME"]) in ex.output_folder().parents
    ex.out_dir.setText("runs/a")
    assert ex.output_folder() == experiments_dir() / "runs" / "a"
    assert not (elsewhere / "runs").exists()
    ex.out_dir.setText("~/x")
    assert ex.output_folder() == Path.home() / "x"
    assert display_path(Path.home() / "x" / "y") == "~/x/y"
    ex.data_dir.setText("")
    qtbot.keyClick(ex.data_dir, Qt.Key_Return)  # Enter runs, or says what is missing
    assert ex.message.text() == "choose the folder of recordings first"


def test_live_trace_is_redrawn_at_the_screen_rate_and_empty_plots_have_no_axes(qtbot) -> None:
    view = TrajectoryView()
    qtbot.addWidget(view)
    view.show()
    axes = [p.getPlotItem().getAxis(side) for p in (view.front, view.top)
            for side in ("left", "bottom")]
    assert not any(a.isVisible() for a in axes)  # no 0-1 "(mm)" scale around nothing
    t = np.arange(400) / 120.0
    rows = np.c_[t, 50 * np.cos(t), 50 * np.sin(t), 10 * t]
    for k in range(0, 400, 4):  # a burst: 100 batches before the event loop runs
        view.append_frames(rows[k:k + 4])
    assert view.redraws == 0
    qtbot.waitUntil(lambda: view.redraws == 1, timeout=2000)
    qtbot.wait(100)
    assert view.redraws == 1  # one redraw of the latest buffer, not 100
    x, _ = view._stream[0].getData()
    assert len(x) == view.n_stream_points == 400
    assert all(a.isVisible() for a in axes)

    # a device at 120 frames per second for one second: at most REDRAW_HZ redraws
    fed = {"k": 0}

    def frame() -> None:
        view.append_frames(rows[fed["k"] % 400][None])
        fed["k"] += 1

    timer = QTimer()
    timer.timeout.connect(frame)
    start, before = time.monotonic(), view.redraws
    timer.start(1000 // 120)
    qtbot.wait(1000)
    timer.stop()
    elapsed = time.monotonic() - start
    drawn = view.redraws - before
    assert fed["k"] > drawn  # frames were batched ...
    assert 5 <= drawn <= REDRAW_HZ * elapsed + 2  # ... and drawn at most at the screen rate
    view.clear("next")
    assert not any(a.isVisible() for a in axes)


def test_window_remembers_its_size_and_last_store(qtbot, tmp_path, monkeypatch) -> None:
    store_path = tmp_path / "remembered"
    with EnrollmentStore(store_path) as store:
        win = MainWindow(AuthService(store))
        qtbot.addWidget(win)
        win.show()
        win.resize(1250, 700)
        qtbot.wait(50)
        win.close()
        again = MainWindow(AuthService(store))
        qtbot.addWidget(again)
        assert (again.width(), again.height()) == (1250, 700)
        again.close()
    assert last_store() == store_path.resolve()

    # `authapp gui` without --store opens it again
    from authapp.cli import main
    from authapp.gui import app

    opened = []
    monkeypatch.delenv("AIRAUTH_STORE", raising=False)
    monkeypatch.setattr(app, "run_gui", lambda service, files: opened.append(
        service.store.path) or 0)
    monkeypatch.chdir(tmp_path)
    assert main(["gui"]) == 0
    assert [Path(p).resolve() for p in opened] == [store_path.resolve()]
    assert not (tmp_path / "enrollment_data").exists()


def test_ctrl_c_in_the_terminal_closes_the_window(tmp_path: Path) -> None:
    """`authapp gui`, then SIGINT (Ctrl-C) from the terminal: the window closes the normal
    way (its size is remembered) and the command exits 130 like the others."""
    authapp = Path(sys.executable).with_name("authapp")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "c"),
           "XDG_DATA_HOME": str(tmp_path / "d")}
    store = tmp_path / "store"
    proc = subprocess.Popen([str(authapp), "gui", "--store", str(store)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not (store / "store.sqlite3").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the GUI did not start"
            time.sleep(0.2)
        time.sleep(5)  # the window is built and shown right after the store opens
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    ini = (tmp_path / "c" / "AirAuth" / "gui.ini").read_text()
    assert "geometry" in ini and str(store.resolve()) in ini  # closed by the handler
