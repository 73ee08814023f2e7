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

from capture.errors import AirAuthError
from capture.files import atomic_write
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



def identification_threshold(cal: ScoreCalibration | Mapping[str, float], level: str,
                             n_enrolled: int) -> float:
    """Threshold on the calibrated score for a 1:N search among ``n_enrolled`` accounts that
    keeps ``level``'s random FAR as the rate of strangers named as someone.

    An open-set search names a stranger when any of the N accounts accepts them, so its false
    identification rate is at most N x the per-comparison FAR (the union bound; about equal
    when it is small). Keeping the level's promise for 1:N therefore needs the threshold of a
    per-comparison FAR of ``random_far / N``. The calibration knows three points of its
    development impostors' tail: each level's threshold is that of its random-FAR target
    (1 %, 0.1 %, 0.01 %; on pen data the skilled target may raise it, which only makes what
    follows stricter). Between them the threshold is interpolated linearly in log FAR; below
    the strictest level it is extrapolated along the last segment -- an assumption: the
    impostor scores' tail is exponential there (measured on Leap with N = 12: no
    never-enrolled attempt named at level normal, README "Identification among N") --
    never below the level's own threshold (``n_enrolled`` <= 1 gives it).
    ``cal``: a calibration or its ``thresholds`` mapping.
    """
    thresholds = cal.thresholds if isinstance(cal, ScoreCalibration) else cal
    base = float(thresholds[check_level(level)])
    if n_enrolled <= 1:
        return base
    pts = sorted((math.log10(t.random_far), float(thresholds[lv]))
                 for lv, t in SECURITY_LEVELS.items())  # log FAR increasing
    x = math.log10(SECURITY_LEVELS[level].random_far / n_enrolled)
    (x0, y0), (x1, y1) = pts[0], pts[1]
    if x >= x0:
        thr = float(np.interp(x, [p[0] for p in pts], [p[1] for p in pts]))
    else:
        slope = (y1 - y0) / (x1 - x0)
        if slope >= 0:  # a strictest level no stricter than the next: use the whole span
            slope = (pts[-1][1] - y0) / (pts[-1][0] - x0)
        thr = y0 + (x - x0) * min(slope, 0.0)
    return max(base, thr)


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


# -- learning one -------------------------------------------------------------------------------
def _weights(*groups: np.ndarray) -> np.ndarray:
    """Each group weighs the same in total, whatever its size (classes are not balanced)."""
    w = np.concatenate([np.full(len(g), 1.0 / len(g)) for g in groups if len(g)])
    return w / w.mean()


def nonnegative_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-4
                         ) -> tuple[np.ndarray, float]:
    """(coef >= 0, intercept) of a weighted, lightly L2-penalised logistic regression.

    scikit-learn's LogisticRegression cannot bound coefficients; L-BFGS-B with bounds on the
    same loss can (see the module docstring for why the bound).
    """
    from scipy.optimize import minimize

    n_feat = x.shape[1]
    sign = 2.0 * y - 1.0
    wsum = float(np.sum(w))

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        coef, b = p[:n_feat], p[n_feat]
        m = -sign * (x @ coef + b)
        value = float(np.sum(w * np.logaddexp(0.0, m)) / wsum + l2 * coef @ coef)
        g = -(w * sign) * (0.5 * (1.0 + np.tanh(0.5 * m)))  # d/dz of the loss terms
        return value, np.r_[x.T @ g / wsum + 2.0 * l2 * coef, np.sum(g) / wsum]

    start = np.r_[np.full(n_feat, 0.1), 0.0]
    res = minimize(loss, start, jac=True, method="L-BFGS-B",
                   bounds=[(0.0, None)] * n_feat + [(None, None)])
    return res.x[:n_feat].copy(), float(res.x[n_feat])


@dataclass
class DevelopmentScores:
    """Member scores of development trials, one entry per enrollment (account).

    ``genuine`` / ``random`` / ``skilled``: (n, members) scores of that account's genuine
    attempts, other people's attempts and skilled forgeries; ``cohort``: the cohort's scores
    under the account's model (None without a cohort).
    """

    genuine: list[np.ndarray] = field(default_factory=list)
    random: list[np.ndarray] = field(default_factory=list)
    skilled: list[np.ndarray] = field(default_factory=list)
    cohort: list[np.ndarray | None] = field(default_factory=list)
    person: list[str | None] = field(default_factory=list)
    """Who enrolled each account (None: unknown, the account is its own person)."""
    random_people: list[np.ndarray | None] = field(default_factory=list)
    """Who wrote each random attempt (None: unknown)."""

    def add(self, genuine: np.ndarray, random: np.ndarray, skilled: np.ndarray,
            cohort: np.ndarray | None, person: str | None = None,
            random_people: Sequence[str] | None = None) -> None:
        self.genuine.append(np.asarray(genuine, dtype=np.float64))
        self.random.append(np.asarray(random, dtype=np.float64))
        self.skilled.append(np.asarray(skilled, dtype=np.float64))
        self.cohort.append(None if cohort is None else np.asarray(cohort, dtype=np.float64))
        self.person.append(person)
        self.random_people.append(None if random_people is None
                                  else np.asarray(random_people, dtype=str))

    def random_clusters(self, n_members: int) -> list[np.ndarray]:
        """Per random attempt (in ``random``'s order): the enrolled person and the writer, as
        integer codes -- the two ways attempts hang together (an easy account, "lamb", is
        easy for every stranger; a good impostor, "wolf", for many accounts). Unknown people
        are coded one per account / attempt."""
        owners, writers = [], []
        for k, r in enumerate(self.random):
            n = r.size // n_members  # rows as fit_calibration reads them
            who = self.person[k] if k < len(self.person) else None
            owners += [f"person:{who}" if who is not None else f"account:{k}"] * n
            wr = self.random_people[k] if k < len(self.random_people) else None
            writers += ([f"person:{w}" for w in wr] if wr is not None and len(wr) == n
                        else [f"attempt:{k}:{j}" for j in range(n)])
        return [np.unique(np.asarray(owners), return_inverse=True)[1],
                np.unique(np.asarray(writers), return_inverse=True)[1]]

    def __len__(self) -> int:
        return len(self.genuine)


