"""Trajectory sources, recording formats, segmentation and preprocessing."""

from capture.errors import AirAuthError, DeviceError, RecordingFormatError, TrajectoryError
from capture.trajectory import MIN_FRAMES, Label, Trajectory, TrajectoryMeta

__all__ = [
    "MIN_FRAMES",
    "AirAuthError",
    "DeviceError",
    "Label",
    "RecordingFormatError",
    "Trajectory",
    "TrajectoryError",
    "TrajectoryMeta",
]
