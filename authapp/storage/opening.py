"""Opening a store: folders and modes, refusing a lost database, the store key, and bringing
an older schema up to date (``authapp.storage.migrations``).

``open_store`` connects the store's ``Database`` and cleans up with its garbage collector.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from pathlib import Path

from authapp import storekey
from authapp.storage.database import Database
from authapp.storage.errors import StoreError, StoreVersionError
from authapp.storage.garbage import GarbageCollection
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
    user_folder_names,
    user_folders,
)
from authapp.storage.migrations import MIGRATIONS, SCHEMA_VERSION, MigrationContext

FULL_SWEEP_EVERY_S = 24 * 3600.0
"""At most this long between two full sweeps of the store at opening (``sweep_on_open``)."""
SWEEP_MARK = "last-full-sweep"
"""File in ``locks/`` whose modification time is the last full sweep's."""


def open_store(db: Database, garbage: GarbageCollection) -> None:
    """Make or repair the folders, connect ``db`` to its file (WAL, full sync, foreign
    keys, rows by name), bring its schema up to date, refuse a lost database and clean up
    after crashes (``sweep_on_open``)."""
    path = db.path
    file = path / DB_NAME
    try:
        _make_private_dir(path, top=True)
        for sub in (USERS_DIR, TMP_DIR, LOCKS_DIR):
            _make_private_dir(path / sub)
        for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", LOCK_NAME,
                     storekey.KEY_NAME):
            _check_regular(path / name)
        fresh = not file.exists()
        if fresh:
            refuse_lost_database(path, 0)
        for name in (DB_NAME, LOCK_NAME):
            fd = os.open(path / name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
            if name == LOCK_NAME:
                db.lock_fd = fd
            else:
                os.close(fd)
    except OSError as exc:
        raise StoreError(f"cannot open store at {path}: {exc.strerror or exc}") from exc
    try:
        conn = sqlite3.connect(file, timeout=db.busy_timeout, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open store database {file}: {exc}") from exc
    db.conn = conn
    try:
        db.retry(lambda: conn.execute(f"PRAGMA busy_timeout = {int(db.busy_timeout * 1000)}"))
        conn.row_factory = sqlite3.Row  # rows are read by column name
        mode = db.retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
        if not mode or str(mode["journal_mode"]).lower() != "wal":
            raise StoreError(f"store database {file} cannot use WAL mode ({mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"store database {file} is damaged or not a database, or cannot be "
                         f"written ({exc})") from exc
    for suffix in ("-wal", "-shm"):  # SQLite copies the db's mode; make sure anyway
        with contextlib.suppress(OSError, StoreError):
            _check_regular(path / (DB_NAME + suffix))
    _refuse_orphaned_folders(db)
    sweep_on_open(db, garbage)


def sweep_on_open(db: Database, garbage: GarbageCollection) -> None:
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
    full = _full_sweep_due(db.path)
    if full:
        _repair_modes(db.path)
    with db.writer_lock(wait=False) as locked:
        if not locked:
            return  # another process is writing: it cleans up after itself
        garbage.collect_locked(None if full else ())
        if full:
            _mark_full_sweep(db.path)


def _full_sweep_due(path: Path) -> bool:
    try:
        age = time.time() - os.lstat(path / LOCKS_DIR / SWEEP_MARK).st_mtime
    except OSError:
        return True
    return not 0 <= age < FULL_SWEEP_EVERY_S


def _mark_full_sweep(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path / LOCKS_DIR / SWEEP_MARK,
                     os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
        os.close(fd)
        os.utime(path / LOCKS_DIR / SWEEP_MARK, follow_symlinks=False)


def _refuse_orphaned_folders(db: Database) -> None:
    """Refuse to open a database that lists no users next to user folders it did not
    register as garbage (see ``refuse_lost_database``)."""
    with db.read() as c:
        if c.execute("SELECT COUNT(*) AS n FROM users").fetchone()["n"]:
            return
        pending = {r["path"] for r in c.execute("SELECT path FROM garbage")}
    if any(f"{f.name}/" not in pending for f in user_folders(db.path)):
        refuse_lost_database(db.path, 0)


def refuse_lost_database(path: Path, n_users: int) -> None:
    """A database without users next to user folders was lost or replaced: opening it
    would make those folders look like garbage, so refuse and say so."""
    if n_users:
        return
    folders = user_folders(path) if (path / USERS_DIR).is_dir() else []
    if folders:
        raise StoreError(
            f"the store database {path / DB_NAME} lists no users, but "
            f"{path / USERS_DIR} holds {len(folders)} user folder(s): the database "
            "was lost or replaced. Restore it (and secret.key) from a backup; nothing was "
            "changed")


def _load_key(db: Database, version: int) -> bytes:
    """The store's HMAC key; created with a new store (or when an older one is upgraded).
    Missing in a store whose rows carry keyed checksums, it is refused: every check
    would fail."""
    path = db.path / storekey.KEY_NAME
    try:
        key = storekey.read_key(path)
        if key is not None:
            return key
        if version >= 3 and db.connection().execute(
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


def _repair_modes(path: Path) -> None:
    """Owner-only modes below the top: folders 0700, files 0600 (symlinks untouched)."""
    top = [(os.path.join(path, d), d == LOCKS_DIR)
           for d in (USERS_DIR, TMP_DIR, LOCKS_DIR, QUARANTINE_DIR)]
    users = os.path.join(path, USERS_DIR)
    names = user_folder_names(path) if os.path.isdir(users) else []
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
                    if stat.S_ISREG(fst.st_mode) and stat.S_IMODE(fst.st_mode) != FILE_MODE:
                        os.chmod(f.path, FILE_MODE)


def _migrate(db: Database) -> None:
    version = db.schema_version
    if version > SCHEMA_VERSION:
        raise StoreVersionError(
            f"store at {db.path} has schema version {version}, newer than this AirAuth "
            f"supports ({SCHEMA_VERSION}): upgrade AirAuth"
        )
    if version == 0:
        refuse_lost_database(db.path, 0)
    db.key = _load_key(db, version)
    if version == SCHEMA_VERSION:
        return
    with db.writer_lock(), db.write() as c:
        version = db.schema_version  # re-read under the lock
        context = MigrationContext(path=db.path, key=db.key, clock=db.clock)
        c.row_factory = None  # frozen migrations read rows as the tuples they were
        try:  # written for
            for v in range(version, SCHEMA_VERSION):
                MIGRATIONS[v](c, context)
                c.execute(f"PRAGMA user_version = {v + 1}")
        finally:
            c.row_factory = sqlite3.Row
