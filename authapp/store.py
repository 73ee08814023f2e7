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
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from authapp import storekey
from authapp.settings_schema import SettingError, check_value
from authapp.userid import (
    DIRNAME_RE,
    ConfusableUserIdError,
    find_confusable,
    normalize_user_id,
    user_dirname,
    user_key,
)
from capture.container import json_default
from capture.errors import AirAuthError
from capture.files import TEMP_RE, atomic_write, fsync_dir
from capture.trajectory import Trajectory

try:  # POSIX advisory locks; on other platforms writers rely on SQLite's locking alone
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

DB_NAME = "store.sqlite3"
LOCK_NAME = ".lock"
USERS_DIR = "users"
TMP_DIR = "tmp"
LOCKS_DIR = "locks"
QUARANTINE_DIR = "quarantine"
DIR_MODE = 0o700
FILE_MODE = 0o600
DEFAULT_STORE_ENV = "AIRAUTH_STORE"
DEFAULT_STORE_DIR = "enrollment_data"
MAX_ATTEMPT_FINGERPRINTS = 200
"""Fingerprints of past login attempts kept per user (oldest dropped first); each login is
compared with all of them (about 4 ms each)."""
ARTIFACT_RE = re.compile(r"^(model|rec)-[0-9a-f]{64}\.npz$")
"""Names the store gives the files it writes into a user folder."""


class StoreError(AirAuthError, RuntimeError):
    """The enrollment store cannot be opened or used."""


class StoreVersionError(StoreError):
    """The store was written by a newer AirAuth (unknown schema version)."""


class StoreBusyError(StoreError):
    """Another process kept the store locked for longer than the busy timeout."""


class StoreIntegrityError(StoreError):
    """A stored artifact is missing or does not match its checksum."""

    def __init__(self, user: str, message: str) -> None:
        super().__init__(message)
        self.user = user


class UnknownUserError(StoreError, LookupError):
    """No such user is enrolled."""


class DuplicateUserError(StoreError):
    """The user is already enrolled and re-enrollment was not asked for."""


class StoreTamperedError(StoreError):
    """A row's keyed checksum does not match: the database was changed outside AirAuth."""


def default_store_path() -> Path:
    """``$AIRAUTH_STORE`` if set, else ``enrollment_data`` in the current directory."""
    return Path(os.environ.get(DEFAULT_STORE_ENV) or DEFAULT_STORE_DIR)


# -- records returned to callers -----------------------------------------------------------------
@dataclass(frozen=True)
class UserInfo:
    """One enrolled user as the database describes it (no files read)."""

    name: str
    key: str
    dirname: str
    created: float
    updated: float
    model_id: int
    verifier_kind: str
    model_file: str
    model_sha256: str
    n_recordings: int
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    time: float
    event: str
    user: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class Attempt:
    id: int
    user_key: str
    time: float
    outcome: str  # "accept" | "reject" | "replay" | "locked"
    score: float | None
    reason: str


@dataclass(frozen=True)
class StoredFingerprint:
    source: str  # "enroll" | "attempt"
    ref: str  # human-readable origin, e.g. "enrollment sample 2"
    created: float
    points: np.ndarray
    version: int = 2  # see ``authapp.security.FINGERPRINT_VERSION``


FAILED_OUTCOMES = ("reject", "replay")
"""Attempt outcomes that count towards a lockout ("locked" ones do not: no extension loops)."""
FINGERPRINT_VERSION = 2
"""Version of the fingerprints the store is given (``authapp.security.FINGERPRINT_VERSION``,
repeated here so that the store does not import the scoring code; a test keeps them equal)."""
RESET_OUTCOMES = ("accept", "reset")
"""Attempt outcomes after which earlier failures no longer count ("reset": an administrator's
unlock, a re-enrollment)."""


# -- schema and migrations ----------------------------------------------------------------------
_V1 = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    dirname TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    model_id INTEGER
);
CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    verifier_kind TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL,
    metadata TEXT NOT NULL
);
CREATE TABLE recordings (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (model_id, idx)
);
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    user_key TEXT NOT NULL,
    time REAL NOT NULL,
    outcome TEXT NOT NULL,
    score REAL,
    reason TEXT NOT NULL
);
CREATE INDEX attempts_user_time ON attempts(user_key, time);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    event TEXT NOT NULL,
    user_key TEXT,
    user_name TEXT,
    detail TEXT NOT NULL
);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_V2 = """
CREATE TABLE fingerprints (
    id INTEGER PRIMARY KEY,
    user_key TEXT NOT NULL,
    source TEXT NOT NULL,
    ref TEXT NOT NULL,
    created REAL NOT NULL,
    rows INTEGER NOT NULL,
    cols INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX fingerprints_user ON fingerprints(user_key, source, created);
"""


def _migrate_v1(store: EnrollmentStore, conn: sqlite3.Connection) -> None:
    for stmt in _split_sql(_V1):
        conn.execute(stmt)


def _migrate_v2(store: EnrollmentStore, conn: sqlite3.Connection) -> None:
    """Add replay fingerprints and back-fill them from every stored enrollment recording."""
    for stmt in _split_sql(_V2):
        conn.execute(stmt)
    from authapp.security import LEGACY_POINTS, arc_length_resample

    def fingerprint(traj: Trajectory) -> np.ndarray:  # what version 2 stored (version 1)
        return arc_length_resample(traj.positions, LEGACY_POINTS).astype(np.float32)

    rows = conn.execute(
        "SELECT u.key, u.name, u.dirname, r.idx, r.file, r.sha256 FROM users u "
        "JOIN recordings r ON r.model_id = u.model_id ORDER BY u.key, r.idx"
    ).fetchall()
    now = store.clock()
    for key, name, dirname, idx, fname, sha in rows:
        traj = store._read_recording_file(name, dirname, fname, sha)
        fp = fingerprint(traj)
        conn.execute(
            "INSERT INTO fingerprints (user_key, source, ref, created, rows, cols, data) "
            "VALUES (?, 'enroll', ?, ?, ?, ?, ?)",
            (key, f"enrollment sample {idx + 1}", now, fp.shape[0], fp.shape[1], fp.tobytes()),
        )


