"""Where things live in a store directory and how the store makes its folders and files.

Owner-only modes, no symbolic links followed, every file written all-or-nothing
(``core.files.atomic_write``). The crash hook lets tests kill a save at a named step.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from authapp.storage.errors import StoreError
from authapp.userid import DIRNAME_RE
from core.files import atomic_write

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
ARTIFACT_RE = re.compile(r"^(model|rec)-[0-9a-f]{64}\.npz$")
"""Names the store gives the files it writes into a user folder."""


def default_store_path() -> Path:
    """``$AIRAUTH_STORE`` if set, else ``enrollment_data`` in the current directory."""
    return Path(os.environ.get(DEFAULT_STORE_ENV) or DEFAULT_STORE_DIR)


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
    """Write ``folder/name`` all-or-nothing with mode 0600 (``core.files.atomic_write``)."""
    atomic_write(folder / name, data, mode=FILE_MODE,
                 before_replace=lambda: _crash_point("file-written"))


def user_folders(store: Path, names: Iterable[str] | None = None) -> list[Path]:
    """Folders in ``users/`` named like the store names them (symlinks excluded): all of
    them, or those of ``names`` that exist (a clean-up after one save)."""
    base = store / USERS_DIR
    return [base / n for n in user_folder_names(store, names)]


def user_folder_names(store: Path, names: Iterable[str] | None = None) -> list[str]:
    """``user_folders``' names, sorted: one directory scan, file types from it, no path
    objects (opening a store of 10,000 users walks them twice)."""
    base = os.path.join(store, USERS_DIR)
    if names is None:
        with os.scandir(base) as it:
            found = [e.name for e in it
                     if DIRNAME_RE.match(e.name) and e.is_dir(follow_symlinks=False)]
    else:
        found = [n for n in names
                 if DIRNAME_RE.match(n) and is_real_dir(os.path.join(base, n))]
    return sorted(found)


def is_real_dir(path: str | Path) -> bool:
    """A folder, not a symbolic link to one (and not missing)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


_CRASH_HOOK: Callable[[str], None] | None = None
"""Tests set this to kill the process at a named step of a save (fault injection)."""


def _crash_point(name: str) -> None:
    if _CRASH_HOOK is not None:
        _CRASH_HOOK(name)

