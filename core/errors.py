"""Exception types shared by the whole product.

Every error a user can cause (bad file, bad data, missing device) derives from
``AirAuthError`` so that the CLI and GUI can show its message instead of a stack trace.
"""


class AirAuthError(Exception):
    """Base class of all errors that carry a message meant for the user."""


class TrajectoryError(AirAuthError, ValueError):
    """A trajectory's data is invalid (NaNs, non-increasing time, too short, bad shapes)."""


class RecordingFormatError(AirAuthError, ValueError):
    """A file is not a readable recording (corrupt, truncated, wrong version, wrong format)."""


class DeviceError(AirAuthError, RuntimeError):
    """The capture device is missing, not installed, or disconnected."""
