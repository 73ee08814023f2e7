"""All-or-nothing file writes: the one ``atomic_write`` every writer of the product uses.

Recordings, fitted models in the store, cached network weights, calibration files and
experiment reports must never be seen half-written, whoever crashes or runs alongside: the
data go to a temp file with a unique name in the target's folder (two writers never share
one), which is fsynced, given its final mode and renamed over the target; the folder is then
fsynced so that the rename itself survives a power loss. Lives in ``core`` because every
layer writes files and none should own the rule for the others.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path

TEMP_PREFIX = ".tmp-"
TEMP_RE = re.compile(r"^\.tmp-[0-9a-f]{32}$")
"""Names of the temp files ``atomic_write`` renames into place (left over only by a crash;
the enrollment store removes them from its folders)."""


def default_mode() -> int:
    """An ordinary file's mode under this process's umask (0666 & ~umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename or a new entry in ``folder`` durable; best effort (not every platform
    can open a folder)."""
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


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, mode: int | None = None,
                 exclusive: bool = False,
                 before_replace: Callable[[], None] | None = None) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` all-or-nothing and return the path.

    ``mode``: the file's permission bits (default: ``default_mode()``; 0o600 for what is
    derived from biometric data or secret). ``exclusive``: never replace an existing file
    (``FileExistsError`` instead; the file is linked into place, so a reader sees all of it
    or nothing). ``before_replace``: called after the temp file is written and fsynced,
    before the rename (crash tests hook in there). The folder must exist; ``OSError`` passes
    through for the caller to word.
    """
    target = Path(path)
    folder = target.parent
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    bits = default_mode() if mode is None else mode
    tmp = folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), bits)
    try:
        try:
            os.fchmod(fd, bits)  # the umask may have narrowed what os.open gave
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if before_replace is not None:
            before_replace()
        if exclusive:
            os.link(tmp, target)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(folder)
    return target