THRESHOLD_CONFIDENCE = 0.9
"""Level thresholds hold their random-FAR targets on this share of resampled development
populations (``people_threshold_for_far``); 0.5 is the plain threshold. Chosen on Leap,
leave-people-out: the trade between kept promise and FRR is in the README ("Promise
table")."""
BOOTSTRAP_RESAMPLES = 200


def people_threshold_for_far(scores: np.ndarray, far: float, clusters: Sequence[np.ndarray],
                             confidence: float = THRESHOLD_CONFIDENCE,
                             n_boot: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> float:
    """A threshold that keeps ``far`` on *other* people, not only on these.

    The empirical threshold (``threshold_for_far``) meets the target on the development
    attempts, but impostor tails differ from one group of people to the next: a few easy
    accounts and good impostors make the top impostor scores, and a new population has its
    own: on Leap, the thresholds learned on one fold let in several times their target on
    the other fold (README). Here
    the people are resampled (a two-way "pigeonhole" bootstrap: enrolled people and writers
    of the attempts drawn with replacement, each independently; an attempt weighs the product
    of its two multiplicities), the empirical threshold is taken on every resample, and the
    ``confidence`` quantile of those thresholds is returned (never below the plain one): the
    target holds for that share of populations like the development one.
    ``clusters``: per score, integer codes of each way (``DevelopmentScores.random_clusters``).
    """
    s = np.asarray(scores, dtype=np.float64)
    plain = loo_calibration.threshold_for_far(s, far)
    if n_boot < 1 or not clusters:
        return plain
    order = np.argsort(-s, kind="stable")
    s_desc = s[order]
    codes = [np.asarray(c)[order] for c in clusters]
    rng = np.random.default_rng(seed)
    found = np.empty(n_boot)
    for b in range(n_boot):
        w = np.ones(s.size)
        for c in codes:
            n = int(c.max()) + 1
            w *= np.bincount(rng.integers(0, n, n), minlength=n)[c]
        allowed = np.floor(far * w.sum())
        k = int(np.searchsorted(np.cumsum(w), allowed, side="right"))  # first cum > allowed
        found[b] = np.inf if k >= s.size else np.nextafter(s_desc[k], np.inf)
    found = found[np.isfinite(found)]
    if found.size == 0:
        return plain
    return float(max(plain, np.quantile(found, confidence)))


def fit_calibration(dev: DevelopmentScores, members: Sequence[str],
                    member_params: Mapping[str, Mapping[str, Any]], dims: int, cohort: bool,
                    provenance: Mapping[str, Any] | None = None) -> ScoreCalibration:
    """Learn the mapping and the level thresholds from development accounts' attempts.

    Every attempt was scored by the model of an account that is not its writer's own; the
    mapping weighs genuine, random-impostor and (when present) skilled-forgery attempts
    equally in total, and each level's threshold meets its targets on the same attempts.
    """
    n = len(members)

    def feats(parts: list[np.ndarray]) -> np.ndarray:
        rows = [calibration_features(p.reshape(-1, n), n, c, cohort)
                for p, c in zip(parts, dev.cohort) if p.size]
        return np.vstack(rows) if rows else np.zeros((0, n + int(cohort)))

    g, r, s = feats(dev.genuine), feats(dev.random), feats(dev.skilled)
    if len(g) < 10 or len(r) < 10:
        raise CalibrationError("too few development attempts to calibrate (need at least 10 "
                               "genuine and 10 impostor attempts)")
    x = np.vstack([g, r, s])
    y = np.r_[np.ones(len(g)), np.zeros(len(r) + len(s))]
    coef, intercept = nonnegative_logistic(x, y, _weights(g, r, s))
    cal_g, cal_r = g @ coef + intercept, r @ coef + intercept
    cal_s = s @ coef + intercept if len(s) else None
    thresholds: dict[str, float] = {}
    points: dict[str, Any] = {}
    clusters = dev.random_clusters(n)
    for level, target in SECURITY_LEVELS.items():
        thr = people_threshold_for_far(cal_r, target.random_far, clusters)
        if cal_s is not None:
            thr = max(thr, loo_calibration.threshold_for_far(cal_s, target.skilled_far))
        thresholds[level] = float(thr)
        points[level] = {"frr": float(np.mean(cal_g < thr)),
                         "random_far": float(np.mean(cal_r >= thr)),
                         "skilled_far": None if cal_s is None else float(np.mean(cal_s >= thr))}
    prov = dict(provenance or {})
    prov.update({"accounts": len(dev), "genuine_attempts": len(g),
                 "random_attempts": len(r), "skilled_attempts": len(s),
                 "development_operating_points": points,
                 "levels": {k: {"random_far": v.random_far, "skilled_far": v.skilled_far}
                            for k, v in SECURITY_LEVELS.items()}})
    return ScoreCalibration(tuple(members), {k: dict(v) for k, v in member_params.items()},
                            int(dims), bool(cohort), tuple(float(c) for c in coef),
                            float(intercept), thresholds, prov)
