"""The one npz + JSON container of the product: named numeric arrays plus a JSON header.

Recordings (``capture.formats.native``), fitted verifiers and pseudo-data generators
(``models.serialization``) and cached network weights (``models.nn.cache``) are all
stored this way: compressed ``.npz`` bytes whose header is a UTF-8 JSON document kept as a
uint8 array under a reserved name. Never pickle: object arrays are refused when writing and
``allow_pickle=False`` when reading, so a file from an untrusted place can at worst fail to
load with a clear error, never run code.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

HEADER = "__header__"
MAX_UNPACKED_BYTES = 2 << 30
"""Most bytes the members of one container may decompress to together (models and cached
network weights are tens of MB): checked from the zip directory before anything is read."""
"""Where models and caches keep their header (recordings use "header": an older layout)."""


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


def pack_npz(header: Mapping[str, Any], arrays: Mapping[str, Any],
             header_name: str = HEADER) -> bytes:
    """Compressed npz bytes: ``header`` as JSON under ``header_name``, then ``arrays``.

    Object arrays are refused (loading them would need pickle); a header that is not plain
    JSON raises ``TypeError`` / ``ValueError``.
    """
    if header_name in arrays:
        raise ValueError(f"array name {header_name!r} is reserved")
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in payload.items():
        if v.dtype == object:
            raise ValueError(f"array {k!r} has dtype object: not serializable safely")
    text = json.dumps(header, default=json_default).encode("utf-8")
    buf = io.BytesIO()
    np.savez_compressed(buf, **{header_name: np.frombuffer(text, dtype=np.uint8)}, **payload)
    return buf.getvalue()


def decode_header(raw: np.ndarray) -> dict[str, Any]:
    """The JSON object stored in a header array; ``ValueError`` saying why it is not one."""
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError("header is not a byte string")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from exc
    if isinstance(header, dict):
        return header
    raise ValueError("header is not an object")


def unpacked_size(source: bytes | str | os.PathLike[str]) -> int:
    """Bytes the members of a zip archive declare they decompress to (its directory only;
    ``zipfile`` never reads more than a member declares)."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    with zipfile.ZipFile(stream) as zf:
        return sum(i.file_size for i in zf.infolist())


def unpack_npz(source: bytes | str | os.PathLike[str], what: str, error: type[Exception],
               short: str | None = None, max_bytes: int = MAX_UNPACKED_BYTES
               ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, arrays) of ``pack_npz`` output (bytes or a file), never unpickling.

    Anything unreadable raises ``error`` with a message naming ``what`` the file should be
    (``short``: the same in fewer words, default ``what``); so does an archive whose members
    would decompress to more than ``max_bytes``, before any is read.
    """
    short = short or what
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        total = unpacked_size(source)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise error(f"not a readable {what} file ({exc})") from exc
    if total > max_bytes:
        raise error(f"{short} file would decompress to {total / 2**20:.0f} MiB (at most "
                    f"{max_bytes >> 20} MiB)")
    try:
        with np.load(stream, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise error(f"not a readable {what} file ({exc})") from exc
    if HEADER not in arrays:
        raise error(f"{short} file has no header")
    try:
        header = decode_header(arrays.pop(HEADER))
    except ValueError as exc:
        raise error(f"{short} header is corrupt") from exc
    return header, arrays
