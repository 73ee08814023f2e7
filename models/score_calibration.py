"""Writer-independent score calibration: one mapping and one threshold per security level.

A user enrolls with 3-5 samples and no impostor samples, so a threshold set from the spread
of those few samples is unstable: one odd sample loosens it for everyone (ISO/IEC 19795
calls the result a "lamb"). The field's answer (``../shared/docs/methods.md``) is to learn
the decision rule on a *development population* with known genuine and impostor attempts:
the member verifiers' per-user normalised scores are mapped to one calibrated score (a
logistic regression, i.e. a log-likelihood-ratio estimate) and a **security level** names a
target false-accept rate on that population, which fixes a single global threshold.

Where the development data hold skilled forgeries (SVC2004), a level's threshold meets both
its random-impostor and its skilled-forgery target; in-air data have none, so there the
random target alone sets it (and the skilled rate is unknown, which reports say).

With a **cohort** (other people's recordings: the store's other users, the harness's other
fold) the first member's score is also Z-normalised against the cohort's scores under the
user's model and given to the mapping as one more feature (T/Z-norm, methods.md): it tells
how this account's impostor scores lie, which a handful of genuine samples cannot. Separate
mappings are learned with and without that feature, so a store's first users (no cohort yet)
get one made for them. The mapping is a logistic regression with non-negative weights: a
member may be ignored, but a more genuine-looking member score never lowers the result (a
negative weight is what 10 development people teach by chance; it does not carry over).

A ``ScoreCalibration`` is plain data (JSON): which members it applies to, the mapping, the
thresholds per level and how it was made. It is stored with every model it calibrates, so a
later change of the shipped file never silently changes an enrolled account.

This module is that data and its use; learning one is ``models.score_calibration_fit``, and
the thresholds that keep a level's promise on other people and among N accounts are
``models.level_thresholds``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import AirAuthError
from core.files import atomic_write
from models import calibration as loo_calibration

FORMAT = "airauth-calibration"
VERSION = 1
SCORE_CLIP = 50.0
"""Member scores are clipped to +-this before the mapping: a wildly off recording (a scribble
DTW puts 500 spreads away) must not dominate a linear map fitted on ordinary attempts."""


@dataclass(frozen=True)
class SecurityLevel:
    """Target false-accept rates a level's threshold is set for on the development data."""

    random_far: float
    skilled_far: float


SECURITY_LEVELS: dict[str, SecurityLevel] = {
    "low": SecurityLevel(random_far=0.01, skilled_far=0.10),
    "normal": SecurityLevel(random_far=0.001, skilled_far=0.05),
    "high": SecurityLevel(random_far=0.0001, skilled_far=0.02),
}
DEFAULT_LEVEL = "normal"
MIN_COHORT = 20
"""Cohort recordings (from at least ``MIN_COHORT_PEOPLE`` people) needed before the cohort
feature is used: fewer give a mean and spread too noisy to normalise by."""
MIN_COHORT_PEOPLE = 4
MAX_CALIBRATION_BYTES = 1 << 20
"""A calibration is a few numbers; a bigger file is not one (refused before parsing)."""


class CalibrationError(AirAuthError, ValueError):
    """A calibration that cannot be used: missing, corrupt, another version, wrong members."""


def check_level(level: str) -> str:
    if level not in SECURITY_LEVELS:
        raise CalibrationError(f"unknown security level {level!r}; known: "
                               f"{', '.join(SECURITY_LEVELS)}")
    return level