_V3 = """
ALTER TABLE models ADD COLUMN mac TEXT;
ALTER TABLE recordings ADD COLUMN mac TEXT;
ALTER TABLE fingerprints ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE fingerprints ADD COLUMN mac TEXT;
ALTER TABLE settings ADD COLUMN mac TEXT;
CREATE TABLE garbage (path TEXT PRIMARY KEY, since REAL NOT NULL);
"""


def _migrate_v3(store: EnrollmentStore, conn: sqlite3.Connection) -> None:
    """Keyed checksums on the rows that decide a login, fingerprint versions, and the
    registry of files the store may delete (``garbage``).

    The rows found here are trusted (their keys are made now). Unreferenced files that
    version 2 left in user folders (crash leftovers it would have deleted) are registered
    as garbage; the unused setting ``replay_threshold_mm`` is dropped (audited).
    """
    for stmt in _split_sql(_V3):
        conn.execute(stmt)
    now = store.clock()
    users = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, key, dirname FROM users")}
    for mid, uid, kind, fname, sha, meta in conn.execute(
            "SELECT id, user_id, verifier_kind, file, sha256, metadata FROM models").fetchall():
        key, dirname = users.get(uid, ("", ""))
        conn.execute("UPDATE models SET mac = ? WHERE id = ?",
                     (store._model_mac(key, dirname, fname, sha, kind, meta), mid))
        for idx, rfile, rsha in conn.execute(
                "SELECT idx, file, sha256 FROM recordings WHERE model_id = ?", (mid,)).fetchall():
            conn.execute("UPDATE recordings SET mac = ? WHERE model_id = ? AND idx = ?",
                         (store._rec_mac(key, mid, idx, rfile, rsha), mid, idx))
    for row in conn.execute("SELECT id, user_key, source, ref, created, rows, cols, version, "
                            "data FROM fingerprints").fetchall():
        conn.execute("UPDATE fingerprints SET mac = ? WHERE id = ?",
                     (store._fp_mac(*row[1:]), row[0]))
    old = conn.execute("SELECT value FROM settings WHERE key = 'replay_threshold_mm'").fetchone()
    if old is not None:
        conn.execute("DELETE FROM settings WHERE key = 'replay_threshold_mm'")
        store._insert_audit(conn, now, "setting_dropped", None, None,
                            {"replay_threshold_mm": old[0], "why": "the replay check now "
                             "measures a residual relative to the writing's size "
                             "(setting replay_threshold)"})
    for name, value in conn.execute("SELECT key, value FROM settings").fetchall():
        conn.execute("UPDATE settings SET mac = ? WHERE key = ?",
                     (store._setting_mac(name, value), name))
    referenced = set(conn.execute(
        "SELECT u.dirname, m.file FROM users u JOIN models m ON m.user_id = u.id"))
    referenced |= set(conn.execute(
        "SELECT u.dirname, r.file FROM users u JOIN models m ON m.user_id = u.id "
        "JOIN recordings r ON r.model_id = m.id"))
    for dirname, _ in users.values():
        folder = store.path / USERS_DIR / dirname
        if not folder.is_dir() or folder.is_symlink():
            continue
        for f in folder.iterdir():
            if (dirname, f.name) not in referenced and (ARTIFACT_RE.match(f.name)
                                                        or f.name.startswith(".tmp-")):
                conn.execute("INSERT OR IGNORE INTO garbage (path, since) VALUES (?, ?)",
                             (f"{dirname}/{f.name}", now))
    store._insert_audit(conn, now, "migrate", None, None, {"schema": 3})


MIGRATIONS: tuple[Callable[[EnrollmentStore, sqlite3.Connection], None], ...] = (
    _migrate_v1,
    _migrate_v2,
    _migrate_v3,
)
"""MIGRATIONS[i] upgrades schema version i to i + 1 (``PRAGMA user_version``)."""

SCHEMA_VERSION = len(MIGRATIONS)


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


# -- small file helpers -------------------------------------------------------------------------
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _make_private_dir(path: Path, top: bool = False) -> None:
    """Create ``path`` (0700) or repair its mode; a symlink there is refused (only the
    store's own ``top`` folder may be reached through one)."""
    path.mkdir(mode=DIR_MODE, parents=top, exist_ok=True)
    st = path.stat() if top else os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(f"{path} is {'a symbolic link' if stat.S_ISLNK(st.st_mode) else 'not a folder'}"
                         "; the store will not use it (move it away)")
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        os.chmod(path, DIR_MODE)


