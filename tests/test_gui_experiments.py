"""The GUI's Experiments tab (offscreen): the impersonation experiment on real recordings in a
worker, with progress, cancel, the result table and the DET/ROC plots."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from authapp.gui.main_window import MainWindow
from authapp.harness.experiment import ExperimentCancelled, ExperimentConfig, run_experiment
from authapp.services import AuthService
from authapp.store import EnrollmentStore

WAIT_MS = 120_000


@pytest.fixture
def tab(qtbot, tmp_path: Path):
    store = EnrollmentStore(tmp_path / "store")
    win = MainWindow(AuthService(store))
    qtbot.addWidget(win)
    win.show()
    win.tabs.setCurrentWidget(win.experiments_tab)
    yield win.experiments_tab
    win.shutdown()
    store.close()


def setup(tab, data: Path, fmt: str, out: Path, methods: tuple[str, ...] = ("dtw",)) -> None:
    tab.data_dir.setText(str(data))
    tab.format.setCurrentIndex(tab.format.findData(fmt))
    tab.seeds.setValue(1)
    for name, box in tab.methods.items():
        box.setChecked(name in methods)
    tab.out_dir.setText(str(out))


def test_runs_an_experiment_and_shows_table_and_plots(qtbot, tab, shared_data, tmp_path):
    assert not tab.host.left.isVisible()  # the tab gets the whole window
    out = tmp_path / "exp"
    setup(tab, shared_data / "fmkit_leap", "fmkit", out)
    seen: list[tuple[int, int]] = []
    qtbot.mouseClick(tab.run_button, 1)
    assert tab.running and not tab.run_button.isEnabled() and tab.cancel_button.isEnabled()
    tab.thread.progress.connect(lambda d, n: seen.append((d, n)))
    qtbot.waitUntil(lambda: not tab.running, timeout=WAIT_MS)
    assert tab.message.kind == "ok", tab.message.text()
    assert seen[-1] == (2, 2) and tab.progress.value() == tab.progress.maximum() == 2
    results = json.loads((out / "results.json").read_text())
    assert list(tab.results.scored.identities) == results["identities"]
    assert len(results["identities"]) == 2  # FMKit: one writer, two words = two identities
    # the table is the command's table: one row per method and impostor type, real EERs
    header = [tab.table.horizontalHeaderItem(j).text() for j in range(tab.table.columnCount())]
    eer_col = header.index("EER %")
    assert tab.table.rowCount() == 1 and tab.table.item(0, 0).text() == "dtw"
    eer = results["methods"]["dtw"]["random"]["eer"]
    assert float(tab.table.item(0, eer_col).text()) == pytest.approx(100 * eer, abs=0.005)
    for kind in ("det", "roc"):
        pixmap = tab.plots[kind].pixmap()
        assert pixmap is not None and not pixmap.isNull() and pixmap.width() > 300
        assert (out / f"{kind}.png").is_file()
    assert (out / "report.html").is_file() and str(out / "report.html") in tab.message.text()
    shot = tmp_path / "gui_experiments.png"
    qtbot.wait(100)
    assert tab.host.grab().save(str(shot))
    if os.environ.get("AIRAUTH_GUI_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["AIRAUTH_GUI_SCREENSHOTS"]) / shot.name)
    tab.host.tabs.setCurrentWidget(tab.host.login_tab)
    assert tab.host.left.isVisible()


def test_cancel_stops_the_run_and_writes_nothing(qtbot, tab, shared_data, tmp_path):
    out = tmp_path / "exp"
    setup(tab, shared_data / "leap_air_signatures", "leapcsv", out)
    qtbot.mouseClick(tab.run_button, 1)
    qtbot.waitUntil(lambda: tab.progress.value() >= 1, timeout=WAIT_MS)
    total = tab.progress.maximum()
    assert total == 50
    qtbot.mouseClick(tab.cancel_button, 1)
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: not tab.running, timeout=WAIT_MS)
    assert time.monotonic() - t0 < 30  # stops after the identity in progress, not after 50
    assert tab.message.kind == "warn" and "cancelled after" in tab.message.text()
    assert tab.progress.value() < total and tab.run_button.isEnabled()
    assert not (out / "report.html").exists() and tab.results is None


def test_bad_folder_is_a_message(qtbot, tab, tmp_path):
    (tmp_path / "empty").mkdir()
    qtbot.mouseClick(tab.run_button, 1)
    assert tab.message.text() == "choose the folder of recordings first" and not tab.running
    setup(tab, tmp_path / "empty", "fmkit", tmp_path / "out")
    qtbot.mouseClick(tab.run_button, 1)
    qtbot.waitUntil(lambda: not tab.running, timeout=WAIT_MS)
    assert tab.message.kind == "bad" and "no recordings found" in tab.message.text()
    assert tab.run_button.isEnabled()


def test_run_experiment_cancels_between_identities_in_parallel(shared_data):
    """The harness hook with worker processes: cancelling after the first identity ends the
    run (the rest of the joblib queue is dropped) with ExperimentCancelled."""
    cancel = threading.Event()
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        if done >= 1:
            cancel.set()

    cfg = ExperimentConfig(data_dir=shared_data / "svc2004_task1", format="svc2004",
                           methods=("dtw",), seeds=(0,), jobs=2)
    with pytest.raises(ExperimentCancelled, match="cancelled after 1 of 20 identities"):
        run_experiment(cfg, progress=False, on_progress=progress, cancel=cancel)
    assert calls == [(0, 20), (1, 20)]
