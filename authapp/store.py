"""The enrollment store: an SQLite database plus content-addressed artifact files.

Layout of a store directory (all owner-only: directories 0700, files 0600)::

    store.sqlite3          users, models, recordings, attempts, audit log, fingerprints, settings
    .lock                  writers hold an exclusive flock on it while they change files
    users/<dirname>/       one folder per user (name from ``authapp.userid.user_dirname``)
        model-<sha256>.npz     fitted verifier (``models.serialization``; npz + JSON, no pickle)
        rec-<sha256>.npz       enrollment recordings (native format, ``capture.formats.native``)
    tmp/                   scratch space, emptied on open

Why it is crash-safe: a save first writes every new file under a new content-addressed name
(temp file, fsync, ``os.replace``, fsync of the folder), then switches the database rows in one
SQLite transaction, then deletes files no row references any more. A crash before the commit
leaves unreferenced files (old state intact), a crash after it leaves stale files (new state
intact); both are removed by the next writer or the next open. Readers never take the writer
lock: when a file they were about to read was just collected, they re-read the rows and retry.

Every artifact's sha256 is kept in the database and checked on load, so a damaged file gives a
``StoreIntegrityError`` naming the user instead of a wrong decision or a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
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

from authapp.userid import (
    DIRNAME_RE,
    ConfusableUserIdError,
    find_confusable,
    normalize_user_id,
    user_dirname,
    user_key,
)
from capture.errors import AirAuthError
from capture.formats.native import json_default
from capture.trajectory import Trajectory

try:  # POSIX advisory locks; on other platforms writers rely on SQLite's locking alone
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

DB_NAME = "store.sqlite3"
LOCK_NAME = ".lock"
USERS_DIR = "users"
TMP_DIR = "tmp"
DIR_MODE = 0o700
FILE_MODE = 0o600
DEFAULT_STORE_ENV = "AIRAUTH_STORE"
DEFAULT_STORE_DIR = "enrollment_data"
MAX_ATTEMPT_FINGERPRINTS = 500
"""Fingerprints of past login attempts kept per user (oldest dropped first)."""


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


FAILED_OUTCOMES = ("reject", "replay")
"""Attempt outcomes that count towards a lockout ("locked" ones do not: no extension loops)."""


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
    from authapp.security import fingerprint

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


MIGRATIONS: tuple[Callable[[EnrollmentStore, sqlite3.Connection], None], ...] = (
    _migrate_v1,
    _migrate_v2,
)
"""MIGRATIONS[i] upgrades schema version i to i + 1 (``PRAGMA user_version``)."""

SCHEMA_VERSION = len(MIGRATIONS)


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


# -- small file helpers -------------------------------------------------------------------------
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _make_private_dir(path: Path) -> None:
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        os.chmod(path, DIR_MODE)


def _write_private_file(folder: Path, name: str, data: bytes) -> None:
    """Write ``folder/name`` all-or-nothing with mode 0600 (temp + fsync + rename + dir fsync)."""
    tmp = folder / f".tmp-{uuid.uuid4().hex}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        try:
            os.fchmod(fd, FILE_MODE)
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        _crash_point("file-written")
        os.replace(tmp, folder / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


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
            _make_private_dir(self.path)
            _make_private_dir(self.path / USERS_DIR)
            _make_private_dir(self.path / TMP_DIR)
            for name in (DB_NAME, LOCK_NAME):
                fd = os.open(self.path / name, os.O_RDWR | os.O_CREAT, FILE_MODE)
                if name == LOCK_NAME:
                    self._lock_fd = fd
                else:
                    os.close(fd)
                os.chmod(self.path / name, FILE_MODE)
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
            raise StoreError(f"store database {db} is damaged or not a database ({exc})") from exc
        for suffix in ("-wal", "-shm"):  # SQLite copies the db's mode; make sure anyway
            side = self.path / (DB_NAME + suffix)
            with contextlib.suppress(OSError):
                if side.exists() and stat.S_IMODE(side.stat().st_mode) != FILE_MODE:
                    os.chmod(side, FILE_MODE)
        self.collect_garbage(wait=False)

    def _migrate(self) -> None:
        conn = self._connection()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"store at {self.path} has schema version {version}, newer than this AirAuth "
                f"supports ({SCHEMA_VERSION}): upgrade AirAuth"
            )
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

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: takes the write lock up front, no upgrades)."""
        with self._mutex:
            conn = self._connection()
            self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
            try:
                yield conn
                _crash_point("before-commit")
                self._retry(lambda: conn.execute("COMMIT"))
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every SELECT inside sees the same snapshot."""
        with self._mutex:
            conn = self._connection()
            self._retry(lambda: conn.execute("BEGIN"))
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("COMMIT")

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
        "m.sha256, m.metadata, (SELECT COUNT(*) FROM recordings r WHERE r.model_id = m.id) "
        "FROM users u JOIN models m ON m.id = u.model_id"
    )

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
                        fingerprints: Sequence[np.ndarray] | None = None) -> UserInfo:
        """Store (or atomically replace) a user's enrollment: recordings, model bytes, metadata.

        ``fingerprints`` (one per recording, from ``authapp.security.fingerprint``) are kept for
        replay detection. Raises ``DuplicateUserError`` if the user exists and not ``re_enroll``.
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
            if not folder.is_dir():
                _make_private_dir(folder)
                _fsync_dir(folder.parent)  # the new folder's entry survives a power loss
            # 1. new files under content-addressed names (old ones untouched)
            model_sha = _sha256(model)
            model_file = f"model-{model_sha}.npz"
            _write_private_file(folder, model_file, model)
            rec_rows = []
            for i, blob in enumerate(blobs):
                sha = _sha256(blob)
                fname = f"rec-{sha}.npz"
                _write_private_file(folder, fname, blob)
                rec_rows.append((i, fname, sha, len(blob)))
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
                    "metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (user_id, verifier_kind, model_file, model_sha, len(model), now, meta_json))
                model_id = cur.lastrowid
                c.executemany(
                    "INSERT INTO recordings (model_id, idx, file, sha256, size) "
                    "VALUES (?, ?, ?, ?, ?)", [(model_id, *r) for r in rec_rows])
                c.execute("UPDATE users SET model_id = ?, updated = ?, name = ? WHERE id = ?",
                          (model_id, now, name, user_id))
                if old_model is not None:
                    c.execute("DELETE FROM models WHERE id = ?", (old_model,))
                for i, fp in enumerate(fingerprints or []):
                    self._insert_fingerprint(c, key, "enroll", f"enrollment sample {i + 1}",
                                             now, fp)
                self._insert_audit(c, now, "re_enroll" if old_model is not None else "enroll",
                                   key, name, {"verifier": verifier_kind,
                                               "samples": len(recordings)})
            _crash_point("committed")
            # 3. drop files nothing references any more
            self._collect_garbage_locked()
        return self.get_user(key)

    def delete_user(self, user: str) -> None:
        """Remove a user: rows (model, recordings, attempts, fingerprints) and then files."""
        name = normalize_user_id(user)
        key = user_key(name)
        with self._writer_lock():
            with self._write() as c:
                row = c.execute("SELECT id, name FROM users WHERE key = ?", (key,)).fetchone()
                if row is None:
                    raise UnknownUserError(f"no user {name!r} is enrolled in {self.path}")
                c.execute("DELETE FROM models WHERE user_id = ?", (row[0],))
                c.execute("DELETE FROM users WHERE id = ?", (row[0],))
                c.execute("DELETE FROM attempts WHERE user_key = ?", (key,))
                c.execute("DELETE FROM fingerprints WHERE user_key = ?", (key,))
                self._insert_audit(c, self.clock(), "delete", key, row[1], {})
            _crash_point("committed")
            self._collect_garbage_locked()

    # -- garbage collection -------------------------------------------------------------------
    def collect_garbage(self, wait: bool = True) -> int:
        """Delete files no database row references (left by a crash); returns how many.

        With ``wait=False`` it does nothing while another process is writing.
        """
        with self._writer_lock(wait=wait) as locked:
            if not locked:
                return 0
            return self._collect_garbage_locked()

    def _collect_garbage_locked(self) -> int:
        with self._read() as c:
            dirs = {r[0] for r in c.execute("SELECT dirname FROM users")}
            referenced = set(c.execute(
                "SELECT u.dirname, m.file FROM users u JOIN models m ON m.user_id = u.id"))
            referenced |= set(c.execute(
                "SELECT u.dirname, r.file FROM users u JOIN models m ON m.user_id = u.id "
                "JOIN recordings r ON r.model_id = m.id"))
        removed = 0
        users_dir = self.path / USERS_DIR
        for entry in sorted(users_dir.iterdir()):
            if not DIRNAME_RE.match(entry.name) or not entry.is_dir() or entry.is_symlink():
                continue  # not ours: leave foreign things alone
            if entry.name not in dirs:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
                continue
            for f in entry.iterdir():
                if (entry.name, f.name) not in referenced:
                    with contextlib.suppress(OSError):
                        f.unlink()
                        removed += 1
                        _crash_point("collecting")
        tmp = self.path / TMP_DIR
        for f in tmp.iterdir():
            with contextlib.suppress(OSError):
                shutil.rmtree(f) if f.is_dir() and not f.is_symlink() else f.unlink()
                removed += 1
        return removed

    # -- loading --------------------------------------------------------------------------------
    def _read_artifact(self, user: str, dirname: str, fname: str, sha: str) -> bytes:
        """Bytes of one artifact, checked against its sha256 (FileNotFoundError passes through)."""
        path = self.path / USERS_DIR / dirname / fname
        try:
            data = path.read_bytes()
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

        self._read_artifact(user, dirname, fname, sha)
        try:
            return read_native(self.path / USERS_DIR / dirname / fname)
        except RecordingFormatError as exc:
            raise StoreIntegrityError(
                user, f"stored recording of user {user!r} is unreadable ({exc})") from exc

    def _with_snapshot(self, user: str, load: Callable[[UserInfo, list[tuple]], Any]) -> Any:
        """Run ``load(info, recording_rows)``; retry if a concurrent re-enroll moved the files."""
        for _ in range(20):
            key = user_key(user)
            with self._read() as c:
                row = c.execute(self._USER_SQL + " WHERE u.key = ?", (key,)).fetchone()
                recs = c.execute("SELECT idx, file, sha256 FROM recordings WHERE model_id = ? "
                                 "ORDER BY idx", (row[5],)).fetchall() if row else []
            if row is None:
                raise UnknownUserError(f"no user {normalize_user_id(user)!r} is enrolled in "
                                       f"{self.path}")
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
    @staticmethod
    def _insert_fingerprint(c: sqlite3.Connection, key: str, source: str, ref: str,
                            created: float, fp: np.ndarray) -> None:
        arr = np.ascontiguousarray(fp, dtype=np.float32)
        if arr.ndim != 2:
            raise ValueError("a fingerprint is a 2-D array")
        c.execute("INSERT INTO fingerprints (user_key, source, ref, created, rows, cols, data) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (key, source, ref, created, arr.shape[0], arr.shape[1], arr.tobytes()))

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
        """Record one login attempt (+ its fingerprint and audit events) in one transaction."""
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
        """Fingerprints of the user's enrollment recordings and past login attempts."""
        key = user_key(user)
        with self._read() as c:
            rows = c.execute("SELECT source, ref, created, rows, cols, data FROM fingerprints "
                             "WHERE user_key = ? ORDER BY id", (key,)).fetchall()
        out = []
        for source, ref, created, n, d, blob in rows:
            arr = np.frombuffer(blob, dtype=np.float32)
            if arr.size != n * d:
                continue  # a damaged fingerprint only weakens replay detection; skip it
            out.append(StoredFingerprint(source, ref, created, arr.reshape(n, d)))
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
        """Store-wide settings (JSON values), e.g. the lockout policy an administrator chose."""
        with self._read() as c:
            rows = c.execute("SELECT key, value FROM settings").fetchall()
        out = {}
        for k, v in rows:
            with contextlib.suppress(ValueError):
                out[k] = json.loads(v)
        return out

    def set_setting(self, key: str, value: Any) -> None:
        with self._write() as c:
            c.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) "
                      "DO UPDATE SET value = excluded.value", (key, json.dumps(value)))
            self._insert_audit(c, self.clock(), "setting", None, None, {key: value})


def _fmt_time(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
