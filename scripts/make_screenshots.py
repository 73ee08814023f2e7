"""Re-make README's GUI screenshots (docs/screenshots/*.png) from the real recordings.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/make_screenshots.py [OUT_DIR]
        [--no-experiment] [--data ../shared/data]

Drives the real window over a temporary store, as a person would: enrolls "luduo" from five
replayed FMKit recordings, logs in with another, lists the users, writes an SVC2004
signature on the drawing pad with mouse events, and runs the Experiments tab on SVC2004 Task1 (DTW and
subspace, one seed; ``--no-experiment`` leaves it out).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import PIL.Image
from PyQt5.QtCore import QBuffer, QEvent, QPointF, Qt
from PyQt5.QtGui import QMouseEvent
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[1]
WIDTH = 960
"""Screenshots are scaled to this width: small files, still legible."""


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"make_screenshots: timed out waiting for {what}")
        QTest.qWait(50)


def save(win, path: Path) -> None:
    """The window, scaled and reduced to a 256-colour palette (a UI needs no more)."""
    QTest.qWait(150)  # pending re-layouts first
    image = win.grab().toImage().scaledToWidth(WIDTH, Qt.SmoothTransformation)
    buffer = QBuffer()
    buffer.open(QBuffer.ReadWrite)
    image.save(buffer, "PNG")
    small = PIL.Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGB").quantize(256)
    small.save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


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


def measured_time() -> str:
    """How long this script takes, as README measured it (``scripts/usage.sh``: one source)."""
    usage = Path(__file__).with_name("usage.sh")
    proc = subprocess.run(["bash", str(usage), "--time", Path(__file__).name],
                          capture_output=True, text=True, check=False)
    return "Time: " + (proc.stdout.strip() or "see README.md")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=measured_time())
    ap.add_argument("out", nargs="?", type=Path, default=REPO / "docs" / "screenshots")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--no-experiment", action="store_true")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(["make_screenshots"])

    from authapp.gui.main_window import MainWindow
    from authapp.services import AuthService
    from authapp.store import EnrollmentStore
    from capture.formats import load_recording

    fmkit = args.data / "fmkit_leap"
    luduo = [fmkit / f"luduo_luduo_{i:02d}.txt" for i in range(1, 11)]
    with tempfile.TemporaryDirectory() as tmp:
        store = EnrollmentStore(Path(tmp) / "store")
        win = MainWindow(AuthService(store))
        win.resize(1280, 760)
        win.show()

        def idle() -> bool:
            return not win.capturing and not win.runner.busy

        try:
            win.source.realtime.setChecked(False)
            win.source.set_replay_files(luduo[:5])
            tab = win.enroll_tab
            tab.user.setText("luduo")
            tab.capture()
            wait_until(lambda: idle() and len(tab.samples) == 5, 120, "5 captured samples")
            tab.enroll()
            wait_until(lambda: idle() and tab.banner.text() != "", 300, "the enrollment")
            save(win, args.out / "enroll.png")

            win.source.set_replay_files(luduo[6:7])
            win.tabs.setCurrentWidget(win.login_tab)
            win.login_tab.user.setEditText("luduo")
            win.login_tab.login()
            wait_until(lambda: idle() and win.login_tab.banner.text() != "", 120, "the login")
            save(win, args.out / "login.png")

            win.tabs.setCurrentWidget(win.users_tab)
            win.users_tab.select("luduo")
            save(win, args.out / "users.png")

            win.source.draw.setChecked(True)
            win.tabs.setCurrentWidget(tab)
            tab.user.setText("mouse-demo")
            tab.n_samples.setValue(3)
            tab.clear_samples()
            tab.capture()
            QTest.qWait(150)
            write_on_pad(win.source.pad,
                         load_recording(args.data / "svc2004_task1" / "U1S1.TXT"))
            save(win, args.out / "draw.png")
            win.cancel_capture()
            wait_until(idle, 30, "the end of the drawing capture")

            if not args.no_experiment:
                ex = win.experiments_tab
                win.tabs.setCurrentWidget(ex)
                ex.data_dir.setText(str(args.data / "svc2004_task1"))
                ex.format.setCurrentIndex(ex.format.findData("svc2004"))
                ex.seeds.setValue(1)
                for name, box in ex.methods.items():
                    box.setChecked(name in ("dtw", "subspace"))
                ex.out_dir.setText(str(Path(tmp) / "experiment"))
                ex.run()
                wait_until(lambda: not ex.running, 900, "the experiment")
                if ex.results is None:
                    raise SystemExit(f"make_screenshots: experiment failed: {ex.message.text()}")
                ex.out_dir.setText("experiment_out/gui")  # not the temporary folder
                save(win, args.out / "experiments.png")
        finally:
            win.shutdown()
            win.close()
            store.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
