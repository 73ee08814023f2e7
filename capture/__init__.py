"""Trajectory sources, recording formats, segmentation and preprocessing."""

from capture.errors import AirAuthError, DeviceError, RecordingFormatError, TrajectoryError
from capture.trajectory import MIN_FRAMES, Label, Trajectory, TrajectoryMeta

__all__ = [
    "AirAuthError",
    "DeviceError",
    "RecordingFormatError",
    "TrajectoryError",
    "MIN_FRAMES",
    "Label",
    "Trajectory",
    "TrajectoryMeta",
]
