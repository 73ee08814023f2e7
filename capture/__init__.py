"""Trajectory sources, recording formats, segmentation and preprocessing.

The names below are loaded on first use (PEP 562), so that importing ``capture`` for its
error types (re-exported from ``core.errors``, where they live) does not import numpy
through ``capture.trajectory``.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "MIN_FRAMES": "capture.trajectory",
    "AirAuthError": "core.errors",
    "DeviceError": "core.errors",
    "Label": "capture.trajectory",
    "RecordingFormatError": "core.errors",
    "Trajectory": "capture.trajectory",
    "TrajectoryError": "core.errors",
    "TrajectoryMeta": "capture.trajectory",
}

__all__ = [
    "MIN_FRAMES", "AirAuthError", "DeviceError", "Label", "RecordingFormatError", "Trajectory",
    "TrajectoryError", "TrajectoryMeta",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'capture' has no attribute {name!r}")
