"""The harness's data: the data set an experiment reads, cached per process, and its identity.

Kept apart from ``authapp.harness.protocol`` (who enrolls with what, against whom) because workers
load the data set themselves (``authapp.harness.runner``) and only need this: the cache keyed by the
folder's ``dataset_fingerprint``, so a worker that runs many identities reads it once, and a
changed folder is read again. ``ExperimentError`` is defined here, at the bottom of the
harness's imports, and re-exported by ``authapp.harness.protocol`` and ``authapp.harness.experiment``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from core.errors import AirAuthError

__all__ = ["ExperimentError", "dataset_fingerprint", "load", "skipped_file"]


class ExperimentError(AirAuthError):
    """The experiment cannot run as asked (bad data set, unknown method, nothing to test)."""



_DATASETS: dict[tuple[str, str | None, str], Any] = {}


def dataset_fingerprint(data_dir: Path) -> str:
    """Cheap identity of a directory's contents (paths, sizes, mtimes) for the worker cache."""
    h = hashlib.sha1()
    for root, dirs, files in os.walk(data_dir):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(root, name)
            try:
                st = os.stat(p)
            except OSError:
                continue
            h.update(f"{os.path.relpath(p, data_dir)}\x00{st.st_size}\x00{st.st_mtime_ns}\n"
                     .encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def load(data_dir: Path, fmt: str | None, fingerprint: str | None = None) -> Any:
    """``capture.datasets.load_dataset`` with a clear error and a per-process cache."""
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise ExperimentError(f"{data_dir} is a file, not a directory: an experiment runs on a "
                              "folder of recordings (authapp info FILE shows one recording)")
    if not data_dir.is_dir():
        raise ExperimentError(f"data directory not found: {data_dir}")
    fingerprint = fingerprint or dataset_fingerprint(data_dir)
    key = (str(data_dir.resolve()), fmt, fingerprint)
    if key not in _DATASETS:
        from capture.datasets import load_dataset

        _DATASETS.clear()  # one data set per process is enough; don't hoard memory
        _DATASETS[key] = load_dataset(data_dir, fmt)
    return _DATASETS[key]


def skipped_file(item: Any, data_dir: Path) -> str:
    """A data set's skipped-file entry, (path, reason) or anything else, as one line."""
    if isinstance(item, tuple) and len(item) == 2:
        path, reason = item
        try:
            path = os.path.relpath(path, data_dir)
        except ValueError:
            pass
        return f"{path}: {reason}"
    return str(item)