def _finite(value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise CalibrationError(f"calibration field {what} is not a number") from None
    if not math.isfinite(v):
        raise CalibrationError(f"calibration field {what} is not finite")
    return v


@dataclass(frozen=True)
class ScoreCalibration:
    """Mapping of a member-score vector to one calibrated score, and thresholds per level.

    ``members`` / ``member_params``: the verifiers (registry names, constructor params) whose
    scores it maps, in column order; ``dims``: 2 (pen) or 3 (in-air) -- score scales differ.
    ``cohort``: whether the mapping uses the cohort feature (see the module docstring).
    ``coef`` / ``intercept``: calibrated = features @ coef + intercept (``features``).
    ``thresholds``: security level -> threshold on the calibrated score.
    ``provenance``: how it was made (data, people, attempts, the development operating points).
    """

    members: tuple[str, ...]
    member_params: Mapping[str, Mapping[str, Any]]
    dims: int
    cohort: bool
    coef: tuple[float, ...]
    intercept: float
    thresholds: Mapping[str, float]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.members or len(self.coef) != len(self.members) + int(self.cohort):
            raise CalibrationError("calibration has no members or a coefficient per member "
                                   "is missing")
        if self.dims not in (2, 3):
            raise CalibrationError(f"calibration dims must be 2 or 3, got {self.dims}")
        for level in SECURITY_LEVELS:
            if level not in self.thresholds:
                raise CalibrationError(f"calibration has no threshold for level {level!r}")

    # -- use --------------------------------------------------------------------------------
    def features(self, raw: np.ndarray, cohort_raw: np.ndarray | None = None) -> np.ndarray:
        """The mapping's input: clipped member scores (+ the cohort feature)."""
        return calibration_features(raw, len(self.members),
                                    cohort_raw if self.cohort else None, self.cohort)

    def transform(self, raw: np.ndarray, cohort_raw: np.ndarray | None = None) -> np.ndarray:
        """Calibrated scores of an (n, members) matrix of member scores; ``cohort_raw``:
        the cohort's member scores under the same model (needed when ``cohort``)."""
        return self.features(raw, cohort_raw) @ np.asarray(self.coef) + self.intercept

    def threshold(self, level: str) -> float:
        return float(self.thresholds[check_level(level)])

    def matches(self, members: Sequence[str], member_params: Mapping[str, Any],
                dims: int, cohort: bool | None = None) -> bool:
        """Was this calibration made for exactly these members, parameters and dims (and,
        when given, with or without the cohort feature)?"""
        return (tuple(members) == self.members and dims == self.dims
                and (cohort is None or cohort == self.cohort)
                and _canonical(members, member_params)
                == _canonical(self.members, self.member_params))

    # -- plain data -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "members": list(self.members),
                "member_params": {k: dict(v) for k, v in self.member_params.items()},
                "dims": self.dims, "cohort": self.cohort, "coef": list(self.coef), "intercept": self.intercept,
                "thresholds": dict(self.thresholds), "provenance": dict(self.provenance)}

    @classmethod
    def from_dict(cls, d: Any) -> ScoreCalibration:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise CalibrationError("not an AirAuth calibration (format field missing)")
        if d.get("version") != VERSION:
            raise CalibrationError(f"calibration version {d.get('version')!r} is not "
                                   f"supported (expected {VERSION}): re-make it with "
                                   "scripts/make_calibration.py")
        try:
            members = tuple(str(m) for m in d["members"])
            params = {str(k): dict(v) for k, v in dict(d.get("member_params") or {}).items()}
            coef = tuple(_finite(c, "coef") for c in d["coef"])
            thresholds = {str(k): _finite(v, f"thresholds.{k}")
                          for k, v in dict(d["thresholds"]).items()}
            dims = int(d["dims"])
            cohort = d["cohort"]
            if not isinstance(cohort, bool):
                raise CalibrationError("calibration field cohort must be true or false")
            intercept = _finite(d["intercept"], "intercept")
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, CalibrationError):
                raise
            raise CalibrationError(f"calibration is incomplete or malformed ({exc})") from None
        provenance = d.get("provenance") or {}
        if not isinstance(provenance, dict):
            raise CalibrationError("calibration provenance must be an object")
        return cls(members, params, dims, cohort, coef, intercept, thresholds, provenance)


def cohort_usable(n_recordings: int, n_people: int) -> bool:
    """Is a cohort big enough for the cohort feature (``MIN_COHORT``)?"""
    return n_recordings >= MIN_COHORT and n_people >= MIN_COHORT_PEOPLE


def _clip(x: np.ndarray) -> np.ndarray:
    return np.clip(np.nan_to_num(np.asarray(x, dtype=np.float64), nan=-SCORE_CLIP),
                   -SCORE_CLIP, SCORE_CLIP)


