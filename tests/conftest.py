"""Shared fixtures: where the real recordings are (read in place from ../shared/data)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
# No command starts a login service by itself here (it would outlive the test's store for a
# while); the tests of that start it on purpose (tests/test_login_service.py).
os.environ.setdefault("AIRAUTH_NO_SERVICE_START", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AIRAUTH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real recordings not found at {SHARED_DATA} (set AIRAUTH_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fmkit_dir(shared_data: Path) -> Path:
    return shared_data / "fmkit_leap"


@pytest.fixture(scope="session")
def svc_task1(shared_data: Path):
    """SVC2004 Task1, loaded once per test process (its recordings are immutable)."""
    from capture.datasets import load_dataset

    return load_dataset(shared_data / "svc2004_task1", "svc2004")


@pytest.fixture()
def u1_refs(svc_task1) -> list:
    """SVC2004 Task1 user U1's first five genuine samples (a fresh list per test)."""
    return svc_task1.genuine("U1")[:5]


@pytest.fixture(autouse=True)
def gui_preferences_in_tmp(tmp_path_factory, monkeypatch) -> Path:
    """The GUI's remembered window size and last store (QSettings) and its experiment
    output folder go to a temporary folder, never the developer's own (and no test sees
    another's)."""
    folder = tmp_path_factory.mktemp("gui-prefs")
    monkeypatch.setenv("XDG_DATA_HOME", str(folder / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
    if "PyQt5.QtCore" in sys.modules:  # (tests without Qt stay without it)
        from PyQt5.QtCore import QSettings

        QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder / "config"))
    return folder