def _check_regular(path: Path) -> None:
    """Refuse a store file that is a symlink or not a regular file (when it exists)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(f"{path} is {'a symbolic link' if stat.S_ISLNK(st.st_mode) else 'not a regular file'}"
                         "; the store will not use it (move it away)")
    if stat.S_IMODE(st.st_mode) != FILE_MODE:
        os.chmod(path, FILE_MODE)


def _write_private_file(folder: Path, name: str, data: bytes) -> None:
    """Write ``folder/name`` all-or-nothing with mode 0600 (``capture.files.atomic_write``)."""
    atomic_write(folder / name, data, mode=FILE_MODE,
                 before_replace=lambda: _crash_point("file-written"))


_CRASH_HOOK: Callable[[str], None] | None = None
"""Tests set this to kill the process at a named step of a save (fault injection)."""


def _crash_point(name: str) -> None:
    if _CRASH_HOOK is not None:
        _CRASH_HOOK(name)


# -- the store ----------------------------------------------------------------------------------
class EnrollmentStore:
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
        self._key = b""
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        db = self.path / DB_NAME
        if not db.exists():
            if not create:
                raise StoreError(f"no enrollment store at {self.path} (enroll a user first)")
            if self.path.exists() and not self.path.is_dir():
                raise StoreError(f"store path {self.path} is not a directory")
        try:
            self._open(db)
        except BaseException:
            self.close()
            raise

    # -- opening ------------------------------------------------------------------------------
    def _open(self, db: Path) -> None:
        try:
            _make_private_dir(self.path, top=True)
            for sub in (USERS_DIR, TMP_DIR, LOCKS_DIR):
                _make_private_dir(self.path / sub)
            for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", LOCK_NAME,
                         storekey.KEY_NAME):
                _check_regular(self.path / name)
            fresh = not db.exists()
            if fresh:
                self._refuse_lost_database(0)
            for name in (DB_NAME, LOCK_NAME):
                fd = os.open(self.path / name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW,
                             FILE_MODE)
                if name == LOCK_NAME:
                    self._lock_fd = fd
                else:
                    os.close(fd)
        except OSError as exc:
            raise StoreError(f"cannot open store at {self.path}: {exc.strerror or exc}") from exc
        try:
            conn = sqlite3.connect(db, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store database {db}: {exc}") from exc
        self._conn = conn
        try:
            self._retry(lambda: conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}"))
            mode = self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            if not mode or str(mode[0]).lower() != "wal":
                raise StoreError(f"store database {db} cannot use WAL mode ({mode})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store database {db} is damaged or not a database, or cannot be "
                             f"written ({exc})") from exc
        for suffix in ("-wal", "-shm"):  # SQLite copies the db's mode; make sure anyway
            with contextlib.suppress(OSError, StoreError):
                _check_regular(self.path / (DB_NAME + suffix))
        self._repair_modes()
        self._refuse_orphaned_folders()
        self.collect_garbage(wait=False)

    def _refuse_orphaned_folders(self) -> None:
        """Refuse to open a database that lists no users next to user folders it did not
        register as garbage (see ``_refuse_lost_database``)."""
        with self._read() as c:
            if c.execute("SELECT COUNT(*) FROM users").fetchone()[0]:
                return
            pending = {r[0] for r in c.execute("SELECT path FROM garbage")}
        if any(f"{f.name}/" not in pending for f in self._user_folders()):
            self._refuse_lost_database(0)

    def _user_folders(self) -> list[Path]:
        """Folders in ``users/`` named like the store names them (symlinks excluded)."""
        out = []
        for entry in sorted((self.path / USERS_DIR).iterdir()):
            if DIRNAME_RE.match(entry.name) and entry.is_dir() and not entry.is_symlink():
                out.append(entry)
        return out

    def _refuse_lost_database(self, n_users: int) -> None:
        """A database without users next to user folders was lost or replaced: opening it
        would make those folders look like garbage, so refuse and say so."""
        if n_users:
            return
        folders = self._user_folders() if (self.path / USERS_DIR).is_dir() else []
        if folders:
            raise StoreError(
                f"the store database {self.path / DB_NAME} lists no users, but "
                f"{self.path / USERS_DIR} holds {len(folders)} user folder(s): the database "
                "was lost or replaced. Restore it (and secret.key) from a backup; nothing was "
                "changed")

    def _load_key(self, version: int) -> bytes:
        """The store's HMAC key; created with a new store (or when an older one is upgraded).
        Missing in a store whose rows carry keyed checksums, it is refused: every check
        would fail."""
        path = self.path / storekey.KEY_NAME
        try:
            key = storekey.read_key(path)
            if key is not None:
                return key
            conn = self._connection()
            if version >= 3 and conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM models WHERE mac IS NOT NULL) OR EXISTS "
                    "(SELECT 1 FROM settings WHERE mac IS NOT NULL)").fetchone()[0]:
                raise StoreError(f"the store key {path} is missing: the stored models and "
                                 "settings cannot be verified without it. Restore it from a "
                                 "backup")
            return storekey.create_key(path)
        except OSError as exc:
            raise StoreError(str(exc) if isinstance(exc, storekey.KeyFileError) else
                             f"cannot create the store key {path}: {exc.strerror or exc}"
                             ) from exc

    def _repair_modes(self) -> None:
        """Owner-only modes below the top: folders 0700, files 0600 (symlinks untouched)."""
        for folder in [self.path / d for d in (USERS_DIR, TMP_DIR, LOCKS_DIR, QUARANTINE_DIR)
                       ] + (self._user_folders() if (self.path / USERS_DIR).is_dir() else []):
            with contextlib.suppress(OSError):
                st = os.lstat(folder)
                if stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) != DIR_MODE:
                    os.chmod(folder, DIR_MODE)
                if folder.parent.name != USERS_DIR and folder.name != LOCKS_DIR:
                    continue
                for f in folder.iterdir():
                    fst = os.lstat(f)
                    if stat.S_ISREG(fst.st_mode) and stat.S_IMODE(fst.st_mode) != FILE_MODE:
                        os.chmod(f, FILE_MODE)

    def _migrate(self) -> None:
        conn = self._connection()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"store at {self.path} has schema version {version}, newer than this AirAuth "
                f"supports ({SCHEMA_VERSION}): upgrade AirAuth"
            )
        if version == 0:
            self._refuse_lost_database(0)
        self._key = self._load_key(version)
        if version == SCHEMA_VERSION:
            return
        with self._writer_lock(), self._write() as c:
            version = c.execute("PRAGMA user_version").fetchone()[0]  # re-read under the lock
            for v in range(version, SCHEMA_VERSION):
                MIGRATIONS[v](self, c)
                c.execute(f"PRAGMA user_version = {v + 1}")

    @property
    def schema_version(self) -> int:
        return int(self._connection().execute("PRAGMA user_version").fetchone()[0])

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

    # -- locking and transactions ---------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the enrollment store is closed")
        return self._conn

    def _retry(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn``, retrying while SQLite reports a busy/locked database."""
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.01
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                msg = str(exc).lower()
                if "locked" not in msg and "busy" not in msg:
                    raise
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"the store at {self.path} stayed locked by another process for "
                        f"{self.busy_timeout:.0f} s; try again"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

    def _db_error(self, exc: sqlite3.Error) -> StoreError:
        """A database failure as a message: a read-only file, a dropped table, a damaged
        page; never a traceback."""
        return StoreError(f"store database {self.path / DB_NAME} cannot be used: {exc} "
                          "(damaged, read-only or changed outside AirAuth)")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: takes the write lock up front, no upgrades)."""
        with self._mutex:
            conn = self._connection()
            try:
                self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
            except sqlite3.Error as exc:
                raise self._db_error(exc) from exc
            try:
                yield conn
                _crash_point("before-commit")
                self._retry(lambda: conn.execute("COMMIT"))
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._db_error(exc) from exc
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every SELECT inside sees the same snapshot."""
        with self._mutex:
            conn = self._connection()
            try:
                self._retry(lambda: conn.execute("BEGIN"))
            except sqlite3.Error as exc:
                raise self._db_error(exc) from exc
            try:
                yield conn
            except sqlite3.Error as exc:
                raise self._db_error(exc) from exc
            finally:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("COMMIT")

    @contextlib.contextmanager
    def user_lock(self, user: str) -> Iterator[None]:
        """Exclusive per-user lock (flock on ``locks/<dirname>.lock``) across processes and
        threads: what a login checks (lockout, replay history), scores and records happens
        as one step, so parallel logins cannot all pass the same check."""
        name = normalize_user_id(user)
        path = self.path / LOCKS_DIR / f"{user_dirname(name)}.lock"
        with self._user_mutex:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
            except OSError as exc:
                raise StoreError(f"cannot lock user {name!r} in {self.path}: "
                                 f"{exc.strerror or exc}") from exc
            try:
                if fcntl is not None:
                    deadline = time.monotonic() + self.busy_timeout
                    while True:
                        try:
                            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                            break
                        except BlockingIOError:
                            if time.monotonic() >= deadline:
                                raise StoreBusyError(
                                    f"another login of user {name!r} kept its lock for "
                                    f"{self.busy_timeout:.0f} s; try again") from None
                            time.sleep(0.005)
                yield
            finally:
                os.close(fd)  # releases the flock

    @contextlib.contextmanager
    def _writer_lock(self, wait: bool = True) -> Iterator[bool]:
        """Exclusive flock serialising writers of files (saves, deletes, garbage collection).

        Yields False (without the lock) when ``wait`` is False and another writer holds it.
        """
        if fcntl is None or self._lock_fd is None:
            yield True
            return
        with self._mutex:
            if wait:
                deadline = time.monotonic() + self.busy_timeout
                while True:
                    try:
                        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise StoreBusyError(
                                f"another process is writing to the store at {self.path}; "
                                "try again"
                            ) from None
                        time.sleep(0.02)
            else:
                try:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
            try:
                yield True
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    # -- users ------------------------------------------------------------------------------
    _USER_SQL = (
        "SELECT u.name, u.key, u.dirname, u.created, u.updated, m.id, m.verifier_kind, m.file, "
        "m.sha256, m.metadata, (SELECT COUNT(*) FROM recordings r WHERE r.model_id = m.id), "
        "m.mac FROM users u JOIN models m ON m.id = u.model_id"
    )

    # -- keyed checksums --------------------------------------------------------------------
    def _model_mac(self, key: str, dirname: str, fname: str, sha: str, kind: str,
                   metadata: str) -> str:
        return storekey.mac(self._key, "model", key, dirname, fname, sha, kind, metadata)

    def _rec_mac(self, key: str, model_id: int, idx: int, fname: str, sha: str) -> str:
        return storekey.mac(self._key, "recording", key, int(model_id), int(idx), fname, sha)

    def _fp_mac(self, key: str, source: str, ref: str, created: float, rows: int, cols: int,
                version: int, data: bytes) -> str:
        return storekey.mac(self._key, "fingerprint", key, source, ref, float(created),
                            int(rows), int(cols), int(version), bytes(data))

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

    @staticmethod
    def _user_from_row(row: Sequence[Any]) -> UserInfo:
        try:
            metadata = json.loads(row[9])
        except (TypeError, ValueError):
            metadata = {}
        return UserInfo(name=row[0], key=row[1], dirname=row[2], created=row[3], updated=row[4],
                        model_id=row[5], verifier_kind=row[6], model_file=row[7],
                        model_sha256=row[8], n_recordings=int(row[10]),
                        metadata=metadata if isinstance(metadata, dict) else {})

    def users(self) -> list[UserInfo]:
        """Every enrolled user, sorted by canonical key."""
        with self._read() as c:
            rows = c.execute(self._USER_SQL + " ORDER BY u.key").fetchall()
        return [self._user_from_row(r) for r in rows]

    def get_user(self, user: str) -> UserInfo:
        """The enrolled user ``user`` (any case / normal form); ``UnknownUserError`` if absent."""
        key = user_key(user)
        with self._read() as c:
            row = c.execute(self._USER_SQL + " WHERE u.key = ?", (key,)).fetchone()
        if row is None:
            raise UnknownUserError(f"no user {normalize_user_id(user)!r} is enrolled in "
                                   f"{self.path}")
        return self._user_from_row(row)

    def has_user(self, user: str) -> bool:
        key = user_key(user)
        with self._read() as c:
            return c.execute("SELECT 1 FROM users WHERE key = ? AND model_id IS NOT NULL",
                             (key,)).fetchone() is not None

    def check_new_user_id(self, user: str) -> None:
        """Raise ``ConfusableUserIdError`` if ``user`` is not enrolled but looks like someone who
        is (Unicode look-alikes: an attacker enrolling "аlice" in Cyrillic next to "alice")."""
        name = normalize_user_id(user)
        with self._read() as c:
            if c.execute("SELECT 1 FROM users WHERE key = ?", (user_key(name),)).fetchone():
                return
            names = [r[0] for r in c.execute("SELECT name FROM users")]
        other = find_confusable(name, names)
        if other is not None:
            raise ConfusableUserIdError(
                f"user id {name!r} looks like the enrolled user {other!r} (look-alike "
                "characters); choose a clearly different id")

    # -- saving -------------------------------------------------------------------------------
    def save_enrollment(self, user: str, recordings: Sequence[Trajectory], model: bytes,
                        verifier_kind: str, metadata: dict[str, Any] | None = None, *,
                        re_enroll: bool = False,
                        fingerprints: Sequence[np.ndarray] | None = None,
                        actor: str | None = None) -> UserInfo:
        """Store (or atomically replace) a user's enrollment: recordings, model bytes, metadata.

        ``fingerprints`` (one per recording, from ``authapp.security.fingerprint``) are kept for
        replay detection. Raises ``DuplicateUserError`` if the user exists and not ``re_enroll``.
        A re-enrollment resets the failed-login count. ``actor``: who authorised it (for the
        audit log, e.g. "admin" or "proof").
        """
        from capture.formats.native import encode_recording

        name = normalize_user_id(user)
        key = user_key(name)
        dirname = user_dirname(name)
        if not recordings:
            raise StoreError("an enrollment needs at least one recording")
        if fingerprints is not None and len(fingerprints) != len(recordings):
            raise ValueError("one fingerprint per recording is needed")
        meta_json = json.dumps(metadata or {}, sort_keys=True, default=json_default)
        blobs = [encode_recording(r) for r in recordings]
        now = self.clock()
        with self._writer_lock():
            if not re_enroll and self.has_user(key):
                raise DuplicateUserError(
                    f"user {name!r} is already enrolled; re-enroll explicitly to replace the "
                    "enrollment (authapp enroll --re-enroll)"
                )
            self.check_new_user_id(name)
            folder = self.path / USERS_DIR / dirname
            model_sha = _sha256(model)
            model_file = f"model-{model_sha}.npz"
            rec_rows = [(i, f"rec-{_sha256(b)}.npz", _sha256(b), len(b))
                        for i, b in enumerate(blobs)]
            # 0. register the files about to be written: deletable if the save never commits
            with self._write() as c:
                c.executemany("INSERT OR IGNORE INTO garbage (path, since) VALUES (?, ?)",
                              [(f"{dirname}/", now), (f"{dirname}/{model_file}", now)]
                              + [(f"{dirname}/{r[1]}", now) for r in rec_rows])
            if not folder.is_dir() or folder.is_symlink():
                _make_private_dir(folder)
                fsync_dir(folder.parent)  # the new folder's entry survives a power loss
            # 1. new files under content-addressed names (old ones untouched)
            _write_private_file(folder, model_file, model)
            for (_, fname, _, _), blob in zip(rec_rows, blobs):
                _write_private_file(folder, fname, blob)
            _crash_point("files-written")
            # 2. switch the rows in one transaction
            with self._write() as c:
                row = c.execute("SELECT id, model_id FROM users WHERE key = ?", (key,)).fetchone()
                if row is not None and row[1] is not None and not re_enroll:
                    raise DuplicateUserError(f"user {name!r} is already enrolled")
                if row is None:
                    cur = c.execute(
                        "INSERT INTO users (key, name, dirname, created, updated) "
                        "VALUES (?, ?, ?, ?, ?)", (key, name, dirname, now, now))
                    user_id, old_model = cur.lastrowid, None
                else:
                    user_id, old_model = row
                cur = c.execute(
                    "INSERT INTO models (user_id, verifier_kind, file, sha256, size, created, "
                    "metadata, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (user_id, verifier_kind, model_file, model_sha, len(model), now, meta_json,
                     self._model_mac(key, dirname, model_file, model_sha, verifier_kind,
                                     meta_json)))
                model_id = cur.lastrowid
                c.executemany(
                    "INSERT INTO recordings (model_id, idx, file, sha256, size, mac) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(model_id, *r, self._rec_mac(key, model_id, r[0], r[1], r[2]))
                     for r in rec_rows])
                c.execute("UPDATE users SET model_id = ?, updated = ?, name = ? WHERE id = ?",
                          (model_id, now, name, user_id))
                # the new files are referenced from now on: no longer garbage
                c.executemany("DELETE FROM garbage WHERE path = ?",
                              [(f"{dirname}/",), (f"{dirname}/{model_file}",)]
                              + [(f"{dirname}/{r[1]}",) for r in rec_rows])
                if old_model is not None:
                    old_files = c.execute(
                        "SELECT file FROM models WHERE id = ? UNION SELECT file FROM "
                        "recordings WHERE model_id = ?", (old_model, old_model)).fetchall()
                    c.executemany("INSERT OR IGNORE INTO garbage (path, since) VALUES (?, ?)",
                                  [(f"{dirname}/{f}", now) for (f,) in old_files])
                    c.execute("DELETE FROM models WHERE id = ?", (old_model,))
                    # a new enrollment starts with a clean slate: earlier failures no longer
                    # count towards a lockout (the attempts stay, for the audit trail)
                    c.execute("INSERT INTO attempts (user_key, time, outcome, score, reason) "
                              "VALUES (?, ?, 'reset', NULL, 're-enrolled')", (key, now))
                for i, fp in enumerate(fingerprints or []):
                    self._insert_fingerprint(c, key, "enroll", f"enrollment sample {i + 1}",
                                             now, fp)
                self._insert_audit(c, now, "re_enroll" if old_model is not None else "enroll",
                                   key, name, {"verifier": verifier_kind,
                                               "samples": len(recordings),
                                               **({"by": actor} if actor else {})})
            _crash_point("committed")
            # 3. drop files nothing references any more
            self._collect_garbage_locked()
        return self.get_user(key)

    def delete_user(self, user: str, actor: str | None = None) -> None:
        """Remove a user: rows (model, recordings, attempts, fingerprints) and then files.

        ``actor``: who authorised it (for the audit log)."""
        name = normalize_user_id(user)
        key = user_key(name)
        with self._writer_lock():
            with self._write() as c:
                row = c.execute("SELECT id, name, dirname FROM users WHERE key = ?",
                                (key,)).fetchone()
                if row is None:
                    raise UnknownUserError(f"no user {name!r} is enrolled in {self.path}")
                files = c.execute(
                    "SELECT m.file FROM models m WHERE m.user_id = ? UNION SELECT r.file FROM "
                    "recordings r JOIN models m ON r.model_id = m.id WHERE m.user_id = ?",
                    (row[0], row[0])).fetchall()
                now = self.clock()
                c.executemany("INSERT OR IGNORE INTO garbage (path, since) VALUES (?, ?)",
                              [(f"{row[2]}/{f}", now) for (f,) in files]
                              + [(f"{row[2]}/", now)])
                c.execute("DELETE FROM models WHERE user_id = ?", (row[0],))
                c.execute("DELETE FROM users WHERE id = ?", (row[0],))
                c.execute("DELETE FROM attempts WHERE user_key = ?", (key,))
                c.execute("DELETE FROM fingerprints WHERE user_key = ?", (key,))
                self._insert_audit(c, now, "delete", key, row[1],
                                   {"by": actor} if actor else {})
            _crash_point("committed")
            self._collect_garbage_locked()

    # -- garbage collection -------------------------------------------------------------------
    def collect_garbage(self, wait: bool = True) -> int:
        """Delete the store's own files that no row references any more (registered in
        ``garbage`` before they were written, or when their rows went); quarantine what it
        cannot account for. Returns how many files were removed.

        With ``wait=False`` it does nothing while another process is writing. Clean-up is
        best effort: a file it may not delete is left for the next time, not an error.
        """
        with self._writer_lock(wait=wait) as locked:
            if not locked:
                return 0
            return self._collect_garbage_locked()

    def _collect_garbage_locked(self) -> int:
        with self._read() as c:
            users = {r[0] for r in c.execute("SELECT dirname FROM users")}
            referenced = {f"{d}/{f}" for d, f in c.execute(
                "SELECT u.dirname, m.file FROM users u JOIN models m ON m.user_id = u.id")}
            referenced |= {f"{d}/{f}" for d, f in c.execute(
                "SELECT u.dirname, r.file FROM users u JOIN models m ON m.user_id = u.id "
                "JOIN recordings r ON r.model_id = m.id")}
            garbage = [r[0] for r in c.execute("SELECT path FROM garbage ORDER BY path")]
        removed = 0
        done: list[str] = []
        users_dir = self.path / USERS_DIR
        for rel in garbage:  # files first (sorted: "d/f" after "d/")
            if rel.endswith("/"):
                continue
            target = users_dir / rel
            if rel not in referenced:
                try:
                    if not stat.S_ISREG(os.lstat(target).st_mode):
                        continue  # not what the store wrote: left for quarantine below
                    target.unlink()
                    removed += 1
                    _crash_point("collecting")
                except FileNotFoundError:
                    pass
                except OSError:
                    continue  # e.g. no permission: try again next time
            done.append(rel)
        for rel in garbage:  # then folders of deleted users, when empty
            if rel.endswith("/"):
                folder = users_dir / rel.rstrip("/")
                if rel.rstrip("/") in users:
                    done.append(rel)
                    continue
                try:
                    if folder.is_symlink():
                        continue
                    folder.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    continue  # not empty: what is left gets quarantined
                done.append(rel)
        if done:
            with self._write() as c:
                c.executemany("DELETE FROM garbage WHERE path = ?", [(r,) for r in done])
        removed += self._remove_temporaries()
        self._quarantine_unknown(users, referenced)
        return removed

    def _remove_temporaries(self) -> int:
        """Temp files of interrupted writes (``.tmp-<hex>`` in user folders) and whatever
        is in ``tmp/`` (scratch space by definition); links are removed, never followed."""
        removed = 0
        with contextlib.suppress(OSError):
            for folder in self._user_folders():
                for f in folder.iterdir():
                    if TEMP_RE.match(f.name) and not f.is_dir():
                        with contextlib.suppress(OSError):
                            f.unlink()
                            removed += 1
        with contextlib.suppress(OSError):
            for f in (self.path / TMP_DIR).iterdir():
                with contextlib.suppress(OSError):
                    if f.is_dir() and not f.is_symlink():
                        shutil.rmtree(f)
                    else:
                        f.unlink()
                    removed += 1
        return removed

    def _quarantine_unknown(self, users: set[str], referenced: set[str]) -> None:
        """Move user folders and artifact files that no row accounts for (and that are not
        registered garbage) to ``quarantine/``, with an audit entry; delete nothing."""
        try:
            folders = self._user_folders()
        except OSError:
            return
        with self._read() as c:
            pending = {r[0] for r in c.execute("SELECT path FROM garbage")}
        unknown: list[Path] = []
        for folder in folders:
            if folder.name not in users:
                if f"{folder.name}/" not in pending:
                    unknown.append(folder)
                continue
            with contextlib.suppress(OSError):
                for f in folder.iterdir():
                    rel = f"{folder.name}/{f.name}"
                    if rel not in referenced and rel not in pending \
                            and not TEMP_RE.match(f.name):
                        unknown.append(f)
        if not unknown or not users:
            return  # (no users at all: a lost database, refused on open, not quarantined)
        qdir = self.path / QUARANTINE_DIR
        moved = []
        try:
            _make_private_dir(qdir)
            stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.clock()))
            for item in unknown:
                name = f"{stamp}-{item.parent.name + '-' if item.parent.name != USERS_DIR else ''}{item.name}"
                dest = qdir / name
                if dest.exists():
                    dest = qdir / f"{name}-{uuid.uuid4().hex[:8]}"
                os.rename(item, dest)
                moved.append(str(item.relative_to(self.path)))
        except OSError:
            pass
        if moved:
            with self._write() as c:
                self._insert_audit(c, self.clock(), "quarantine", None, None,
                                   {"moved": moved, "to": QUARANTINE_DIR})

    # -- loading --------------------------------------------------------------------------------
    def _read_artifact(self, user: str, dirname: str, fname: str, sha: str) -> bytes:
        """Bytes of one artifact, checked against its sha256 (FileNotFoundError passes through).

        Symbolic links (the user's folder or the file) are never followed."""
        folder = self.path / USERS_DIR / dirname
        path = folder / fname
        try:
            if os.path.islink(folder):
                raise OSError(errno.ELOOP, "the user's folder is a symbolic link")
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StoreIntegrityError(
                user, f"cannot read stored data of user {user!r} ({fname}: "
                f"{exc.strerror or exc})") from exc
        if _sha256(data) != sha:
            raise StoreIntegrityError(
                user, f"stored data of user {user!r} is damaged: {fname} does not match its "
                "checksum; re-enroll the user (--re-enroll) or delete it")
        return data

    def _read_recording_file(self, user: str, dirname: str, fname: str, sha: str) -> Trajectory:
        from capture.errors import RecordingFormatError
        from capture.formats.native import read_native

        data = self._read_artifact(user, dirname, fname, sha)
        try:
            return read_native(self.path / USERS_DIR / dirname / fname, data)
        except RecordingFormatError as exc:
            raise StoreIntegrityError(
                user, f"stored recording of user {user!r} is unreadable ({exc})") from exc

    def _with_snapshot(self, user: str, load: Callable[[UserInfo, list[tuple]], Any]) -> Any:
        """Run ``load(info, recording_rows)``; retry if a concurrent re-enroll moved the files.

        The rows' keyed checksums are checked first."""
        for _ in range(20):
            key = user_key(user)
            with self._read() as c:
                row = c.execute(self._USER_SQL + " WHERE u.key = ?", (key,)).fetchone()
                recs = c.execute("SELECT idx, file, sha256, mac FROM recordings WHERE "
                                 "model_id = ? ORDER BY idx", (row[5],)).fetchall() if row else []
            if row is None:
                raise UnknownUserError(f"no user {normalize_user_id(user)!r} is enrolled in "
                                       f"{self.path}")
            self._check_model_row(row)
            for idx, fname, sha, rmac in recs:
                if not storekey.same(rmac, self._rec_mac(row[1], row[5], idx, fname, sha)):
                    raise StoreIntegrityError(
                        row[0], f"the stored recordings of user {row[0]!r} were changed outside "
                        "AirAuth (keyed checksum); re-enroll the user (--re-enroll --admin)")
            recs = [r[:3] for r in recs]
            info = self._user_from_row(row)
            try:
                return load(info, recs)
            except FileNotFoundError as exc:
                with self._read() as c:
                    now = c.execute("SELECT model_id FROM users WHERE key = ?", (key,)).fetchone()
                if now is not None and now[0] == info.model_id:
                    raise StoreIntegrityError(
                        info.name, f"stored data of user {info.name!r} is damaged: "
                        f"{Path(exc.filename or '?').name} is missing; re-enroll the user "
                        "(--re-enroll) or delete it") from exc
                time.sleep(0.01)  # changed under us: read the new rows
        raise StoreBusyError(f"user {normalize_user_id(user)!r} keeps being re-enrolled; "
                             "try again")

    def load_model_bytes(self, user: str) -> tuple[UserInfo, bytes]:
        """(user info, checksum-verified model bytes)."""
        return self._with_snapshot(user, lambda info, _recs: (info, self._read_artifact(
            info.name, info.dirname, info.model_file, info.model_sha256)))

    def load_verifier(self, user: str) -> tuple[UserInfo, Any]:
        """(user info, fitted ``models.base.Verifier``) with integrity checks."""
        from models.serialization import load_verifier

        info, data = self.load_model_bytes(user)
        try:
            return info, load_verifier(data)
        except AirAuthError as exc:
            raise StoreIntegrityError(
                info.name, f"stored model of user {info.name!r} cannot be loaded ({exc}); "
                "re-enroll the user (--re-enroll)") from exc

    def load_recordings(self, user: str) -> list[Trajectory]:
        """The user's enrollment recordings, checksum-verified."""
        return self._with_snapshot(user, lambda info, recs: [
            self._read_recording_file(info.name, info.dirname, f, sha) for _, f, sha in recs])

    def check_integrity(self) -> list[str]:
        """Problems found (one message per damaged user); empty when everything verifies."""
        problems = []
        for info in self.users():
            try:
                self.load_verifier(info.key)
                self.load_recordings(info.key)
            except StoreIntegrityError as exc:
                problems.append(str(exc))
        return problems

    # -- attempts, fingerprints, audit --------------------------------------------------------
    def _insert_fingerprint(self, c: sqlite3.Connection, key: str, source: str, ref: str,
                            created: float, fp: np.ndarray, version: int | None = None) -> None:
        arr = np.ascontiguousarray(fp, dtype=np.float32)
        if arr.ndim != 2:
            raise ValueError("a fingerprint is a 2-D array")
        version = FINGERPRINT_VERSION if version is None else int(version)
        data = arr.tobytes()
        c.execute("INSERT INTO fingerprints (user_key, source, ref, created, rows, cols, data, "
                  "version, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (key, source, ref, created, arr.shape[0], arr.shape[1], data, version,
                   self._fp_mac(key, source, ref, created, arr.shape[0], arr.shape[1], version,
                                data)))

    @staticmethod
    def _insert_audit(c: sqlite3.Connection, when: float, event: str, key: str | None,
                      name: str | None, detail: dict[str, Any]) -> None:
        c.execute("INSERT INTO audit (time, event, user_key, user_name, detail) "
                  "VALUES (?, ?, ?, ?, ?)",
                  (when, event, key, name, json.dumps(detail, sort_keys=True,
                                                      default=json_default)))

    def record_attempt(self, user: str, *, outcome: str, score: float | None, reason: str,
                       fingerprint: np.ndarray | None = None,
                       audit: Sequence[tuple[str, dict[str, Any]]] = (),
                       when: float | None = None) -> None:
        """Record one login attempt (+ its fingerprint and audit events) in one transaction.

        ``outcome`` "reset" marks the point from which failures count again (an unlock)."""
        name = normalize_user_id(user)
        key = user_key(name)
        now = self.clock() if when is None else when
        with self._write() as c:
            c.execute("INSERT INTO attempts (user_key, time, outcome, score, reason) "
                      "VALUES (?, ?, ?, ?, ?)", (key, now, outcome, score, reason))
            if fingerprint is not None:
                self._insert_fingerprint(c, key, "attempt",
                                         f"login attempt at {_fmt_time(now)}", now, fingerprint)
                c.execute(
                    "DELETE FROM fingerprints WHERE user_key = ? AND source = 'attempt' AND id "
                    "NOT IN (SELECT id FROM fingerprints WHERE user_key = ? AND source = "
                    "'attempt' ORDER BY created DESC, id DESC LIMIT ?)",
                    (key, key, MAX_ATTEMPT_FINGERPRINTS))
            for event, detail in audit:
                self._insert_audit(c, now, event, key, name, detail)

    def audit(self, event: str, user: str | None = None, detail: dict[str, Any] | None = None,
              when: float | None = None) -> None:
        """Append one event to the audit log."""
        name = normalize_user_id(user) if user is not None else None
        key = user_key(name) if name is not None else None
        with self._write() as c:
            self._insert_audit(c, self.clock() if when is None else when, event, key, name,
                               detail or {})

    def attempts(self, user: str, since: float | None = None) -> list[Attempt]:
        """Login attempts of ``user`` (oldest first), optionally only those at/after ``since``."""
        key = user_key(user)
        with self._read() as c:
            rows = c.execute(
                "SELECT id, user_key, time, outcome, score, reason FROM attempts "
                "WHERE user_key = ? AND (? IS NULL OR time >= ?) ORDER BY time, id",
                (key, since, since)).fetchall()
        return [Attempt(*r) for r in rows]

    def fingerprints(self, user: str) -> list[StoredFingerprint]:
        """Fingerprints of the user's enrollment recordings and past login attempts.

        Each row's keyed checksum is checked: a damaged or rewritten fingerprint would
        silently weaken the replay check, so it is an error (``StoreTamperedError``).
        """
        key = user_key(user)
        with self._read() as c:
            rows = c.execute("SELECT source, ref, created, rows, cols, version, data, mac "
                             "FROM fingerprints WHERE user_key = ? ORDER BY id",
                             (key,)).fetchall()
        out = []
        for source, ref, created, n, d, version, blob, mac in rows:
            if not isinstance(blob, bytes) or not storekey.same(
                    mac, self._fp_mac(key, source, ref, created, n, d, version, blob)):
                raise StoreTamperedError(
                    f"the replay history of user {normalize_user_id(user)!r} was changed "
                    f"outside AirAuth ({ref}: keyed checksum does not match); logins are "
                    "refused until an administrator re-enrolls or deletes the user")
            if n <= 0 or d not in (2, 3) or len(blob) != n * d * 4:
                raise StoreTamperedError(f"stored fingerprint {ref} of user "
                                         f"{normalize_user_id(user)!r} is damaged")
            arr = np.frombuffer(blob, dtype=np.float32).reshape(n, d)
            out.append(StoredFingerprint(source, ref, created, arr, int(version)))
        return out

    def audit_log(self, user: str | None = None) -> list[AuditEntry]:
        """Audit entries (oldest first), optionally of one user."""
        with self._read() as c:
            if user is None:
                rows = c.execute("SELECT id, time, event, user_name, detail FROM audit "
                                 "ORDER BY id").fetchall()
            else:
                rows = c.execute("SELECT id, time, event, user_name, detail FROM audit "
                                 "WHERE user_key = ? ORDER BY id", (user_key(user),)).fetchall()
        out = []
        for i, t, ev, name, detail in rows:
            try:
                d = json.loads(detail)
            except ValueError:
                d = {}
            out.append(AuditEntry(i, t, ev, name, d if isinstance(d, dict) else {}))
        return out

    # -- settings -------------------------------------------------------------------------------
    def get_settings(self) -> dict[str, Any]:
        """Store-wide settings (JSON values), e.g. the lockout policy an administrator chose.

        Every value's keyed checksum and range are checked (``authapp.settings_schema``): a
        value written outside AirAuth, or out of range, is an error naming it."""
        with self._read() as c:
            rows = c.execute("SELECT key, value, mac FROM settings").fetchall()
        out = {}
        for k, v, mac in rows:
            if not storekey.same(mac, self._setting_mac(k, v)):
                raise StoreTamperedError(f"store setting {k!r} was changed outside AirAuth "
                                         "(keyed checksum does not match); set it again with "
                                         "authapp settings")
            try:
                value = json.loads(v)
            except (ValueError, RecursionError) as exc:
                raise StoreError(f"store setting {k!r} is unreadable") from exc
            try:
                out[k] = check_value(k, value)
            except SettingError as exc:
                raise StoreError(f"store setting {k!r} is invalid: {exc}") from exc
        return out

    def set_setting(self, key: str, value: Any, verifier_kind: str | None = None) -> None:
        """Store one setting after checking it (``authapp.settings_schema``); audited.

        ``verifier_kind``: what ``verifier_params`` are checked against."""
        value = check_value(key, value, verifier_kind)
        text = json.dumps(value)
        with self._write() as c:
            c.execute("INSERT INTO settings (key, value, mac) VALUES (?, ?, ?) ON CONFLICT(key) "
                      "DO UPDATE SET value = excluded.value, mac = excluded.mac",
                      (key, text, self._setting_mac(key, text)))
            self._insert_audit(c, self.clock(), "setting", None, None, {key: value})

    def unset_setting(self, key: str) -> None:
        """Return one setting to its default; audited."""
        with self._write() as c:
            c.execute("DELETE FROM settings WHERE key = ?", (key,))
            self._insert_audit(c, self.clock(), "setting", None, None, {key: "default"})


def _fmt_time(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
