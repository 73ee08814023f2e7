"""The keyed checksums (HMAC, ``authapp.storekey``) on the rows that decide a login: what
each kind of row's checksum covers, and the check of a model row. ``key`` is the store's
(``Database.key``).
"""

from __future__ import annotations

import sqlite3

from authapp import storekey
from authapp.storage.errors import StoreIntegrityError


def model_mac(key: bytes, user_key: str, dirname: str, fname: str, sha: str, kind: str,
              metadata: str) -> str:
    return storekey.mac(key, "model", user_key, dirname, fname, sha, kind, metadata)


def rec_mac(key: bytes, user_key: str, model_id: int, idx: int, fname: str, sha: str) -> str:
    return storekey.mac(key, "recording", user_key, int(model_id), int(idx), fname, sha)


def fp_mac(key: bytes, user_key: str, source: str, ref: str, created: float, rows: int,
           cols: int, version: int, data: bytes, description: bytes | None = None) -> str:
    """The fingerprint row's checksum; a row with a stored prefilter description (schema 5)
    covers it too: an edited description could keep the original of a replayed recording
    off the shortlist the exact check aligns."""
    parts: tuple = (user_key, source, ref, float(created), int(rows), int(cols), int(version),
                    bytes(data))
    if description is not None:
        parts += ("description", bytes(description))
    return storekey.mac(key, "fingerprint", *parts)


def setting_mac(key: bytes, name: str, value: str) -> str:
    return storekey.mac(key, "setting", name, value)


def check_model_row(key: bytes, row: sqlite3.Row) -> None:
    """Refuse a model row whose keyed checksum does not match (see ``storekey``); ``row``
    has the columns of ``authapp.storage.users.USER_SQL``."""
    name = row["name"]
    expected = model_mac(key, row["key"], row["dirname"], row["model_file"],
                         row["model_sha256"], row["verifier_kind"], row["metadata"])
    if not storekey.same(row["mac"], expected):
        raise StoreIntegrityError(
            name, f"the stored model of user {name!r} was changed outside AirAuth (its "
            "keyed checksum does not match); re-enroll the user (--re-enroll --admin)")
