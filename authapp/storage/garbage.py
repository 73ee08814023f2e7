"""Garbage collection: deleting only files the store registered (table ``garbage``) once
no row references them, removing temporaries, and quarantining what it cannot account for.

A repository over the store's ``Database`` (``authapp.store.EnrollmentStore`` fronts it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from authapp.storage.database import Database
from authapp.storage.layout import (
    QUARANTINE_DIR,
    TMP_DIR,
    USERS_DIR,
    _crash_point,
    _make_private_dir,
    user_folder_names,
)
from authapp.storage.seals import Seals
from core.files import TEMP_RE

SCOPE_MAX = 500
"""More folders than this in one scoped clean-up (a long backlog of registered garbage):
sweep them all instead (and keep the SQL query's parameter list short)."""


class GarbageCollection:
    """Clean-up of files nothing references."""

    def __init__(self, db: Database, seals: Seals) -> None:
        self.db = db
        self.seals = seals

    def collect_garbage(self, wait: bool = True) -> int:
        """Delete the store's own files that no row references any more (registered in
        ``garbage`` before they were written, or when their rows went); quarantine what it
        cannot account for. Returns how many files were removed.

        With ``wait=False`` it does nothing while another process is writing. Clean-up is
        best effort: a file it may not delete is left for the next time, not an error.
        """
        with self.db.writer_lock(wait=wait) as locked:
            if not locked:
                return 0
            return self.collect_locked()

    def collect_locked(self, only: Iterable[str] | None = None) -> int:
        """``only``: the user folders (dirnames) a save or delete touched. Then only those
        folders (and the registered garbage's) are searched for temporaries and unknown
        files, so that an enrollment does not walk every user's folder: a store of 10,000
        users slowed to 80 enrollments a minute. Opening the store sweeps them all now and
        then (``authapp.storage.opening.sweep_on_open``); ``only=()``: the registered garbage's
        folders alone."""
        with self.db.read() as c:
            garbage = [r["path"] for r in c.execute("SELECT path FROM garbage ORDER BY path")]
            scope = None if only is None else \
                set(only) | {rel.split("/", 1)[0] for rel in garbage}
            if scope is not None and len(scope) > SCOPE_MAX:
                scope = None
            where, args, join = "", (), "JOIN"
            if scope is not None:
                where = f" WHERE u.dirname IN ({', '.join('?' * len(scope))})"
                args = tuple(sorted(scope))
                join = "CROSS JOIN"  # users by their dirname index first, then recordings
                # by theirs (SQLite would otherwise scan every recording)
            users = {r["dirname"] for r in c.execute(
                f"SELECT u.dirname AS dirname FROM users u{where}", args)}
            referenced = {f"{r['dirname']}/{r['file']}" for r in c.execute(
                f"SELECT u.dirname AS dirname, m.file AS file FROM users u {join} models m "
                "ON m.user_id = u.id" + where, args)}
            referenced |= {f"{r['dirname']}/{r['file']}" for r in c.execute(
                f"SELECT u.dirname AS dirname, r.file AS file FROM users u {join} models m "
                f"ON m.user_id = u.id {join} recordings r ON r.model_id = m.id" + where, args)}
        removed = 0
        done: list[str] = []
        users_dir = self.db.path / USERS_DIR
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
            with self.db.write() as c:
                c.executemany("DELETE FROM garbage WHERE path = ?", [(r,) for r in done])
        try:  # one listing of the folders serves both sweeps below
            listing = self._list_folders(scope)
        except OSError:
            listing = None
        removed += self._remove_temporaries(listing)
        if listing is not None:
            self._quarantine_unknown(users, referenced, listing)
        return removed

    def _list_folders(self, scope: set[str] | None) -> dict[str, list[os.DirEntry]]:
        """The user folders (all, or those in ``scope``) by name, and their entries; a
        folder that cannot be listed has none."""
        out: dict[str, list[os.DirEntry]] = {}
        base = os.path.join(self.db.path, USERS_DIR)
        for name in user_folder_names(self.db.path, scope):
            try:
                with os.scandir(os.path.join(base, name)) as it:
                    out[name] = list(it)
            except OSError:
                out[name] = []
        return out

    def _remove_temporaries(self, listing: dict[str, list[os.DirEntry]] | None) -> int:
        """Temp files of interrupted writes (``.tmp-<hex>`` in user folders) and whatever
        is in ``tmp/`` (scratch space by definition); links are removed, never followed."""
        removed = 0
        for entries in (listing or {}).values():
            for f in entries:
                if TEMP_RE.match(f.name) and not f.is_dir(follow_symlinks=False):
                    with contextlib.suppress(OSError):
                        os.unlink(f.path)
                        removed += 1
        with contextlib.suppress(OSError):
            for f in (self.db.path / TMP_DIR).iterdir():
                with contextlib.suppress(OSError):
                    if f.is_dir() and not f.is_symlink():
                        shutil.rmtree(f)
                    else:
                        f.unlink()
                    removed += 1
        return removed

    def _quarantine_unknown(self, users: set[str], referenced: set[str],
                            listing: dict[str, list[os.DirEntry]]) -> None:
        """Move user folders and artifact files that no row accounts for (and that are not
        registered garbage) to ``quarantine/``, with an audit entry; delete nothing."""
        with self.db.read() as c:
            pending = {r["path"] for r in c.execute("SELECT path FROM garbage")}
        unknown: list[Path] = []
        base = self.db.path / USERS_DIR
        for name, entries in listing.items():
            if name not in users:
                if f"{name}/" not in pending:
                    unknown.append(base / name)
                continue
            for f in entries:
                rel = f"{name}/{f.name}"
                if rel not in referenced and rel not in pending and not TEMP_RE.match(f.name):
                    unknown.append(base / name / f.name)
        if not unknown or not users:
            return  # (no users at all: a lost database, refused on open, not quarantined)
        qdir = self.db.path / QUARANTINE_DIR
        moved = []
        try:
            _make_private_dir(qdir)
            stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.db.clock()))
            for item in unknown:
                name = f"{stamp}-{item.parent.name + '-' if item.parent.name != USERS_DIR else ''}{item.name}"
                dest = qdir / name
                if dest.exists():
                    dest = qdir / f"{name}-{uuid.uuid4().hex[:8]}"
                os.rename(item, dest)
                moved.append(str(item.relative_to(self.db.path)))
        except OSError:
            pass
        if moved:
            with self.db.write() as c:
                self.seals.insert_audit(c, self.db.clock(), "quarantine", None, None,
                                   {"moved": moved, "to": QUARANTINE_DIR})
