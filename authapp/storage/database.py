"""The store's database object: one SQLite connection shared by threads, its transactions
and busy retries, the flocks that serialise writers of files and the logins of one user, and
the key of the keyed checksums (``authapp.storage.keyed``).

The repositories (users, artifacts, history, settings, garbage) are each handed this one
object; ``authapp.storage.opening`` connects it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from authapp.storage.errors import StoreBusyError, StoreError
from authapp.storage.layout import DB_NAME, FILE_MODE, LOCKS_DIR, _crash_point
from authapp.userid import normalize_user_id, user_dirname

try:  # POSIX advisory locks; on other platforms writers rely on SQLite's locking alone
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]


class Database:
    """Connection, transactions, locks and key of one store folder ``path``.

    ``busy_timeout``: seconds to wait for another process's lock before ``StoreBusyError``.
    ``clock``: time source of the rows written. ``key``: the keyed checksums' key (loaded
    when the store is opened). Rows are read as ``sqlite3.Row`` (by column name).
    """

    def __init__(self, path: Path, busy_timeout: float, clock: Callable[[], float]) -> None:
        self.path = path
        self.busy_timeout = float(busy_timeout)
        self.clock = clock
        self.key = b""
        self.conn: sqlite3.Connection | None = None
        self.lock_fd: int | None = None
        self._mutex = threading.RLock()
        self._user_mutex = threading.RLock()  # threads of this process take turns too
        self._identify_mutex = threading.RLock()

    @property
    def schema_version(self) -> int:
        return int(self.connection().execute("PRAGMA user_version").fetchone()["user_version"])

    def close(self) -> None:
        with self._mutex:
            if self.conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.close()
                self.conn = None
            if self.lock_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self.lock_fd)
                self.lock_fd = None

    def connection(self) -> sqlite3.Connection:
        if self.conn is None:
            raise StoreError("the enrollment store is closed")
        return self.conn

    def retry(self, fn: Callable[[], Any]) -> Any:
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

    def db_error(self, exc: sqlite3.Error) -> StoreError:
        """A database failure as a message: a read-only file, a dropped table, a damaged
        page; never a traceback."""
        return StoreError(f"store database {self.path / DB_NAME} cannot be used: {exc} "
                          "(damaged, read-only or changed outside AirAuth)")

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: takes the write lock up front, no upgrades)."""
        with self._mutex:
            conn = self.connection()
            try:
                self.retry(lambda: conn.execute("BEGIN IMMEDIATE"))
            except sqlite3.Error as exc:
                raise self.db_error(exc) from exc
            try:
                yield conn
                _crash_point("before-commit")
                self.retry(lambda: conn.execute("COMMIT"))
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self.db_error(exc) from exc
                raise

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every SELECT inside sees the same snapshot."""
        with self._mutex:
            conn = self.connection()
            try:
                self.retry(lambda: conn.execute("BEGIN"))
            except sqlite3.Error as exc:
                raise self.db_error(exc) from exc
            try:
                yield conn
            except sqlite3.Error as exc:
                raise self.db_error(exc) from exc
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
        with self._flock(self.path / LOCKS_DIR / f"{user_dirname(name)}.lock",
                         self._user_mutex, f"user {name!r}", f"another login of user {name!r}"):
            yield

    @contextlib.contextmanager
    def identify_lock(self) -> Iterator[None]:
        """Exclusive store-wide lock of identifications (``locks/identify.lock``, a name no
        user's lock can have): their rate limit is checked and counted as one step. Taken
        before a user's lock, never inside one."""
        with self._flock(self.path / LOCKS_DIR / "identify.lock", self._identify_mutex,
                         "identification", "another identification"):
            yield

    @contextlib.contextmanager
    def _flock(self, path: Path, mutex: Any, what: str, holder: str) -> Iterator[None]:
        """flock ``path`` (``mutex``: this process's threads take turns first)."""
        with mutex:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
            except OSError as exc:
                raise StoreError(f"cannot lock {what} in {self.path}: "
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
                                    f"{holder} kept its lock for "
                                    f"{self.busy_timeout:.0f} s; try again") from None
                            time.sleep(0.005)
                yield
            finally:
                os.close(fd)  # releases the flock

    @contextlib.contextmanager
    def writer_lock(self, wait: bool = True) -> Iterator[bool]:
        """Exclusive flock serialising writers of files (saves, deletes, garbage collection).

        Yields False (without the lock) when ``wait`` is False and another writer holds it.
        """
        if fcntl is None or self.lock_fd is None:
            yield True
            return
        with self._mutex:
            if wait:
                deadline = time.monotonic() + self.busy_timeout
                while True:
                    try:
                        fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
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
                    fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
            try:
                yield True
            finally:
                fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
