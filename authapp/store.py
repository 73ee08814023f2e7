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

The parts live in ``authapp.storage``: one ``Database`` (connection, transactions, locks,
the key of the keyed checksums; ``database``, ``keyed``, ``opening``, ``migrations``,
``layout``) handed to repositories with one concern each (``users`` and ``loading``: users
and their artifacts; ``history``: attempts, fingerprints, audit log; ``settings``;
``garbage``), which share the ``seals`` over sets of rows. ``EnrollmentStore`` is the thin
front the rest of AirAuth imports: each method hands the call to the repository that owns it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from authapp.storage.database import Database
from authapp.storage.errors import (
    DuplicateUserError,
    StaleEnrollmentError,
    StoreBusyError,
    StoreError,
    StoreIntegrityError,
    StoreTamperedError,
    StoreVersionError,
    UnknownUserError,
)
from authapp.storage.garbage import GarbageCollection
from authapp.storage.history import MAX_ATTEMPT_FINGERPRINTS, LoginHistory
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
from authapp.storage.opening import open_store
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
from authapp.storage.users import UserRecords
from capture.trajectory import Trajectory

__all__ = [
    "ARTIFACT_RE", "DB_NAME", "DEFAULT_STORE_DIR", "DEFAULT_STORE_ENV", "DIR_MODE",
    "FAILED_OUTCOMES", "FILE_MODE", "FINGERPRINT_VERSION", "LOCKS_DIR", "LOCK_NAME",
    "MAX_ATTEMPT_FINGERPRINTS", "MIGRATIONS", "QUARANTINE_DIR", "RESET_OUTCOMES",
    "SCHEMA_VERSION", "TMP_DIR", "USERS_DIR", "Attempt", "AuditEntry", "DuplicateUserError",
    "EnrollmentStore", "StaleEnrollmentError", "StoreBusyError", "StoreError", "StoreIntegrityError",
    "StoreTamperedError", "StoreVersionError", "StoredFingerprint", "UnknownUserError",
    "UserInfo", "default_store_path",
]


