"""Safe persistence of fitted verifiers: one ``.npz`` holding named arrays plus a JSON header.

No pickle anywhere (``allow_pickle=False`` on load): a store file from an untrusted place can
at worst fail to load with a clear error, never run code. The file kind is a
``models.persistence.StateFile``, the same machinery the pseudo-data generators use.
"""

from __future__ import annotations

from core.errors import AirAuthError
from models.base import Verifier
from models.persistence import StateFile
from models.registry import VERIFIERS

FORMAT = "airauth-verifier"
VERSION = 1


class ModelFormatError(AirAuthError, ValueError):
    """Bytes that are not a readable fitted verifier."""


VERIFIER_FILE = StateFile(FORMAT, VERSION, VERIFIERS, ModelFormatError, "model", "model")


def dump_verifier(verifier: Verifier) -> bytes:
    """Serialize a fitted verifier to bytes (npz: arrays + a JSON header)."""
    return VERIFIER_FILE.dump(verifier)


def load_verifier(data: bytes) -> Verifier:
    """Inverse of ``dump_verifier``; raises ``ModelFormatError`` for anything unreadable."""
    return VERIFIER_FILE.load(data)
