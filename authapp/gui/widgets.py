"""Small shared widgets: coloured message lines and result banners."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QResizeEvent
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


class Banner(QLabel):
    """A large result line (ACCEPTED / REJECTED ...) on a coloured background."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName(name)
        self.setAlignment(Qt.AlignCenter)
        self.setMinimumHeight(44)
        self.kind = "info"
        self.show_result("", "info")

    def show_result(self, text: str, kind: str) -> None:
        self.kind = kind
        bg = COLOURS[kind] if text else "transparent"
        self.setStyleSheet(f"background: {bg}; color: white; font-size: 18pt; "
                           "font-weight: bold; border-radius: 6px; padding: 4px;")
        self.setText(text)
