"""Shared fixtures: where the real recordings are (read in place from ../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")

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
