"""Small shared widgets: coloured message lines and result banners."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QFontMetrics, QResizeEvent
from PyQt5.QtWidgets import QLabel, QSizePolicy, QWidget

COLOURS = {"ok": "#1b7a1b", "bad": "#b00020", "warn": "#a15c00", "info": "#333333"}


class MessageLabel(QLabel):
    """A wrapped, selectable one-paragraph message whose colour says what kind it is."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName(name)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        self.kind = "info"

    def show_message(self, text: str, kind: str = "info") -> None:
        self.kind = kind
        self.setStyleSheet(f"color: {COLOURS[kind]};")
        self.setText(text)
        self._fit_height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        """Reserve every wrapped line: layouts otherwise squeeze a long message to one."""
        h = self.heightForWidth(max(self.width(), 50)) if self.text() else 0
        if h >= 0 and h != self.minimumHeight():
            self.setMinimumHeight(h)

    def clear_message(self) -> None:
        self.show_message("", "info")


BANNER_POINTS = 30
"""The verdict's type size: readable from across a desk (about 1 cm tall on a laptop)."""


class Banner(QLabel):
    """A large result line (ACCEPTED / REJECTED ...) in white on a coloured background,
    readable from across a desk; it keeps its height when empty so nothing jumps."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName(name)
        self.setAlignment(Qt.AlignCenter)
        self.setWordWrap(True)
        font = self.font()
        font.setPointSize(BANNER_POINTS)
        font.setBold(True)
        self.setFont(font)
        self.setMinimumHeight(int(1.6 * QFontMetrics(font).height()))
        self.kind = "info"
        self.show_result("", "info")

    def show_result(self, text: str, kind: str) -> None:
        self.kind = kind
        bg = COLOURS[kind] if text else "transparent"
        self.setStyleSheet(f"background: {bg}; color: white; border-radius: 8px; "
                           "padding: 6px;")
        self.setText(text)