def calibration_features(raw: np.ndarray, n_members: int, cohort_raw: np.ndarray | None,
                         cohort: bool) -> np.ndarray:
    """Clipped member scores, plus (``cohort``) the first member's score Z-normalised by the
    cohort's scores of that member under the same model."""
    x = np.asarray(raw, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != n_members:
        raise CalibrationError(f"expected (n, {n_members}) member scores, got shape {x.shape}")
    x = _clip(x)
    if not cohort:
        return x
    c = None if cohort_raw is None else np.asarray(cohort_raw, dtype=np.float64)
    if c is None or c.ndim != 2 or c.shape[1] != n_members or len(c) < 2:
        raise CalibrationError("this calibration needs the cohort's scores (other people's "
                               "recordings under the user's model)")
    first = _clip(c[:, 0])
    mu, sd = loo_calibration.mean_std(first, min_std=1e-3)
    return np.column_stack([x, _clip((x[:, 0] - mu) / sd)])


def _canonical(members: Sequence[str], params: Mapping[str, Any]) -> str:
    """The members' parameters that differ from their defaults, as canonical JSON: members
    are identified by registry name + those (``{"window": 0.15}`` is DTW's default, so it
    identifies the same DTW as ``{}``). ``random_state`` does not identify a member: the
    harness seeds every fit differently, and one calibration serves them all."""
    from models.registry import VERIFIERS

    out = {}
    for name in sorted(set(members) | set(params)):
        own = {k: v for k, v in dict(params.get(name) or {}).items() if k != "random_state"}
        if name in VERIFIERS:
            own = VERIFIERS.non_default(name, own)
        if own:
            out[name] = own
    return json.dumps(out, sort_keys=True, default=str)


SET_FORMAT = "airauth-calibration-set"


@dataclass(frozen=True)
class CalibrationSet:
    """Several calibrations in one file (verifier kinds x pen/in-air x with/without cohort)."""

    entries: tuple[ScoreCalibration, ...]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def find(self, members: Sequence[str], member_params: Mapping[str, Any], dims: int,
             cohort: bool) -> ScoreCalibration:
        for cal in self.entries:
            if cal.matches(members, member_params, dims, cohort):
                return cal
        raise CalibrationError(
            f"no calibration for verifier members {list(members)} on {dims}-D data "
            f"{'with' if cohort else 'without'} a cohort (parameters "
            f"{_canonical(members, member_params)}); make one with scripts/make_calibration.py")

    def to_dict(self) -> dict[str, Any]:
        return {"format": SET_FORMAT, "version": VERSION, "provenance": dict(self.provenance),
                "entries": [c.to_dict() for c in self.entries]}

    @classmethod
    def from_dict(cls, d: Any) -> CalibrationSet:
        if isinstance(d, dict) and d.get("format") == FORMAT:  # a single calibration
            return cls((ScoreCalibration.from_dict(d),))
        if not isinstance(d, dict) or d.get("format") != SET_FORMAT:
            raise CalibrationError("not an AirAuth calibration file (format field missing)")
        if d.get("version") != VERSION:
            raise CalibrationError(f"calibration file version {d.get('version')!r} is not "
                                   f"supported (expected {VERSION}): re-make it with "
                                   "scripts/make_calibration.py")
        entries = d.get("entries")
        if not isinstance(entries, list) or not entries:
            raise CalibrationError("calibration file holds no calibrations")
        prov = d.get("provenance") or {}
        if not isinstance(prov, dict):
            raise CalibrationError("calibration provenance must be an object")
        return cls(tuple(ScoreCalibration.from_dict(e) for e in entries), prov)

    def save(self, path: str | os.PathLike[str]) -> None:
        atomic_write(path, json.dumps(self.to_dict(), indent=1) + "\n")


SHIPPED_CALIBRATION = Path(__file__).resolve().parent / "calibration_data" / "shipped.json"
"""The calibrations the package ships (made by ``scripts/make_calibration.py``; see the
README next to it for how and from what)."""


def shipped_calibrations() -> CalibrationSet:
    return load_calibrations(SHIPPED_CALIBRATION)


def load_calibrations(path: str | os.PathLike[str]) -> CalibrationSet:
    """A calibration file, or a ``CalibrationError`` that says what is wrong with it."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_CALIBRATION_BYTES:
            raise CalibrationError(f"{p} is {size} bytes: too large to be a calibration")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CalibrationError(f"calibration file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"calibration file {p} cannot be read ({exc})") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise CalibrationError(f"calibration file {p} is corrupt ({exc})") from None
    try:
        return CalibrationSet.from_dict(data)
    except CalibrationError as exc:
        raise CalibrationError(f"{p}: {exc}") from None

