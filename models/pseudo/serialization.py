"""Safe persistence of fitted pseudo-data generators: one ``.npz`` of named arrays plus a JSON
header naming the generator by its registry name (``models.pseudo.registry``).

The generators' counterpart of ``models.serialization``: the same ``StateFile`` machinery,
never pickle, so a file from an untrusted place can at worst fail to load with a clear error.
"""

from __future__ import annotations

from models.persistence import StateFile
from models.pseudo.base import PseudoDataError, PseudoGenerator
from models.pseudo.registry import GENERATORS

FORMAT = "airauth-pseudo-generator"
VERSION = 1

GENERATOR_FILE = StateFile(FORMAT, VERSION, GENERATORS, PseudoDataError, "pseudo-data generator",
                           "generator", ": retrain it")


def dump_generator(gen: PseudoGenerator) -> bytes:
    """Serialize a fitted generator to bytes (npz: arrays + a JSON header with a version)."""
    return GENERATOR_FILE.dump(gen)


def load_generator(data: bytes) -> PseudoGenerator:
    """Inverse of ``dump_generator``; ``PseudoDataError`` for anything unreadable or stale."""
    return GENERATOR_FILE.load(data)
