"""What the GUI remembers between runs (window size, last store) and where it writes.

Qt's ``QSettings`` in an INI file under the user's configuration folder
(``~/.config/AirAuth/gui.ini``); tests point it at a temporary folder with
``QSettings.setPath``. Experiment output goes under the user's data folder
(``~/.local/share/airauth/experiments``), never relative to wherever the GUI was started.
"""

from __future__ import annotations

import os
from pathlib import Path

from PyQt5.QtCore import QByteArray, QSettings, QStandardPaths

ORGANIZATION, NAME = "AirAuth", "gui"


def preferences() -> QSettings:
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANIZATION, NAME)


def last_store() -> Path | None:
    """The store the GUI had open last time, if it still exists."""
    value = preferences().value("store/last", "", type=str)
    path = Path(value) if value else None
    return path if path is not None and path.is_dir() else None


def remember(store: Path, geometry: QByteArray) -> None:
    prefs = preferences()
    prefs.setValue("store/last", str(Path(store).resolve()))
    prefs.setValue("window/geometry", geometry)
    prefs.sync()


def window_geometry() -> QByteArray | None:
    value = preferences().value("window/geometry")
    return value if isinstance(value, QByteArray) and not value.isEmpty() else None


def experiments_dir() -> Path:
    """Where the Experiments tab writes unless told otherwise (the user's data folder)."""
    base = QStandardPaths.writableLocation(QStandardPaths.GenericDataLocation)
    return Path(base or Path.home() / ".local" / "share") / "airauth" / "experiments"


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a person reads it: the home folder as ``~``."""
    text, home = str(path), str(Path.home())
    if text == home or text.startswith(home.rstrip(os.sep) + os.sep):
        return "~" + text[len(home.rstrip(os.sep)):]
    return text


def output_path(text: str) -> Path:
    """An output folder a person typed: ``~`` expanded, a relative one under
    ``experiments_dir`` (not under wherever the GUI happened to be started)."""
    path = Path(os.path.expanduser(text.strip()))
    return path if path.is_absolute() else experiments_dir() / path
