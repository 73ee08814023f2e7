"""The keyed checksums (HMAC, ``authapp.storekey``) on the rows that decide a login: what
each kind of row's checksum covers, and the check of a model row.

Part of ``authapp.store.EnrollmentStore`` (a mixin).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from authapp import storekey
from authapp.storage.errors import StoreIntegrityError


class KeyedRows:
    """Keyed checksums of model, recording, fingerprint and setting rows."""

    def _model_mac(self, key: str, dirname: str, fname: str, sha: str, kind: str,
                   metadata: str) -> str:
        return storekey.mac(self._key, "model", key, dirname, fname, sha, kind, metadata)

    def _rec_mac(self, key: str, model_id: int, idx: int, fname: str, sha: str) -> str:
        return storekey.mac(self._key, "recording", key, int(model_id), int(idx), fname, sha)

    def _fp_mac(self, key: str, source: str, ref: str, created: float, rows: int, cols: int,
                version: int, data: bytes, description: bytes | None = None) -> str:
        """The fingerprint row's checksum; a row with a stored prefilter description
        (schema 5) covers it too: an edited description could keep the original of a
        replayed recording off the shortlist the exact check aligns."""
        parts: tuple = (key, source, ref, float(created), int(rows), int(cols), int(version),
                        bytes(data))
        if description is not None:
            parts += ("description", bytes(description))
        return storekey.mac(self._key, "fingerprint", *parts)

    def _setting_mac(self, name: str, value: str) -> str:
        return storekey.mac(self._key, "setting", name, value)

    def _check_model_row(self, row: Sequence[Any]) -> None:
        """Refuse a model row whose keyed checksum does not match (see ``storekey``)."""
        name, key, dirname, fname, sha, kind, meta = (row[0], row[1], row[2], row[7], row[8],
                                                      row[6], row[9])
        if not storekey.same(row[11], self._model_mac(key, dirname, fname, sha, kind, meta)):
            raise StoreIntegrityError(
                name, f"the stored model of user {name!r} was changed outside AirAuth (its "
                "keyed checksum does not match); re-enroll the user (--re-enroll --admin)")
