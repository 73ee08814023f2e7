"""The Experiments tab: the impersonation experiment of ``authapp experiment`` on a chosen
folder, run on a worker thread with a progress bar and a cancel button, then its table and
DET/ROC plots. It writes the same files as the command (results.json, plots, report.html)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QSize, Qt, QThread, pyqtSignal
from PyQt5.QtGui import QPixmap, QResizeEvent
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from authapp.gui.host import TabHost
from authapp.gui.preferences import display_path, experiments_dir, output_path
from authapp.gui.widgets import MessageLabel
from authapp.gui.workers import error_message
from authapp.harness.experiment import DEFAULT_METHODS, SPLITS, ExperimentConfig, run_experiment
from authapp.harness.results import Results
from capture.formats import FORMATS

PLOTS = ("det", "roc")
"""Shown one under the other, each as large as the tab shows whole (never enlarged): side by
side at half size their axis labels were too small to read."""


class ExperimentThread(QThread):
    """``run_experiment`` then ``write_report`` off the GUI thread; ``cancel()`` stops the run
    between identities (the harness checks the event), leaving no report behind."""

    progress = pyqtSignal(int, int)       # identities done, total
    succeeded = pyqtSignal(object, object)  # Results, {kind: path} of the written files
    failed = pyqtSignal(str)

    def __init__(self, cfg: ExperimentConfig, out_dir: Path,
                 parent: Any | None = None) -> None:
        super().__init__(parent)
        self.cfg = cfg
        self.out_dir = out_dir
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        from authapp.harness.report import write_report

        t0 = time.perf_counter()
        try:
            result = run_experiment(self.cfg, progress=False, on_progress=self.progress.emit,
                                    cancel=self._cancel)
            res = result.results
            result.results = replace(
                res, timing=replace(res.timing, wall_s=time.perf_counter() - t0))
            paths = write_report(result, self.out_dir)
        except Exception as exc:  # noqa: BLE001 - shown in the tab, never a crash
            self.failed.emit(error_message(exc))
        else:
            self.succeeded.emit(result.results, paths)


class ExperimentsTab(QWidget):
    """Settings of a run (the command's main options), Run / Cancel, progress, results."""

    def __init__(self, host: TabHost) -> None:
        super().__init__()
        self.host = host
        self.thread: ExperimentThread | None = None
        self.results: Results | None = None
        self.paths: dict[str, Path] = {}

        self.data_dir = QLineEdit()
        self.data_dir.setPlaceholderText("folder of recordings, e.g. ../shared/data/fmkit_leap")
        self.browse_data = QPushButton("Browse...")
        self.format = QComboBox()
        self.format.addItem("detect file by file", None)
        for name in FORMATS:
            self.format.addItem(name, name)
        self.references = QSpinBox()
        self.references.setRange(2, 20)
        self.references.setValue(5)
        self.seeds = QSpinBox()
        self.seeds.setRange(1, 100)
        self.seeds.setValue(3)
        self.seeds.setToolTip("reference draws per identity (seeds 0..N-1)")
        self.split = QComboBox()
        self.split.addItems(SPLITS)
        self.jobs = QSpinBox()
        self.jobs.setRange(1, max(1, os.cpu_count() or 1))
        self.methods = {m: QCheckBox(m) for m in DEFAULT_METHODS}
        for box in self.methods.values():
            box.setChecked(True)
        self.out_dir = QLineEdit()
        self.out_dir.setPlaceholderText(display_path(experiments_dir()) + "/<data folder name>")
        self.out_dir.setToolTip("where results.json, the plots and report.html go; empty: "
                                "your data folder's experiments/<data folder name>")
        self.browse_out = QPushButton("Browse...")
        self.run_button = QPushButton("Run experiment")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("experimentProgress")
        self._idle_progress()
        self.message = MessageLabel("experimentMessage")
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("experimentTable")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setFixedHeight(120)
        self.plots = {k: QLabel(f"{k.upper()} curves appear here after a run") for k in PLOTS}
        for kind, label in self.plots.items():
            label.setObjectName(f"{kind}Plot")
            label.setAlignment(Qt.AlignCenter)
            label.setMinimumHeight(120)

        form = QFormLayout()
        form.addRow("Data folder", _row(self.data_dir, self.browse_data))
        form.addRow("Format", self.format)
        form.addRow("References (K)", _row(self.references, QLabel("seeds"), self.seeds,
                                            QLabel("split"), self.split,
                                            QLabel("processes"), self.jobs))
        form.addRow("Methods", _row(*self.methods.values()))
        form.addRow("Output folder", _row(self.out_dir, self.browse_out))
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.addWidget(self.table)
        for label in self.plots.values():
            results_layout.addWidget(label, 1)
        self._pixmaps: dict[str, QPixmap] = {}
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(results)
        self.scroll = scroll
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(_row(self.run_button, self.cancel_button, self.progress, stretch=2))
        layout.addWidget(self.message)
        layout.addWidget(scroll, 1)

        self.browse_data.clicked.connect(lambda: self._choose_folder(self.data_dir))
        self.browse_out.clicked.connect(lambda: self._choose_folder(self.out_dir))
        self.data_dir.returnPressed.connect(self.run)
        self.out_dir.returnPressed.connect(self.run)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)

    def first_input(self) -> QWidget:
        return self.data_dir if not self.data_dir.text().strip() else self.run_button

    def _idle_progress(self) -> None:
        """An empty bar with no text until a run starts (not "0 of 100 identities")."""
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)

    def output_folder(self) -> Path:
        """Where the run writes: the folder typed (``~`` expanded; a relative one under the
        user's data folder), or ``experiments/<data folder name>`` there."""
        text = self.out_dir.text().strip()
        if text:
            return output_path(text)
        return experiments_dir() / (Path(self.data_dir.text().strip()).name or "experiment")

    # -- settings -------------------------------------------------------------------------
    def _choose_folder(self, edit: QLineEdit) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if path:
            edit.setText(path)

    def config(self) -> ExperimentConfig:
        """The run the form describes (validated by the harness when it starts)."""
        return ExperimentConfig(
            data_dir=Path(self.data_dir.text().strip()),
            format=self.format.currentData(),
            references=self.references.value(),
            seeds=tuple(range(self.seeds.value())),
            methods=tuple(m for m, box in self.methods.items() if box.isChecked()),
            split=self.split.currentText(),
            jobs=self.jobs.value())

    # -- running --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.thread is not None

    def run(self) -> None:
        if self.running:
            return
        if not self.data_dir.text().strip():
            self.message.show_message("choose the folder of recordings first", "bad")
            return
        cfg = self.config()
        if not cfg.methods:
            self.message.show_message("tick at least one method", "bad")
            return
        out = self.output_folder()
        self.out_dir.setText(display_path(out))
        self._clear_results()
        self.progress.setFormat("%v of %m identities")
        self.progress.setTextVisible(True)
        self.progress.setRange(0, 0)  # busy until the data set is loaded and counted
        self.message.show_message(f"loading {display_path(cfg.data_dir)} and running "
                                  f"{', '.join(cfg.methods)} into {display_path(out)}...")
        thread = ExperimentThread(cfg, out, self)
        thread.progress.connect(self._progress)
        thread.succeeded.connect(self._succeeded)
        thread.failed.connect(self._failed)
        thread.finished.connect(self._finished)
        self.thread = thread
        self._update_buttons()
        self.host.set_status(f"experiment on {display_path(cfg.data_dir)} running", self)
        thread.start()

    def cancel(self) -> None:
        if self.thread is not None:
            self.thread.cancel()
            self.message.show_message("cancelling after the identity in progress...", "warn")

    def shutdown(self, wait_ms: int) -> None:
        if self.thread is not None:
            self.thread.cancel()
            self.thread.wait(wait_ms)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _succeeded(self, results: Results, paths: dict[str, Path]) -> None:
        from authapp.harness.report import TABLE_HEADER, table_rows

        self.results, self.paths = results, dict(paths)
        rows = table_rows(results)
        self.table.setColumnCount(len(TABLE_HEADER))
        self.table.setHorizontalHeaderLabels(TABLE_HEADER)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                item = QTableWidgetItem(value)
                if j >= 2:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.table.setFixedHeight(self.table.horizontalHeader().height()
                                  + sum(self.table.rowHeight(i) for i in range(len(rows)))
                                  + self.table.horizontalScrollBar().sizeHint().height() + 6)
        self._pixmaps = {kind: QPixmap(str(paths[kind])) for kind in self.plots}
        for kind, label in self.plots.items():
            label.setToolTip(display_path(paths[kind]))
        self._fit_plots()
        wall = results.timing.wall_s
        took = f" in {wall:.1f} s" if isinstance(wall, (int, float)) else ""
        self.message.show_message(f"done{took}: {len(results.scored.identities)} "
                                  f"identities; report: {display_path(paths['html'])}", "ok")
        self.host.set_status("experiment finished", self)

    def _failed(self, message: str) -> None:
        cancelled = self.thread is not None and self.thread.cancelled
        self.progress.setRange(0, max(self.progress.maximum(), 1))
        self.message.show_message(message, "warn" if cancelled else "bad")
        self.host.set_status("experiment cancelled" if cancelled else "experiment failed", self)

    def _finished(self) -> None:
        thread, self.thread = self.thread, None
        if thread is not None:
            thread.deleteLater()
        self._update_buttons()

    def _fit_plots(self) -> None:
        """Each plot as large as the scroll area shows whole (never enlarged)."""
        view = self.scroll.viewport().size()
        box = QSize(max(view.width() - 30, 200), max(view.height() - 10, 150))
        for kind, label in self.plots.items():
            pixmap = self._pixmaps.get(kind)
            if pixmap is None or pixmap.isNull():
                continue
            if pixmap.width() > box.width() or pixmap.height() > box.height():
                pixmap = pixmap.scaled(box, Qt.KeepAspectRatio, Qt.SmoothTransformation)
            label.setPixmap(pixmap)
            label.setMinimumSize(pixmap.size())  # scroll rather than crop the plot

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_plots()

    def _clear_results(self) -> None:
        self.results, self.paths = None, {}
        self._pixmaps = {}
        self.table.setRowCount(0)
        for kind, label in self.plots.items():
            label.clear()
            label.setMinimumSize(0, 120)
            label.setText(f"{kind.upper()} curves appear here after a run")

    def _update_buttons(self) -> None:
        self.run_button.setEnabled(not self.running)
        self.cancel_button.setEnabled(self.running)


def _row(*widgets: QWidget, stretch: int = 0) -> QHBoxLayout:
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    if stretch:
        row.setStretchFactor(widgets[-1], stretch)
    return row
