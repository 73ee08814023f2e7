"""AirAuth's own recording format: one ``.npz`` with a JSON header and plain float arrays.

Versioned and self-describing (format name, version, metadata, channel names live in the
header), loaded with ``allow_pickle=False`` so a file from an untrusted place can at worst fail
with a clear error, never run code. Writes are atomic: a temp file in the target folder is
fsynced and then renamed over the target, so a crash never leaves a half-written recording.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from capture.errors import AirAuthError, RecordingFormatError, TrajectoryError
from capture.trajectory import Trajectory, TrajectoryMeta

FORMAT_NAME = "airauth-recording"
VERSION = 1
MAGIC = b"PK\x03\x04"
"""A native recording is a zip archive (npz); this is how auto-detection recognises it."""

_HEADER = "header"
_MAX_BYTES = 1 << 30
"""Refuse archives that claim more than 1 GiB uncompressed: no recording is that big."""


class RecordingWriteError(AirAuthError, OSError):
    """A recording could not be written (folder missing, no permission, disk full)."""


def json_default(value: Any) -> Any:
    """``json.dumps`` hook: numpy scalars/arrays and paths as plain JSON; anything else is a
    caller bug."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def encode_recording(traj: Trajectory) -> bytes:
    """The bytes of ``traj`` in the native format (header + arrays, compressed npz)."""
    names = list(traj.channels)
    header = {
        "format": FORMAT_NAME,
        "version": VERSION,
        "frames": len(traj),
        "dims": traj.dims,
        "channels": names,
        "meta": traj.meta.to_dict(),
    }
    try:
        header_bytes = json.dumps(header, default=json_default).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TrajectoryError(f"recording metadata cannot be stored: {exc}") from exc
    arrays: dict[str, np.ndarray] = {
        _HEADER: np.frombuffer(header_bytes, dtype=np.uint8),
        "t": np.asarray(traj.t, dtype=np.float64),
        "positions": np.asarray(traj.positions, dtype=np.float64),
    }
    for i, name in enumerate(names):
        arrays[f"ch{i}"] = np.asarray(traj.channels[name], dtype=np.float64)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def atomic_write_bytes(data: bytes, path: str | os.PathLike[str]) -> None:
    """Write ``data`` to ``path`` all-or-nothing (temp file + fsync + rename in the same folder)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise RecordingWriteError(f"cannot write {target}: folder {folder} does not exist")
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp makes 0600; give a normal file's mode
        os.replace(tmp_name, target)
        tmp_name = None
        _fsync_dir(folder)
    except OSError as exc:
        raise RecordingWriteError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable; not possible on every platform, so best effort."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_native(traj: Trajectory, path: str | os.PathLike[str]) -> None:
    """Write ``traj`` to ``path`` in the native format, atomically."""
    if not isinstance(traj, Trajectory):
        raise TypeError(f"expected a Trajectory, got {type(traj).__name__}")
    atomic_write_bytes(encode_recording(traj), path)


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
        if total > _MAX_BYTES:
            raise RecordingFormatError(f"{path}: archive too large to be a recording")
        with np.load(path, allow_pickle=False) as npz:
            return {k: np.asarray(npz[k]) for k in npz.files}
    except RecordingFormatError:
        raise
    except Exception as exc:  # any parse failure of foreign bytes is a format error
        reason = str(exc) or type(exc).__name__
        raise RecordingFormatError(f"{path}: corrupt or truncated recording ({reason})") from exc


def read_native(path: str | os.PathLike[str]) -> Trajectory:
    """Load a native recording; ``RecordingFormatError`` for anything that is not a valid one."""
    p = Path(path)
    if not p.is_file():
        raise RecordingFormatError(f"{p}: no such file")
    arrays = _read_arrays(p)
    if _HEADER not in arrays:
        raise RecordingFormatError(f"{p}: not an AirAuth recording (no header)")
    raw = arrays.pop(_HEADER)
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise TypeError("header is not a byte string")
        header = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(header, dict):
            raise TypeError("header is not an object")
    except (TypeError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise RecordingFormatError(f"{p}: recording header is corrupt ({exc})") from exc
    if header.get("format") != FORMAT_NAME:
        raise RecordingFormatError(
            f"{p}: not an AirAuth recording (format {header.get('format')!r})"
        )
    if header.get("version") != VERSION:
        raise RecordingFormatError(
            f"{p}: recording format version {header.get('version')!r} is not supported "
            f"(this AirAuth reads version {VERSION})"
        )
    names = header.get("channels", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RecordingFormatError(f"{p}: recording header has a bad channel list")
    missing = [
        k for k in ["t", "positions"] + [f"ch{i}" for i in range(len(names))] if k not in arrays
    ]
    if missing:
        raise RecordingFormatError(f"{p}: recording is missing arrays {missing}")
    for key, arr in arrays.items():
        if not np.issubdtype(arr.dtype, np.number):
            raise RecordingFormatError(f"{p}: array {key!r} is not numeric ({arr.dtype})")
    try:
        meta = TrajectoryMeta.from_dict(header.get("meta") or {})
        traj = Trajectory(
            t=arrays["t"],
            positions=arrays["positions"],
            channels={n: arrays[f"ch{i}"] for i, n in enumerate(names)},
            meta=meta,
        )
    except (TrajectoryError, TypeError, AttributeError) as exc:
        raise RecordingFormatError(f"{p}: invalid recording data: {exc}") from exc
    if header.get("frames") not in (None, len(traj)):
        raise RecordingFormatError(
            f"{p}: header says {header.get('frames')} frames but the file holds {len(traj)}"
        )
    return traj


def is_native(head: bytes) -> bool:
    """Whether the first bytes of a file look like a native recording (a zip archive)."""
    return head.startswith(MAGIC)
