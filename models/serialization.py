"""Safe persistence of fitted verifiers: one ``.npz`` holding named arrays plus a JSON header.

No pickle anywhere (``allow_pickle=False`` on load): a store file from an untrusted place can
at worst fail to load with a clear error, never run code.
"""

from __future__ import annotations

from capture.container import pack_npz, unpack_npz
from capture.errors import AirAuthError
from models.base import Verifier

FORMAT = "airauth-verifier"
VERSION = 1


class ModelFormatError(AirAuthError, ValueError):
    """Bytes that are not a readable fitted verifier."""


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
