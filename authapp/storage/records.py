"""What the enrollment store hands back to callers (read-only records, no files read) and the
attempt outcomes that the lockout policy counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np


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


class RecordingRow(NamedTuple):
    """What a model's recordings list (and its seal) holds of one stored recording."""

    idx: int
    file: str
    sha256: str


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
    version: int = 2  # see ``authapp.security.FINGERPRINT_VERSION``
    description: np.ndarray | None = None  # ``authapp.replay_prefilter.describe_one``, if stored


FAILED_OUTCOMES = ("reject", "replay")
"""Attempt outcomes that count towards a lockout ("locked" ones do not: no extension loops)."""
FINGERPRINT_VERSION = 2
"""Version of the fingerprints the store is given (``authapp.security.FINGERPRINT_VERSION``,
repeated here so that the store does not import the scoring code; a test keeps them equal)."""
RESET_OUTCOMES = ("accept", "reset")
"""Attempt outcomes after which earlier failures no longer count ("reset": an administrator's
unlock, a re-enrollment)."""
