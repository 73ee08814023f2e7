"""A folder of recordings as a verification dataset: identities -> genuine samples and forgeries.

Files that cannot be used are collected in ``Dataset.skipped`` as ``(path, reason)`` instead
of aborting: a researcher running an experiment over hundreds of files wants the run to go on,
but must be able to see what was left out.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from capture.formats import FORMATS, READERS, detect_format
from capture.formats import fmkit as fmkit_format
from capture.formats import svc2004 as svc_format
from capture.formats._text import natural_key
from capture.trajectory import Label, Trajectory
from core.errors import AirAuthError, RecordingFormatError

log = logging.getLogger(__name__)

_NOT_RECORDINGS = {".md", ".rst", ".pdf", ".json", ".yaml", ".yml", ".py", ".zip", ".gz"}
"""Documentation and other files that sit next to recordings and are silently ignored."""


class UnknownIdentityError(AirAuthError, KeyError):
    """An identity that the dataset does not hold."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


@dataclass
class Dataset:
    """Recordings grouped by identity. Lists are in a deterministic (numeric sample) order."""

    name: str
    root: Path
    format: str | None
    _genuine: dict[str, list[Trajectory]] = field(default_factory=dict, repr=False)
    _forgeries: dict[str, list[Trajectory]] = field(default_factory=dict, repr=False)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def identities(self) -> list[str]:
        """Identities with at least one genuine sample, sorted (numbers compared as numbers)."""
        return sorted((k for k, v in self._genuine.items() if v), key=natural_key)

    def genuine(self, identity: str) -> list[Trajectory]:
        self._check(identity)
        return list(self._genuine[identity])

    def forgeries(self, identity: str) -> list[Trajectory]:
        """Skilled forgeries of ``identity`` (empty when the dataset has none for it)."""
        self._check(identity)
        return list(self._forgeries.get(identity, []))

    @property
    def has_forgeries(self) -> bool:
        return any(self._forgeries.values())

    def __len__(self) -> int:
        return sum(map(len, self._genuine.values())) + sum(map(len, self._forgeries.values()))

    def _check(self, identity: str) -> None:
        if identity not in self._genuine or not self._genuine[identity]:
            raise UnknownIdentityError(f"dataset {self.name!r} has no identity {identity!r}")


def _candidate_files(root: Path, fmt: str | None) -> list[Path]:
    if fmt in ("fmkit", "svc2004"):
        files = [p for p in root.iterdir() if p.is_file()]
    elif fmt == "leapcsv":
        files = list(root.glob("*.csv")) + list(root.glob("*/*.csv"))
    elif fmt == "native":
        files = list(root.rglob("*.npz"))
    else:
        files = [p for p in root.rglob("*") if p.is_file()]
    return [
        p
        for p in files
        if not p.name.startswith(".")
        and p.suffix.lower() not in _NOT_RECORDINGS
        and not p.name.upper().startswith(("LICENSE", "README"))
    ]


def _sample_key(traj: Trajectory, path: Path) -> tuple:
    sample = traj.meta.extra.get("sample")
    if isinstance(sample, int):
        return (0, sample, natural_key(path.name))
    return (1, 0, natural_key(str(path)))


def _identity_from_name(fmt: str, path: Path) -> tuple[str, Label] | None:
    """Identity and label that FMKit and SVC2004 encode in the file name (None: from meta)."""
    if fmt == "fmkit":
        parsed = fmkit_format.parse_name(path.name)
        if parsed is None:
            raise RecordingFormatError(
                "file name does not follow FMKit's <user>_<content>_<nn>.txt, identity unknown"
            )
        return f"{parsed[0]}_{parsed[1]}", Label.GENUINE
    if fmt == "svc2004":
        parsed_svc = svc_format.parse_name(path.name)
        if parsed_svc is None:
            raise RecordingFormatError(
                "file name does not follow SVC2004's U<u>S<n>.TXT, identity unknown"
            )
        return parsed_svc[0], parsed_svc[2]
    return None


def _identity_from_meta(fmt: str, traj: Trajectory) -> tuple[str, Label]:
    meta = traj.meta
    if fmt == "leapcsv":  # the folder is the person
        return meta.user, Label.GENUINE
    if not meta.user:
        raise RecordingFormatError("recording has no user in its metadata")
    identity = f"{meta.user}_{meta.content}" if meta.content else meta.user
    return identity, meta.label


def load_dataset(data_dir: str | os.PathLike[str], format: str | None = None) -> Dataset:
    """Load every recording under ``data_dir``; ``format`` None detects it file by file."""
    root = Path(data_dir)
    if not root.is_dir():
        raise RecordingFormatError(f"{root}: not a folder of recordings")
    if format is not None and format not in FORMATS:
        raise RecordingFormatError(
            f"unknown dataset format {format!r} (expected one of: {', '.join(FORMATS)})"
        )
    ds = Dataset(name=root.name, root=root, format=format)
    entries: list[tuple[str, Label, tuple, Trajectory]] = []
    for path in sorted(_candidate_files(root, format), key=lambda p: natural_key(str(p))):
        try:
            fmt = format or detect_format(path)
            named = _identity_from_name(fmt, path)  # before parsing: cheap rejection
            traj = READERS[fmt](path)
            identity, label = named or _identity_from_meta(fmt, traj)
        except AirAuthError as exc:
            reason = str(exc).removeprefix(f"{path}: ")  # the path is listed beside it
            ds.skipped.append((path, reason))
            continue
        if label not in (Label.GENUINE, Label.SKILLED_FORGERY):
            ds.skipped.append((path, f"label {label.value!r} is neither genuine nor a forgery"))
            continue
        # the file in DATA_DIR (a native recording's meta.source says where it was first recorded)
        traj = traj.with_meta(extra={**(traj.meta.extra or {}), "file": str(path)})
        entries.append((identity, label, _sample_key(traj, path), traj))
    for identity, label, _, traj in sorted(entries, key=lambda e: (e[0], e[2])):
        target = ds._genuine if label is Label.GENUINE else ds._forgeries
        target.setdefault(identity, []).append(traj)
    for identity in [i for i in ds._forgeries if not ds._genuine.get(i)]:
        for traj in ds._forgeries.pop(identity):
            reason = "forgery of an identity without genuine samples"
            ds.skipped.append((Path(traj.meta.source), reason))
    for path, reason in ds.skipped:
        log.warning("skipped %s: %s", path, reason)
    n_genuine = sum(len(v) for v in ds._genuine.values())
    n_forged = sum(len(v) for v in ds._forgeries.values())
    log.info("%s: %d genuine recordings and %d forgeries of %d identities, %d file(s) skipped",
             root, n_genuine, n_forged, len(ds.identities), len(ds.skipped))
    return ds
