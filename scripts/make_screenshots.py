"""Re-make README's GUI screenshots (docs/screenshots/*.png) from the real recordings.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/make_screenshots.py [OUT_DIR]
        [--size 1366x768] [--no-experiment] [--data ../shared/data]

Drives the real window over a fresh store, as a person would: the first-run guide, enrolls
"luduo" from five replayed FMKit recordings, logs in with another, lists the users, writes an
SVC2004 signature on the drawing pad with mouse events, and runs the Experiments tab on
SVC2004 Task1 (DTW and subspace, one seed; ``--no-experiment`` leaves that picture out). The
window is drawn at ``--size`` (a common laptop screen by default; 1920x1080 to check a large
one) and saved at that size. Paths in the pictures are machine-independent: the store and
the output live in a stand-in home folder (shown as ``~``), the data folder is named
relative to the repository.

Next to the pictures it writes ``fingerprint.json``: the window's structure on each screen
(widget classes and their fixed words: buttons, labels, tabs, headers) and each picture's
SHA-256. ``tests/test_gui_screenshots.py`` rebuilds the structures and fails when the GUI
changed but the screenshots were not re-made (pixels differ between machines; the structure
does not).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import PIL.Image
from PyQt5.QtCore import QBuffer, QEvent, QPointF, QSettings, Qt
from PyQt5.QtGui import QMouseEvent
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import (
    QAbstractButton,
    QApplication,
    QGroupBox,
    QLabel,
    QScrollBar,
    QTabBar,
    QTableWidget,
    QWidget,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _readme_time import measured_time

REPO = Path(__file__).resolve().parents[1]
SIZE = "1366x768"
"""The window's size in README's screenshots: the most common laptop screen."""
FINGERPRINT = "fingerprint.json"


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"make_screenshots: timed out waiting for {what}")
        QTest.qWait(50)


def fingerprint(win: QWidget) -> list[str]:
    """The window's structure as lines of text: every widget it shows, in tree order, by
    class and object name, with its fixed words (buttons, check boxes, group titles, plain
    labels, tab names, table headers). What changes from run to run is left out: messages,
    verdicts, scores, paths, table cells, plots, scroll bars."""
    lines = []
    for w in [win, *win.findChildren(QWidget)]:
        if not w.isVisibleTo(win) or isinstance(w, QScrollBar):
            continue
        words = ""
        if isinstance(w, QAbstractButton):
            words = w.text()
        elif isinstance(w, QGroupBox):
            words = w.title()
        elif isinstance(w, QLabel) and not w.objectName():
            words = w.text()
        elif isinstance(w, QTabBar):
            words = " | ".join(w.tabText(i) for i in range(w.count()))
        elif isinstance(w, QTableWidget) and w.objectName() != "experimentTable":
            words = " | ".join(w.horizontalHeaderItem(j).text()
                               for j in range(w.columnCount()) if w.horizontalHeaderItem(j))
        lines.append(" ".join(x for x in (type(w).__name__, w.objectName(), words) if x))
    return lines


def save(win: QWidget, path: Path | None, shots: dict[str, dict], name: str) -> None:
    """The window's structure, and (with a ``path``) its picture at the window's own size,
    reduced to a 256-colour palette (a UI needs no more)."""
    QTest.qWait(150)  # pending re-layouts first
    shots[name] = {"structure": fingerprint(win)}
    if path is None:
        return
    buffer = QBuffer()
    buffer.open(QBuffer.ReadWrite)
    win.grab().toImage().save(buffer, "PNG")
    small = PIL.Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGB").quantize(256)
    small.save(path, optimize=True)
    shots[name]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


@contextmanager
def stand_in_home(home: Path) -> Iterator[None]:
    """HOME (where the GUI's data folder and ``~`` are) in ``home``, the working directory
    at the repository, and the GUI's preferences in ``home`` too; all put back after."""
    saved = {k: os.environ.get(k) for k in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME")}
    cwd = Path.cwd()
    os.environ["HOME"] = str(home)
    os.environ.pop("XDG_DATA_HOME", None)
    os.environ.pop("XDG_CONFIG_HOME", None)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(home / ".config"))
    os.chdir(REPO)
    try:
        yield
    finally:
        os.chdir(cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def shown_path(path: Path) -> str:
    """``path`` relative to the repository when it is beside it (``../shared/data/...``)."""
    try:
        return os.path.relpath(path, REPO)
    except ValueError:
        return str(path)


def write_on_pad(pad, traj) -> None:
    """Write a pen recording on the pad with mouse events: its pen-down strokes pressed,
    the moves between them with the button up."""
    xy = np.asarray(traj.positions[:, :2], dtype=float)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    scale = min((pad.width() - 60) / (hi[0] - lo[0]), (pad.height() - 70) / (hi[1] - lo[1]))
    px = np.c_[30 + (xy[:, 0] - lo[0]) * scale, 50 + (hi[1] - xy[:, 1]) * scale]
    pen = np.asarray(traj.channels.get("pen_down", np.ones(len(xy)))) > 0
    was = False
    for (x, y), down in zip(px, pen):
        if down != was:
            kind = QEvent.MouseButtonPress if down else QEvent.MouseButtonRelease
            button = Qt.LeftButton
        else:
            kind, button = QEvent.MouseMove, Qt.NoButton
        held = Qt.LeftButton if down else Qt.NoButton
        QApplication.sendEvent(pad, QMouseEvent(kind, QPointF(x, y), button, held,
                                                Qt.NoModifier))
        was = down
    if was:
        QApplication.sendEvent(pad, QMouseEvent(QEvent.MouseButtonRelease, QPointF(x, y),
                                                Qt.LeftButton, Qt.NoButton, Qt.NoModifier))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=measured_time(__file__))
    ap.add_argument("out", nargs="?", type=Path, default=REPO / "docs" / "screenshots")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--size", default=SIZE, help=f"window size WxH (default {SIZE})")
    ap.add_argument("--no-experiment", action="store_true",
                    help="leave out the Experiments picture (its structure is still recorded)")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.out = args.out.resolve()
    args.data = args.data.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(["make_screenshots"])
    started = time.perf_counter()
    shots: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, stand_in_home(Path(tmp)):
        take(args, width, height, Path(tmp), shots)
    app.processEvents()
    record = {"size": f"{width}x{height}", "screens": shots}
    (args.out / FINGERPRINT).write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out / FINGERPRINT}; took {time.perf_counter() - started:.0f} s")
    return 0


