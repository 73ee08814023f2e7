"""Opening a store: folders and modes, refusing a lost database, the store key, and bringing
an older schema up to date (``authapp.storage.migrations``).

Part of ``authapp.store.EnrollmentStore`` (a mixin: it uses the transactions, locks and
garbage collection of the other parts).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterable
from pathlib import Path

from authapp import storekey
from authapp.storage.errors import StoreError, StoreVersionError
from authapp.storage.layout import (
    DB_NAME,
    DIR_MODE,
    FILE_MODE,
    LOCK_NAME,
    LOCKS_DIR,
    QUARANTINE_DIR,
    TMP_DIR,
    USERS_DIR,
    _check_regular,
    _make_private_dir,
)
from authapp.storage.migrations import MIGRATIONS, SCHEMA_VERSION, MigrationContext
from authapp.userid import DIRNAME_RE

FULL_SWEEP_EVERY_S = 24 * 3600.0
"""At most this long between two full sweeps of the store at opening (``_sweep_on_open``)."""
SWEEP_MARK = "last-full-sweep"
"""File in ``locks/`` whose modification time is the last full sweep's."""


class StoreOpening:
    """Opening and upgrading (part of ``EnrollmentStore``)."""

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
            conn.row_factory = sqlite3.Row  # rows are read by column name
            mode = self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            if not mode or str(mode["journal_mode"]).lower() != "wal":
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
        self._refuse_orphaned_folders()
        self._sweep_on_open()

    def _sweep_on_open(self) -> None:
        """Clean up after crashes, and now and then after outside changes.

        Every opening sweeps the folders with registered garbage: a save registers its
        files before it writes them, so whatever a crash leaves (files, temporaries) is in
        those folders. The full sweep of every folder (modes, temporaries, files no row
        accounts for, to quarantine) walks the whole store: about 2 s of every command at
        10,000 users. It runs when ``FULL_SWEEP_EVERY_S`` has passed since the last one (the
        time of ``locks/last-full-sweep``) and whenever ``collect_garbage`` is called.
        Nothing the sweeps remove is ever read by a login: rows and keyed checksums decide
        what is loaded.
        """
        full = self._full_sweep_due()
        if full:
            self._repair_modes()
        with self._writer_lock(wait=False) as locked:
            if not locked:
                return  # another process is writing: it cleans up after itself
            self._collect_garbage_locked(None if full else ())
            if full:
                self._mark_full_sweep()

    def _full_sweep_due(self) -> bool:
        try:
            age = time.time() - os.lstat(self.path / LOCKS_DIR / SWEEP_MARK).st_mtime
        except OSError:
            return True
        return not 0 <= age < FULL_SWEEP_EVERY_S

    def _mark_full_sweep(self) -> None:
        with contextlib.suppress(OSError):
            fd = os.open(self.path / LOCKS_DIR / SWEEP_MARK,
                         os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
            os.close(fd)
            os.utime(self.path / LOCKS_DIR / SWEEP_MARK, follow_symlinks=False)

    def _refuse_orphaned_folders(self) -> None:
        """Refuse to open a database that lists no users next to user folders it did not
        register as garbage (see ``_refuse_lost_database``)."""
        with self._read() as c:
            if c.execute("SELECT COUNT(*) AS n FROM users").fetchone()["n"]:
                return
            pending = {r["path"] for r in c.execute("SELECT path FROM garbage")}
        if any(f"{f.name}/" not in pending for f in self._user_folders()):
            self._refuse_lost_database(0)

    def _user_folders(self, names: Iterable[str] | None = None) -> list[Path]:
        """Folders in ``users/`` named like the store names them (symlinks excluded): all of
        them, or those of ``names`` that exist (a clean-up after one save)."""
        base = self.path / USERS_DIR
        return [base / n for n in self._user_folder_names(names)]

    def _user_folder_names(self, names: Iterable[str] | None = None) -> list[str]:
        """``_user_folders``' names, sorted: one directory scan, file types from it, no path
        objects (opening a store of 10,000 users walks them twice)."""
        base = os.path.join(self.path, USERS_DIR)
        if names is None:
            with os.scandir(base) as it:
                found = [e.name for e in it
                         if DIRNAME_RE.match(e.name) and e.is_dir(follow_symlinks=False)]
        else:
            found = [n for n in names
                     if DIRNAME_RE.match(n) and _is_real_dir(os.path.join(base, n))]
        return sorted(found)

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
                    "(SELECT 1 FROM settings WHERE mac IS NOT NULL) AS keyed").fetchone()["keyed"]:
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
        top = [(os.path.join(self.path, d), d == LOCKS_DIR)
               for d in (USERS_DIR, TMP_DIR, LOCKS_DIR, QUARANTINE_DIR)]
        users = os.path.join(self.path, USERS_DIR)
        names = self._user_folder_names() if os.path.isdir(users) else []
        for folder, with_files in top + [(os.path.join(users, n), True) for n in names]:
            with contextlib.suppress(OSError):
                st = os.lstat(folder)
                if stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) != DIR_MODE:
                    os.chmod(folder, DIR_MODE)
                if not with_files:
                    continue
                with os.scandir(folder) as it:
                    for f in it:
                        fst = f.stat(follow_symlinks=False)
                        if stat.S_ISREG(fst.st_mode) and \
                                stat.S_IMODE(fst.st_mode) != FILE_MODE:
                            os.chmod(f.path, FILE_MODE)

    def _migrate(self) -> None:
        version = self.schema_version
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
            version = self.schema_version  # re-read under the lock
            context = MigrationContext(path=self.path, key=self._key, clock=self.clock)
            c.row_factory = None  # frozen migrations read rows as the tuples they were
            try:  # written for
                for v in range(version, SCHEMA_VERSION):
                    MIGRATIONS[v](c, context)
                    c.execute(f"PRAGMA user_version = {v + 1}")
            finally:
                c.row_factory = sqlite3.Row


def _is_real_dir(path: str | Path) -> bool:
    """A folder, not a symbolic link to one (and not missing)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