class EnrollmentStore:
    """Enrolled users, their models and recordings, login attempts and the audit log.

    ``path``: store directory (created when ``create``; default ``default_store_path()``).
    ``busy_timeout``: seconds to wait for another process's lock before ``StoreBusyError``.
    ``clock``: time source (injectable for tests).
    Use as a context manager or call ``close()``. One instance may be shared by threads.
    ``db``: the database the repositories share (for tools and tests that reach the rows).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, create: bool = True,
                 busy_timeout: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.busy_timeout = float(busy_timeout)
        self.db = Database(self.path, self.busy_timeout, clock)
        seals = Seals(self.db)
        self._seals = seals
        self._garbage = GarbageCollection(self.db, seals)
        self._history = LoginHistory(self.db, seals)
        self._settings = StoreSettings(self.db, seals)
        self._users = UserRecords(self.db, seals, self._history, self._garbage)
        self._artifacts = ArtifactLoading(self.db, seals, self._users)
        if not (self.path / DB_NAME).exists():
            if self.path.exists() and not self.path.is_dir():
                raise StoreError(f"store path {self.path} is not a directory: --store names "
                                 "the enrollment store's folder")
            if not create:
                raise StoreError(f"no enrollment store at {self.path} (enroll a user first)")
        try:
            open_store(self.db, self._garbage)
        except BaseException:
            self.close()
            raise

    @property
    def clock(self) -> Callable[[], float]:
        """The time source of what the store writes (the database's)."""
        return self.db.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.db.clock = clock

    @property
    def schema_version(self) -> int:
        return self.db.schema_version

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- locks (``authapp.storage.database``) -------------------------------------------------
    def user_lock(self, user: str) -> contextlib.AbstractContextManager[None]:
        """Exclusive per-user lock: a login's check, score and record as one step."""
        return self.db.user_lock(user)

    def identify_lock(self) -> contextlib.AbstractContextManager[None]:
        """Exclusive store-wide lock of identifications (rate limit checked and counted)."""
        return self.db.identify_lock()

    # -- users and their artifacts (``authapp.storage.users``, ``loading``) -------------------
    def users(self) -> list[UserInfo]:
        """Every enrolled user, sorted by canonical key."""
        return self._users.users()

    def user_versions(self) -> dict[str, float]:
        """{canonical key: time of the current enrollment} of every enrolled user."""
        return self._users.user_versions()

    def count_users(self) -> int:
        """How many users are enrolled."""
        return self._users.count_users()

    def users_page(self, offset: int, limit: int) -> list[UserInfo]:
        """``limit`` enrolled users from position ``offset`` in the order of ``users``."""
        return self._users.users_page(offset, limit)

    def get_user(self, user: str) -> UserInfo:
        """The enrolled user ``user``; ``UnknownUserError`` if absent."""
        return self._users.get_user(user)

    def has_user(self, user: str) -> bool:
        return self._users.has_user(user)

    def check_new_user_id(self, user: str) -> None:
        """``ConfusableUserIdError`` if ``user`` is new but looks like an enrolled user."""
        self._users.check_new_user_id(user)

    def save_enrollment(self, user: str, recordings: Sequence[Trajectory], model: bytes,
                        verifier_kind: str, metadata: dict[str, Any] | None = None, *,
                        re_enroll: bool = False,
                        fingerprints: Sequence[np.ndarray] | None = None,
                        actor: str | None = None, event: str | None = None,
                        audit_detail: dict[str, Any] | None = None,
                        replaces: int | None = None) -> UserInfo:
        """Store (or atomically replace) a user's enrollment (``UserRecords.save_enrollment``)."""
        return self._users.save_enrollment(
            user, recordings, model, verifier_kind, metadata, re_enroll=re_enroll,
            fingerprints=fingerprints, actor=actor, event=event, audit_detail=audit_detail,
            replaces=replaces)

    def delete_user(self, user: str, actor: str | None = None) -> None:
        """Remove a user: rows, then files (``actor``: who authorised it, for the audit)."""
        self._users.delete_user(user, actor)

    def load_model_bytes(self, user: str) -> tuple[UserInfo, bytes]:
        """(user info, checksum-verified model bytes)."""
        return self._artifacts.load_model_bytes(user)

    def load_verifier(self, user: str) -> tuple[UserInfo, Any]:
        """(user info, fitted ``models.base.Verifier``) with integrity checks."""
        return self._artifacts.load_verifier(user)

    def load_recordings(self, user: str) -> list[Trajectory]:
        """The user's enrollment recordings, checksum-verified."""
        return self._artifacts.load_recordings(user)

    def check_integrity(self) -> list[str]:
        """Problems found (one message per damaged user); empty when everything verifies."""
        return self._artifacts.check_integrity()

    # -- garbage (``authapp.storage.garbage``) -------------------------------------------------
    def collect_garbage(self, wait: bool = True) -> int:
        """Delete the store's own unreferenced files, quarantine unknown ones; how many went."""
        return self._garbage.collect_garbage(wait)

    # -- history (``authapp.storage.history``) -------------------------------------------------
    def record_attempt(self, user: str, *, outcome: str, score: float | None, reason: str,
                       fingerprint: np.ndarray | None = None,
                       audit: Sequence[tuple[str, dict[str, Any]]] = (),
                       when: float | None = None) -> None:
        """Record one login attempt (+ its fingerprint and audit events) in one transaction."""
        self._history.record_attempt(user, outcome=outcome, score=score, reason=reason,
                                     fingerprint=fingerprint, audit=audit, when=when)

    def record_identification(self, outcome: str, reason: str,
                              when: float | None = None) -> None:
        """Record an identification that named nobody (the store's own rate limit)."""
        self._history.record_identification(outcome, reason, when)

    def identifications(self, since: float | None = None) -> list[Attempt]:
        """Identifications that named nobody (oldest first), optionally from ``since``."""
        return self._history.identifications(since)

    def audit(self, event: str, user: str | None = None, detail: dict[str, Any] | None = None,
              when: float | None = None) -> None:
        """Append one event to the audit log."""
        self._history.audit(event, user, detail, when)

    def attempts(self, user: str, since: float | None = None) -> list[Attempt]:
        """Login attempts of ``user`` (oldest first), optionally only those from ``since``."""
        return self._history.attempts(user, since)

    def fingerprints(self, user: str) -> list[StoredFingerprint]:
        """The user's replay fingerprints, each row's keyed checksum checked."""
        return self._history.fingerprints(user)

    def audit_log(self, user: str | None = None) -> list[AuditEntry]:
        """Audit entries (oldest first), optionally of one user."""
        return self._history.audit_log(user)

    def audit_problems(self) -> list[str]:
        """What is wrong with the audit log's chain and seal (empty when they agree)."""
        return self._seals.audit_problems()

    # -- settings (``authapp.storage.settings``) -----------------------------------------------
    def get_settings(self) -> dict[str, Any]:
        """Store-wide settings (JSON values), each keyed checksum and the sealed set checked."""
        return self._settings.get_settings()

    def set_setting(self, key: str, value: Any) -> None:
        """Store one setting (a JSON value, kept as given: checked before by
        ``authapp.services.admin.save``); audited."""
        self._settings.set_setting(key, value)

    def unset_setting(self, key: str) -> None:
        """Return one setting to its default; audited."""
        self._settings.unset_setting(key)

    # -- everything ---------------------------------------------------------------------------
    def verify_store(self) -> list[str]:
        """Every problem found in the store (``authapp verify-store``): the audit chain, the
        settings set, and each user's model and recordings (checksums, keyed checksums,
        recordings list). Empty when everything verifies."""
        problems = self.audit_problems()
        try:
            self.get_settings()
        except StoreError as exc:
            problems.append(str(exc))
        problems += self.check_integrity()
        return problems
