"""AirAuth's own recording format: one ``.npz`` with a JSON header and plain float arrays.

Versioned and self-describing (format name, version, metadata, channel names live in the
header), loaded with ``allow_pickle=False`` so a file from an untrusted place can at worst fail
with a clear error, never run code. Writes are atomic: a temp file in the target folder is
fsynced and then renamed over the target (``core.files.atomic_write``), so a crash never
leaves a half-written recording; the container is ``capture.container``'s npz + JSON.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from capture.container import decode_header, pack_npz
from capture.formats._text import MAX_ROWS
from capture.trajectory import Trajectory, TrajectoryMeta
from core.errors import AirAuthError, RecordingFormatError, TrajectoryError
from core.files import atomic_write

FORMAT_NAME = "airauth-recording"
VERSION = 1
MAGIC = b"PK\x03\x04"
"""A native recording is a zip archive (npz); this is how auto-detection recognises it."""

_HEADER = "header"
MAX_FILE_BYTES = 64 << 20
"""Largest native recording opened (64 MiB; a two-minute recording is well under 1 MB)."""
MAX_MEMBERS = 64
"""Most archive members: header, t, positions and a few channels (checked before parsing)."""
MAX_HEADER_BYTES = 1 << 20
MAX_CHANNELS = 32
MAX_COLUMNS = 64
"""Most values per frame in one array (a channel such as ``palm`` has 3)."""
MAX_CHANNEL_COLUMNS = 16
"""Most values per frame of one channel (``palm`` 3, a quaternion 4): checked from each
member's header before its data are read."""
MAX_DECOMPRESSED_BYTES = 64 << 20
"""Most bytes all members together may decompress to (a two-minute recording with a few
channels is a few MB): a small archive of highly compressible members is refused from its
directory before anything is decompressed."""


class RecordingWriteError(AirAuthError, OSError):
    """A recording could not be written (folder missing, no permission, disk full)."""


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
    arrays: dict[str, np.ndarray] = {
        "t": np.asarray(traj.t, dtype=np.float64),
        "positions": np.asarray(traj.positions, dtype=np.float64),
    }
    for i, name in enumerate(names):
        arrays[f"ch{i}"] = np.asarray(traj.channels[name], dtype=np.float64)
    try:
        return pack_npz(header, arrays, header_name=_HEADER)
    except (TypeError, ValueError) as exc:
        raise TrajectoryError(f"recording metadata cannot be stored: {exc}") from exc


RECORDING_MODE = 0o600
"""Permission bits of a written recording: owner only (a recording is biometric data)."""


def save_native(traj: Trajectory, path: str | os.PathLike[str]) -> None:
    """Write ``traj`` to ``path`` in the native format, atomically, readable by its owner
    only (``RECORDING_MODE``)."""
    if not isinstance(traj, Trajectory):
        raise TypeError(f"expected a Trajectory, got {type(traj).__name__}")
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise RecordingWriteError(f"cannot write {target}: folder {folder} does not exist")
    data = encode_recording(traj)
    try:
        atomic_write(target, data, mode=RECORDING_MODE)
    except OSError as exc:
        raise RecordingWriteError(f"cannot write {target}: {exc.strerror or exc}") from exc


def _zip_member_count(fh: IO[bytes], path: Path, size: int) -> int:
    """Number of members a zip archive declares, read from its end record alone.

    ``zipfile`` parses the whole central directory on opening (seconds for 200,000 members),
    so the count is checked first from the 22-byte end-of-central-directory record.
    """
    tail_len = min(size, 22 + 0xFFFF)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    fh.seek(0)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + 22 > len(tail):
        raise RecordingFormatError(f"{path}: corrupt or truncated recording (no zip directory)")
    return int.from_bytes(tail[pos + 10:pos + 12], "little")


def _member_array(zf: zipfile.ZipFile, name: str, path: Path, max_rows: int,
                  max_columns: int = MAX_COLUMNS, rows: int | None = None) -> np.ndarray:
    """One ``.npy`` member, its header checked (real numbers, at most 2-D, at most
    ``max_columns`` wide, ``rows`` rows when given, bounded size) before any data is read."""
    try:
        info = zf.getinfo(name + ".npy")
    except KeyError:
        raise RecordingFormatError(f"{path}: recording is missing array {name!r}") from None
    limit = MAX_HEADER_BYTES if name == _HEADER else max_rows * MAX_COLUMNS * 8
    if info.file_size > limit + 4096:
        raise RecordingFormatError(f"{path}: array {name!r} is too large for a recording")
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    if dtype.kind not in "fiu" or dtype.hasobject:
        raise RecordingFormatError(f"{path}: array {name!r} is not real-valued ({dtype})")
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] > max_columns) \
            or shape[0] > (limit if name == _HEADER else max_rows) \
            or (rows is not None and shape[0] != rows):
        raise RecordingFormatError(f"{path}: array {name!r} has an unusable shape {shape}")
    with zf.open(info) as fh:
        return np.lib.format.read_array(fh, allow_pickle=False)


