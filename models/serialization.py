"""Safe persistence of fitted verifiers: one ``.npz`` holding named arrays plus a JSON header.

No pickle anywhere (``allow_pickle=False`` on load): a store file from an untrusted place can
at worst fail to load with a clear error, never run code.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from capture.errors import AirAuthError
from models.base import Verifier

FORMAT = "airauth-verifier"
VERSION = 1
_HEADER = "__header__"


class ModelFormatError(AirAuthError, ValueError):
    """Bytes that are not a readable fitted verifier."""


def pack_npz(header: Mapping[str, Any], arrays: Mapping[str, Any]) -> bytes:
    """Compressed npz bytes of ``arrays`` plus ``header`` as JSON under a reserved name.

    Shared by every persisted model artifact (verifiers, pseudo-data generators, cached
    network weights); object arrays are refused because loading them would need pickle.
    """
    if _HEADER in arrays:
        raise ValueError(f"array name {_HEADER!r} is reserved")
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in payload.items():
        if v.dtype == object:
            raise ValueError(f"array {k!r} has dtype object: not serializable safely")
    payload[_HEADER] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **payload)
    return buf.getvalue()


def unpack_npz(source: bytes | str | os.PathLike[str], what: str, error: type[Exception],
               short: str | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, arrays) of ``pack_npz`` output (bytes or a file), never unpickling.

    Anything unreadable raises ``error`` with a message naming ``what`` the file should be
    (``short``: the same in fewer words, default ``what``).
    """
    short = short or what
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with np.load(stream, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise error(f"not a readable {what} file ({exc})") from exc
    if _HEADER not in arrays:
        raise error(f"{short} file has no header")
    try:
        header = json.loads(arrays.pop(_HEADER).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{short} header is corrupt") from exc
    if not isinstance(header, dict):
        raise error(f"{short} header is corrupt")
    return header, arrays


def dump_verifier(verifier: Verifier) -> bytes:
    """Serialize a fitted verifier to bytes (npz: arrays + a JSON header)."""
    from models.registry import name_of

    params, arrays = verifier.get_state()
    header = {"format": FORMAT, "version": VERSION, "kind": name_of(verifier), "params": params}
    return pack_npz(header, arrays)


def load_verifier(data: bytes) -> Verifier:
    """Inverse of ``dump_verifier``; raises ``ModelFormatError`` for anything unreadable."""
    from models.registry import verifier_class

    header, arrays = unpack_npz(data, "model", ModelFormatError)
    if header.get("format") != FORMAT:
        raise ModelFormatError("file is not an AirAuth model")
    if header.get("version") != VERSION:
        raise ModelFormatError(
            f"model format version {header.get('version')} is not supported (expected {VERSION})"
        )
    cls = verifier_class(str(header.get("kind")))
    try:
        return cls.from_state(header.get("params", {}), arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFormatError(f"model file is inconsistent: {exc}") from exc
