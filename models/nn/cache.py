"""On-disk cache of trained network weights (versioned npz + JSON header, never pickle).

Shared by the pseudo-data generators (EfficientNet embedding, inpainting networks) and the
one-class verifiers' pretrained detectors. Training such a network takes minutes on this CPU;
enrollment must take seconds. So the trained weights are kept in a folder the caller chooses
(the store's folder in the product, a temp or output folder in experiments and tests; nothing
is written unless a folder is given or ``$AIRAUTH_PSEUDO_CACHE`` names one). A file's name carries

- the *family*: a hash of everything that shapes the network except the data (format
  version, embedding parameters, training recipe, dimensionality), and
- the *data key*: a hash of the background corpus and the pretraining seed.

An exact hit (same family and data) is always safe to use. ``newest(family)`` serves the
product's enrollment: the background grows by one user per enrollment, and re-training for
each would cost minutes, so the newest network of the same family is reused (its SH-SVM
negatives are still recomputed from the current background).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from capture.container import pack_npz, unpack_npz
from core.files import atomic_write

CACHE_ENV = "AIRAUTH_PSEUDO_CACHE"
FORMAT = "airauth-embedding-weights"


def default_cache_dir() -> Path | None:
    """``$AIRAUTH_PSEUDO_CACHE`` if set and non-empty, else None (no caching)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value) if value else None


def digest(obj: Any, n: int = 12) -> str:
    """Short stable hash of a JSON-able object."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


class WeightCache:
    """A folder of ``<prefix>-<family>-<data>.npz`` weight files."""

    def __init__(self, directory: str | os.PathLike, prefix: str = "efficientnet") -> None:
        self.directory = Path(directory)
        self.prefix = prefix

    def path(self, family: str, data: str) -> Path:
        return self.directory / f"{self.prefix}-{family}-{data}.npz"

    def load(self, path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
        """(params, arrays) of a cache file, or None when it is missing or unreadable."""
        try:
            header, arrays = unpack_npz(path, "embedding weights", ValueError)
        except ValueError:
            return None
        if header.get("format") != FORMAT:
            return None
        return header.get("params", {}), arrays

    def get(self, family: str, data: str) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
        return self.load(self.path(family, data))

    def newest(self, family: str) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
        """The most recently written readable file of ``family`` (any background)."""
        if not self.directory.is_dir():
            return None
        files = sorted(self.directory.glob(f"{self.prefix}-{family}-*.npz"),
                       key=lambda p: p.stat().st_mtime, reverse=True)
        for f in files:
            hit = self.load(f)
            if hit is not None:
                return hit
        return None

    def put(self, family: str, data: str, params: dict[str, Any],
            arrays: dict[str, np.ndarray]) -> Path:
        """Write atomically (``core.files.atomic_write``): a crash never leaves a half file."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)  # derived from biometric data
        header = {"format": FORMAT, "family": family, "data": data, "params": params}
        return atomic_write(self.path(family, data), pack_npz(header, arrays), mode=0o600)
