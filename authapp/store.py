"""The enrollment store: an SQLite database plus content-addressed artifact files.

Layout of a store directory (all owner-only: directories 0700, files 0600)::

    store.sqlite3          users, models, recordings, attempts, audit log, fingerprints, settings
    secret.key             random key of the keyed checksums (HMAC), outside the database
    .lock                  writers hold an exclusive flock on it while they change files
    users/<dirname>/       one folder per user (name from ``authapp.userid.user_dirname``)
        model-<sha256>.npz     fitted verifier (``models.serialization``; npz + JSON, no pickle)
        rec-<sha256>.npz       enrollment recordings (native format, ``capture.formats.native``)
    locks/<dirname>.lock   per-user flock: a login's check -> score -> record is atomic
    quarantine/            what the store found in ``users/`` and could not account for
    tmp/                   scratch space

Why it is crash-safe: a save first writes every new file under a new content-addressed name
(temp file, fsync, ``os.replace``, fsync of the folder), then switches the database rows in one
SQLite transaction, then deletes files no row references any more. A crash before the commit
leaves unreferenced files (old state intact), a crash after it leaves stale files (new state
intact); both are removed by the next writer or the next open. Readers never take the writer
lock: when a file they were about to read was just collected, they re-read the rows and retry.

Why it never destroys data: the only files it deletes are ones it wrote and registered
(table ``garbage``) before writing them, once no row references them. A user folder or file
it cannot account for is moved to ``quarantine/`` (and audited), never deleted; a database
with no users next to a ``users/`` folder that holds some (a lost or replaced database) is
refused with a message. It never follows a symbolic link inside the store, and it repairs
the modes of everything below the top (folders 0700, files 0600).

Every artifact's sha256 is kept in the database and checked on load, so a damaged file gives a
``StoreIntegrityError`` naming the user instead of a wrong decision or a crash; the rows that
decide a login carry an HMAC made with ``secret.key`` (``authapp.storekey``), so that whoever
can write only the database can neither swap a model nor rewrite the replay history.

The parts live in ``authapp.storage`` (one concern a module: ``layout``, ``migrations``,
``opening``, ``transactions``, ``keyed``, ``users``, ``garbage``, ``loading``, ``history``,
``settings``); this module puts them together and is what the rest of AirAuth imports.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from authapp.storage.errors import (
    DuplicateUserError,
    StoreBusyError,
    StoreError,
    StoreIntegrityError,
    StoreTamperedError,
    StoreVersionError,
    UnknownUserError,
)
from authapp.storage.garbage import GarbageCollection
from authapp.storage.history import MAX_ATTEMPT_FINGERPRINTS, LoginHistory
from authapp.storage.keyed import KeyedRows
from authapp.storage.layout import (
    ARTIFACT_RE,
    DB_NAME,
    DEFAULT_STORE_DIR,
    DEFAULT_STORE_ENV,
    DIR_MODE,
    FILE_MODE,
    LOCK_NAME,
    LOCKS_DIR,
    QUARANTINE_DIR,
    TMP_DIR,
    USERS_DIR,
    default_store_path,
)
from authapp.storage.loading import ArtifactLoading
from authapp.storage.migrations import MIGRATIONS, SCHEMA_VERSION
from authapp.storage.opening import StoreOpening
from authapp.storage.records import (
    FAILED_OUTCOMES,
    FINGERPRINT_VERSION,
    RESET_OUTCOMES,
    Attempt,
    AuditEntry,
    StoredFingerprint,
    UserInfo,
)
from authapp.storage.seals import Seals
from authapp.storage.settings import StoreSettings
from authapp.storage.transactions import StoreTransactions
from authapp.storage.users import UserRecords

__all__ = [
    "ARTIFACT_RE", "DB_NAME", "DEFAULT_STORE_DIR", "DEFAULT_STORE_ENV", "DIR_MODE",
    "FAILED_OUTCOMES", "FILE_MODE", "FINGERPRINT_VERSION", "LOCKS_DIR", "LOCK_NAME",
    "MAX_ATTEMPT_FINGERPRINTS", "MIGRATIONS", "QUARANTINE_DIR", "RESET_OUTCOMES",
    "SCHEMA_VERSION", "TMP_DIR", "USERS_DIR", "Attempt", "AuditEntry", "DuplicateUserError",
    "EnrollmentStore", "StoreBusyError", "StoreError", "StoreIntegrityError",
    "StoreTamperedError", "StoreVersionError", "StoredFingerprint", "UnknownUserError",
    "UserInfo", "default_store_path",
]


class EnrollmentStore(StoreOpening, StoreTransactions, KeyedRows, Seals, UserRecords,
                      GarbageCollection, ArtifactLoading, LoginHistory, StoreSettings):
    """Enrolled users, their models and recordings, login attempts and the audit log.

    ``path``: store directory (created when ``create``; default ``default_store_path()``).
    ``busy_timeout``: seconds to wait for another process's lock before ``StoreBusyError``.
    ``clock``: time source (injectable for tests).
    Use as a context manager or call ``close()``. One instance may be shared by threads.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, create: bool = True,
                 busy_timeout: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.busy_timeout = float(busy_timeout)
        self.clock = clock
        self._mutex = threading.RLock()
        self._user_mutex = threading.RLock()  # threads of this process take turns too
        self._identify_mutex = threading.RLock()
        self._key = b""
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        db = self.path / DB_NAME
        if not db.exists():
            if self.path.exists() and not self.path.is_dir():
                raise StoreError(f"store path {self.path} is not a directory: --store names "
                                 "the enrollment store's folder")
            if not create:
                raise StoreError(f"no enrollment store at {self.path} (enroll a user first)")
        try:
            self._open(db)
        except BaseException:
            self.close()
            raise

    @property
    def schema_version(self) -> int:
        return int(self._connection().execute("PRAGMA user_version").fetchone()["user_version"])

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
            if self._lock_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._lock_fd)
                self._lock_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
