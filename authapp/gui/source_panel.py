"""Choosing where gestures come from: the live Leap Motion, replayed recording files, or the
mouse on a drawing pad."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from authapp.gui.capture import SourceSpec, short_names
from authapp.gui.drawing_pad import DrawingPad
from authapp.gui.widgets import MessageLabel
from authapp.gui.workers import error_message
from capture.leap_adapter import HAND_PREFERENCES, import_binding

RECORDING_FILTER = "Recordings (*.npz *.txt *.csv *.TXT *.CSV);;All files (*)"


class SourcePanel(QGroupBox):
    """Source choice plus the replay queue. For a replay, a capture of ``n`` samples takes
    the next ``n`` files from the current row, which then moves past them."""

    changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Trajectory source", parent)
        self.live = QRadioButton("Live Leap Motion")
        self.replay = QRadioButton("Replay recording files")
        self.replay.setChecked(True)
        self.draw = QRadioButton("Draw with the mouse (2-D, no device needed)")
        group = QButtonGroup(self)
        group.addButton(self.live)
        group.addButton(self.replay)
        group.addButton(self.draw)
        self.hand = QComboBox()
        self.hand.addItems(HAND_PREFERENCES)
        self.files = QListWidget()
        self.files.setSelectionMode(QListWidget.SingleSelection)
        self.files.setMaximumHeight(110)
        self.files.setToolTip("The highlighted file is replayed next; a multi-sample capture "
                              "takes the following files in order. Click a file to pick it.")
        self.add_button = QPushButton("Add files...")
        self.remove_button = QPushButton("Remove")
        self.clear_button = QPushButton("Clear")
        self.realtime = QCheckBox("real-time replay")
        self.realtime.setChecked(True)
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.25, 8.0)
        self.speed.setSingleStep(0.5)
        self.speed.setValue(2.0)
        self.speed.setSuffix(" x")
        self.message = MessageLabel("sourceMessage")

        live_row = QHBoxLayout()
        live_row.addWidget(self.live)
        live_row.addStretch(1)
        live_row.addWidget(QLabel("hand"))
        live_row.addWidget(self.hand)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.clear_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.realtime)
        buttons.addWidget(self.speed)
        self.replay_box = QWidget()  # hidden while live: room for the device's messages
        replay_layout = QVBoxLayout(self.replay_box)
        replay_layout.setContentsMargins(0, 0, 0, 0)
        replay_layout.addWidget(self.files)
        replay_layout.addLayout(buttons)
        self.pad = DrawingPad()
        self.done_button = QPushButton("Done")
        self.done_button.setToolTip("end this sample (Enter)")
        self.done_button.setShortcut(Qt.Key_Return)
        self.redraw_button = QPushButton("Clear pad")
        self.draw_box = QWidget()  # shown only for the drawing source
        draw_layout = QVBoxLayout(self.draw_box)
        draw_layout.setContentsMargins(0, 0, 0, 0)
        draw_layout.addWidget(self.pad, 1)
        draw_buttons = QHBoxLayout()
        draw_buttons.addStretch(1)
        draw_buttons.addWidget(self.redraw_button)
        draw_buttons.addWidget(self.done_button)
        draw_layout.addLayout(draw_buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(live_row)
        layout.addWidget(self.replay)
        layout.addWidget(self.replay_box)
        layout.addWidget(self.draw)
        layout.addWidget(self.draw_box, 1)
        layout.addWidget(self.message)

        self.live.toggled.connect(self._source_changed)
        self.draw.toggled.connect(self._source_changed)
        self.redraw_button.clicked.connect(self.pad.clear)
        self.add_button.clicked.connect(self.choose_files)
        self.remove_button.clicked.connect(self._remove_current)
        self.clear_button.clicked.connect(lambda: self.set_replay_files([]))
        self.realtime.toggled.connect(self.speed.setEnabled)
        self._source_changed()

    # -- state ----------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        if self.live.isChecked():
            return "leap"
        return "draw" if self.draw.isChecked() else "replay"

    def replay_files(self) -> list[str]:
        return [self.files.item(i).data(Qt.UserRole) for i in range(self.files.count())]

    def set_replay_files(self, paths: Sequence[str | Path], select: int = 0) -> None:
        """Replace the replay queue (and switch to replay)."""
        self.files.clear()
        for p in paths:
            self._add_item(str(p))
        self._relabel()
        if self.files.count():
            self.files.setCurrentRow(max(0, min(select, self.files.count() - 1)))
        self.replay.setChecked(True)
        self.changed.emit()

    def add_replay_files(self, paths: Sequence[str | Path]) -> None:
        first_new = self.files.count()
        for p in paths:
            self._add_item(str(p))
        self._relabel()
        if self.files.currentRow() < 0 and self.files.count() > first_new:
            self.files.setCurrentRow(first_new)
        if paths:
            self.replay.setChecked(True)
        self.changed.emit()

    def _add_item(self, path: str) -> None:
        item = QListWidgetItem(Path(path).name)
        item.setData(Qt.UserRole, path)
        item.setToolTip(path)
        self.files.addItem(item)

    def _relabel(self) -> None:
        """Name every file so that no two look alike (``u16/1.csv``, ``u20/1.csv``)."""
        for i, name in enumerate(short_names(self.replay_files())):
            self.files.item(i).setText(name)

    def select_file(self, row: int) -> None:
        self.files.setCurrentRow(row)

    def spec(self, n: int) -> SourceSpec:
        """The source of the next ``n`` samples."""
        if self.kind in ("leap", "draw"):
            return SourceSpec(kind=self.kind, hand=self.hand.currentText())
        row = self.files.currentRow()
        start = row if row >= 0 else self.files.count()  # nothing highlighted: nothing left
        return SourceSpec(kind="replay", files=tuple(self.replay_files()[start:start + n]),
                          realtime=self.realtime.isChecked(), speed=self.speed.value())

    def advance(self, k: int) -> None:
        """Move the replay cursor past ``k`` used files; past the end nothing is highlighted
        (a further capture then asks for a file instead of silently replaying one again)."""
        if self.kind == "replay" and self.files.currentRow() >= 0:
            row = self.files.currentRow() + k
            self.files.setCurrentRow(row if row < self.files.count() else -1)

    def set_capturing(self, capturing: bool) -> None:
        """No change of source mid-capture; the pad (and its buttons) stay usable."""
        for w in (self.live, self.replay, self.draw, self.hand, self.replay_box):
            w.setEnabled(not capturing)
        if not capturing:
            self.hand.setEnabled(self.live.isChecked())
        self.done_button.setEnabled(capturing and self.kind == "draw")
        self.redraw_button.setEnabled(capturing and self.kind == "draw")

    # -- messages -------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.message.show_message(text, "bad")

    def show_info(self, text: str) -> None:
        self.message.show_message(text, "info")

    # -- slots ----------------------------------------------------------------------------
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Recordings to replay", "",
                                                RECORDING_FILTER)
        if paths:
            self.add_replay_files(paths)

    def _remove_current(self) -> None:
        row = self.files.currentRow()
        if row >= 0:
            self.files.takeItem(row)
            self._relabel()
            self.changed.emit()

    def _source_changed(self) -> None:
        live = self.live.isChecked()
        self.hand.setEnabled(live)
        self.replay_box.setVisible(self.replay.isChecked())
        self.draw_box.setVisible(self.draw.isChecked())
        self.speed.setEnabled(self.realtime.isChecked())
        if live:
            self.check_live()
        else:
            self.show_info("")
        self.changed.emit()

    def check_live(self) -> bool:
        """Probe the Leap binding now so a missing installation is explained before use."""
        try:
            import_binding()
        except Exception as exc:  # noqa: BLE001 - DeviceError, or the binding's own failure
            self.show_error(error_message(exc))
            return False
        self.show_info("Leap Motion binding found; the device connects when a capture starts.")
        return True
