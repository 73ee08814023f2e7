"""One persistence for every fitted estimator: ``get_state`` / ``from_state`` and a file kind.

Verifiers and pseudo-data generators both describe a fit as (JSON-able params, named numpy
arrays); a ``StateFile`` turns that into bytes -- ``capture.container``'s npz + JSON, never
pickle -- with a header naming the format, its version and the registry name of the class,
and back. ``models.serialization`` (verifiers) and ``models.pseudo.serialization``
(generators) each declare one ``StateFile``; where the bytes live is ``authapp``'s business.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from capture.container import pack_npz, unpack_npz

if TYPE_CHECKING:
    from models.registry import Registry


class Persistent:
    """Mixin of everything that is saved: its fit as plain data and back."""

    @abstractmethod
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able params + fitted scalars, named arrays) that fully describe the fit."""

    @classmethod
    @abstractmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        """The fitted object ``get_state`` described (``KeyError`` / ``TypeError`` /
        ``ValueError`` when the state is inconsistent)."""


@dataclass(frozen=True)
class StateFile:
    """A kind of saved object: header ``format`` and ``version``, the ``registry`` that maps
    the header's ``kind`` to a class, the ``error`` raised for anything unreadable, and how
    messages name it (``what``: "model"; ``short``: the same in fewer words; ``hint``: what
    to do about an old version)."""

    format: str
    version: int
    registry: Registry
    error: type[Exception]
    what: str
    short: str
    hint: str = ""

    def dump(self, obj: Persistent) -> bytes:
        """npz bytes of a fitted object (arrays + a JSON header)."""
        params, arrays = obj.get_state()
        header = {"format": self.format, "version": self.version,
                  "kind": self.registry.name_of(obj), "params": params}
        return pack_npz(header, arrays)

    def load(self, data: bytes) -> Any:
        """Inverse of ``dump``; ``error`` for anything unreadable, of another format or
        version, or inconsistent (an unknown kind: the registry's error)."""
        header, arrays = unpack_npz(data, self.what, self.error, self.short)
        if header.get("format") != self.format:
            raise self.error(f"file is not an AirAuth {self.what}")
        if header.get("version") != self.version:
            raise self.error(f"{self.short} format version {header.get('version')} is not "
                             f"supported (expected {self.version}){self.hint}")
        cls = self.registry.cls(str(header.get("kind")))
        try:
            return cls.from_state(header.get("params", {}), arrays)
        except (KeyError, TypeError, ValueError) as exc:
            raise self.error(f"{self.short} file is inconsistent: {exc}") from exc