def _read_arrays(path: Path, data: bytes | None = None
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, arrays) of a native recording (the file ``path``, or ``data`` when given:
    ``path`` then only names it); only the members the format defines are read."""
    try:
        fh: IO[bytes] = open(path, "rb") if data is None else io.BytesIO(data)  # noqa: SIM115
    except OSError as exc:
        raise RecordingFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    with fh:
        return _parse_archive(fh, path)


def _parse_archive(fh: IO[bytes], path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(0)
        if size > MAX_FILE_BYTES:
            raise RecordingFormatError(
                f"{path}: file is {size / 2**20:.0f} MiB, larger than any recording (at most "
                f"{MAX_FILE_BYTES >> 20} MiB)")
        if _zip_member_count(fh, path, size) > MAX_MEMBERS:
            raise RecordingFormatError(f"{path}: archive has too many members to be a recording")
        with zipfile.ZipFile(fh) as zf:
            if len(zf.infolist()) > MAX_MEMBERS:
                raise RecordingFormatError(
                    f"{path}: archive has too many members to be a recording")
            if _HEADER + ".npy" not in zf.namelist():
                raise RecordingFormatError(f"{path}: not an AirAuth recording (no header)")
            header = _parse_header(_member_array(zf, _HEADER, path, MAX_ROWS), path)
            names = header.get("channels", [])
            if not isinstance(names, list) or len(names) > MAX_CHANNELS \
                    or not all(isinstance(n, str) for n in names):
                raise RecordingFormatError(f"{path}: recording header has a bad channel list")
            wanted = ["t", "positions"] + [f"ch{i}" for i in range(len(names))]
            missing = [k for k in wanted if k + ".npy" not in zf.namelist()]
            if missing:
                raise RecordingFormatError(f"{path}: recording is missing arrays {missing}")
            total = sum(zf.getinfo(k + ".npy").file_size for k in wanted)
            if total > MAX_DECOMPRESSED_BYTES:
                raise RecordingFormatError(
                    f"{path}: archive is too large for a recording: it would decompress to "
                    f"{total / 2**20:.0f} MiB (at most {MAX_DECOMPRESSED_BYTES >> 20} MiB)")
            frames = header.get("frames")
            rows = frames if isinstance(frames, int) and not isinstance(frames, bool) else None
            arrays = {k: _member_array(zf, k, path, MAX_ROWS,
                                       MAX_CHANNEL_COLUMNS if k.startswith("ch") else MAX_COLUMNS,
                                       rows) for k in wanted}
        return header, arrays
    except RecordingFormatError:
        raise
    except Exception as exc:  # any parse failure of foreign bytes is a format error
        reason = str(exc) or type(exc).__name__
        raise RecordingFormatError(f"{path}: corrupt or truncated recording ({reason})") from exc


def _parse_header(raw: np.ndarray, path: Path) -> dict[str, Any]:
    try:
        header = decode_header(raw)
    except ValueError as exc:
        raise RecordingFormatError(f"{path}: recording header is corrupt ({exc})") from exc
    if header.get("format") != FORMAT_NAME:
        raise RecordingFormatError(
            f"{path}: not an AirAuth recording (format {_short(header.get('format'))})")
    if header.get("version") != VERSION:
        raise RecordingFormatError(
            f"{path}: recording format version {_short(header.get('version'))} is not "
            f"supported (this AirAuth reads version {VERSION})")
    return header


def read_native(path: str | os.PathLike[str], data: bytes | None = None) -> Trajectory:
    """Load a native recording; ``RecordingFormatError`` for anything that is not a valid one.

    With ``data``, decode those bytes (already read and checked by the caller) instead of
    reading ``path``, which then only names them in messages.
    """
    p = Path(path)
    if data is None and not p.is_file():
        raise RecordingFormatError(f"{p}: no such file")
    header, arrays = _read_arrays(p, data)
    names = header.get("channels", [])
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


def _short(value: Any) -> str:
    """``repr`` of a header value, cut short (a crafted header may hold megabytes)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_native(head: bytes) -> bool:
    """Whether the first bytes of a file look like a native recording (a zip archive)."""
    return head.startswith(MAGIC)