def take(args: argparse.Namespace, width: int, height: int, home: Path,
         shots: dict[str, dict]) -> None:
    from authapp.gui.main_window import MainWindow
    from authapp.services import AuthService
    from authapp.store import EnrollmentStore
    from capture.formats import load_recording

    fmkit = args.data / "fmkit_leap"
    luduo = [fmkit / f"luduo_luduo_{i:02d}.txt" for i in range(1, 11)]
    store = EnrollmentStore(home / "airauth-demo" / "store")
    win = MainWindow(AuthService(store))
    win.resize(width, height)
    win.show()

    def idle() -> bool:
        return not win.capturing and not win.runner.busy

    try:
        win.source.realtime.setChecked(False)
        win.source.set_replay_files(luduo[:5])
        tab = win.enroll_tab
        save(win, args.out / "first_run.png", shots, "first_run")
        tab.user.setText("luduo")
        tab.capture()
        wait_until(lambda: idle() and len(tab.samples) == 5, 120, "5 captured samples")
        tab.enroll()
        wait_until(lambda: idle() and tab.banner.text() != "", 300, "the enrollment")
        save(win, args.out / "enroll.png", shots, "enroll")

        win.source.set_replay_files(luduo[6:7])
        win.tabs.setCurrentWidget(win.login_tab)
        win.login_tab.login()  # the user id is filled in after the enrollment
        wait_until(lambda: idle() and win.login_tab.banner.text() != "", 120, "the login")
        save(win, args.out / "login.png", shots, "login")

        win.tabs.setCurrentWidget(win.users_tab)
        win.users_tab.select("luduo")
        save(win, args.out / "users.png", shots, "users")

        win.source.draw.setChecked(True)
        win.tabs.setCurrentWidget(tab)
        tab.user.setText("mouse-demo")
        tab.n_samples.setValue(3)
        tab.clear_samples()
        tab.capture()
        QTest.qWait(150)
        write_on_pad(win.source.pad, load_recording(args.data / "svc2004_task1" / "U1S1.TXT"))
        save(win, args.out / "draw.png", shots, "draw")
        win.cancel_capture()
        wait_until(idle, 30, "the end of the drawing capture")

        ex = win.experiments_tab
        win.tabs.setCurrentWidget(ex)
        ex.data_dir.setText(shown_path(args.data / "svc2004_task1"))
        ex.format.setCurrentIndex(ex.format.findData("svc2004"))
        ex.seeds.setValue(1)
        for name, box in ex.methods.items():
            box.setChecked(name in ("dtw", "subspace"))
        save(win, None, shots, "experiments")  # the tab's structure before a run
        if args.no_experiment:
            return
        structure = shots["experiments"]["structure"]
        ex.run()
        wait_until(lambda: not ex.running, 900, "the experiment")
        if ex.results is None:
            raise SystemExit(f"make_screenshots: experiment failed: {ex.message.text()}")
        ex.scroll.ensureWidgetVisible(ex.plots["det"], 0, 0)  # the whole DET plot
        save(win, args.out / "experiments.png", shots, "experiments")
        shots["experiments"]["structure"] = structure  # as before the run (what a test sees)
    finally:
        win.shutdown()
        win.close()
        store.close()


if __name__ == "__main__":
    sys.exit(main())
