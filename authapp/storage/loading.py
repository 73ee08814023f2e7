"""Loading a user's model and recordings: checksum-verified, never through a symbolic link,
retried when a concurrent re-enrollment moved the files.

A repository over the store's ``Database`` (``authapp.store.EnrollmentStore`` fronts it).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from authapp import storekey
from authapp.storage import keyed
from authapp.storage.database import Database
from authapp.storage.errors import StoreBusyError, StoreIntegrityError, UnknownUserError
from authapp.storage.layout import USERS_DIR, _sha256
from authapp.storage.records import RecordingRow, UserInfo
from authapp.storage.seals import Seals
from authapp.storage.users import USER_SQL, UserRecords, user_from_row
from authapp.userid import normalize_user_id, user_key
from capture.trajectory import Trajectory
from core.errors import AirAuthError


class ArtifactLoading:
    """Reading stored artifacts: a user's rows, their keyed checksums, then the files."""

    def __init__(self, db: Database, seals: Seals, users: UserRecords) -> None:
        self.db = db
        self.seals = seals
        self.users = users

    def _read_artifact(self, user: str, dirname: str, fname: str, sha: str) -> bytes:
        """Bytes of one artifact, checked against its sha256 (FileNotFoundError passes through).

        Symbolic links (the user's folder or the file) are never followed."""
        folder = self.db.path / USERS_DIR / dirname
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
        from capture.formats.native import read_native
        from core.errors import RecordingFormatError

        data = self._read_artifact(user, dirname, fname, sha)
        try:
            return read_native(self.db.path / USERS_DIR / dirname / fname, data)
        except RecordingFormatError as exc:
            raise StoreIntegrityError(
                user, f"stored recording of user {user!r} is unreadable ({exc})") from exc

    def _with_snapshot(self, user: str,
                       load: Callable[[UserInfo, list[RecordingRow]], Any]) -> Any:
        """Run ``load(info, recording_rows)``; retry if a concurrent re-enroll moved the files.

        The rows' keyed checksums are checked first."""
        for _ in range(20):
            key = user_key(user)
            with self.db.read() as c:
                row = c.execute(USER_SQL + " WHERE u.key = ?", (key,)).fetchone()
                if row is None:
                    raise UnknownUserError(f"no user {normalize_user_id(user)!r} is enrolled "
                                           f"in {self.db.path}")
                stored = c.execute("SELECT idx, file, sha256, mac FROM recordings WHERE "
                                   "model_id = ? ORDER BY idx", (row["model_id"],)).fetchall()
                recs = [RecordingRow(r["idx"], r["file"], r["sha256"]) for r in stored]
                keyed.check_model_row(self.db.key, row)
                self.seals.check_recordings_seal(c, row["name"], row["key"], row["model_id"], recs)
            for rec, r in zip(recs, stored):
                if not storekey.same(r["mac"], keyed.rec_mac(self.db.key, row["key"], row["model_id"],
                                                            rec.idx, rec.file, rec.sha256)):
                    raise StoreIntegrityError(
                        row["name"], f"the stored recordings of user {row['name']!r} were "
                        "changed outside AirAuth (keyed checksum); re-enroll the user "
                        "(--re-enroll --admin)")
            info = user_from_row(row)
            try:
                return load(info, recs)
            except FileNotFoundError as exc:
                with self.db.read() as c:
                    now = c.execute("SELECT model_id FROM users WHERE key = ?", (key,)).fetchone()
                if now is not None and now["model_id"] == info.model_id:
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
            self._read_recording_file(info.name, info.dirname, r.file, r.sha256) for r in recs])

    def check_integrity(self) -> list[str]:
        """Problems found (one message per damaged user); empty when everything verifies."""
        problems = []
        for info in self.users.users():
            try:
                self.load_verifier(info.key)
                self.load_recordings(info.key)
            except StoreIntegrityError as exc:
                problems.append(str(exc))
        return problems
