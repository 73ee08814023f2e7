"""What the service's calls return: ``EnrollmentReport``, ``VerifyResult``, ``IdentifyResult``.

Plain frozen records, kept apart from ``authapp.services`` so that the user interfaces that
only show results (the GUI's login tab, the CLI's output) depend on their shape, not on the
enrollment and scoring code; ``per_verifier_scores`` fills ``VerifyResult.per_verifier``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from authapp.security import ReplayMatch
from capture.trajectory import Trajectory
from models.base import Verifier
from models.quality import QualityReport

__all__ = ["EnrollmentReport", "IdentifyResult", "VerifyResult", "accepting_candidates",
           "per_verifier_scores", "score_rows"]

PART = "part of the score"
"""How a term of the score is labelled wherever it is shown (CLI, GUI)."""


@dataclass(frozen=True)
class EnrollmentReport:
    """What an enrollment did, for the UI: quality notes, model, threshold, timings (s)."""

    user: str
    verifier_kind: str
    verifier: Verifier
    threshold: float
    n_samples: int
    quality: QualityReport | None
    n_pseudo_genuine: int
    n_pseudo_impostors: int
    timings: dict[str, float]
    re_enrolled: bool
    notes: tuple[str, ...] = ()
    security: str | None = None
    authorised_by: str | None = None
    """Who authorised replacing or adding to an enrolled account ("proof" / "admin")."""

    def lines(self) -> list[str]:
        level = f", security {self.security}" if self.security else ""
        out = [f"enrolled {self.user!r}: {self.n_samples} samples, "
               + f"verifier {self.verifier_kind}{level}, threshold {self.threshold:.4g}"]
        if self.n_pseudo_genuine or self.n_pseudo_impostors:
            out.append(f"pseudo data: {self.n_pseudo_genuine} genuine, "
                       f"{self.n_pseudo_impostors} impostors")
        out += [f"note: {n}" for n in self.notes]
        out.append("time: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items()))
        return out


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of one 1:1 check.

    ``decision``: True = accepted as genuine. ``score``: the verifier's decision value
    (score minus its threshold; >= 0 accepts), None when no scoring happened (locked out,
    replay). ``raw_score``/``threshold``: before subtracting. ``per_verifier``: for a model
    made of several verifiers, each term's part of ``raw_score`` (members x weights, the
    constant; they add up to it, on the threshold's scale) plus the model's margin under its
    own name, listed last; for a single verifier, its margin. ``outcome``: "accept", "reject",
    "replay" or "locked". ``reason``: one sentence for the user.
    """

    user: str
    decision: bool
    score: float | None
    raw_score: float | None
    threshold: float | None
    per_verifier: dict[str, float]
    reason: str
    outcome: str
    replay_of: ReplayMatch | None = None
    locked_until: float | None = None
    public_reason: str | None = None
    adapted: bool = False
    """The login joined the user's references (template adaptation, ``authapp.services.adaptation``)."""

    @property
    def accepted(self) -> bool:
        return self.decision

    @property
    def message(self) -> str:
        """What to tell the person at the device: a rejection without the score, threshold
        or replay residual (they tell an attacker how far to go); ``reason`` has them."""
        return self.public_reason or self.reason


@dataclass(frozen=True)
class IdentifyResult:
    """Outcome of 1:N identification: ``user`` is None when no enrolled user accepts."""

    user: str | None
    score: float | None
    candidates: list[tuple[str, float]]  # (user, decision value), best first
    reason: str

    @property
    def identified(self) -> bool:
        return self.user is not None


def accepting_candidates(result: IdentifyResult) -> list[str]:
    """The accounts that accept the recording, best first: names only, and only when one is
    named (a rejection tells nothing about other accounts). What the CLI and the GUI list."""
    if not result.identified:
        return []
    return [name for name, value in result.candidates if value >= 0] or [str(result.user)]


def per_verifier_scores(verifier: Verifier, rec: Trajectory, kind: str) -> dict[str, float]:
    """The score's parts and the margin, all on the scale of the score and its threshold.

    A model made of several verifiers (``score_terms``: the fusion, the calibrated product
    verifier) gives each term's part of its score (member x weight, the cohort feature, the
    constant: they add up to the score), next to the model's margin under its own name; a
    single verifier just its margin. Members' own scores are not shown beside the score:
    they are on scales of their own (DTW's is minus a distance, negative for every sample),
    so "accept" beside all-negative members would read as a contradiction.
    """
    out: dict[str, float] = {}
    terms = getattr(verifier, "score_terms", None)
    if callable(terms):
        out = {t.name: float(np.asarray(t.part).ravel()[0]) for t in terms([rec])}
    out[kind] = float(verifier.decision_function([rec])[0])
    return out


def score_rows(r: VerifyResult) -> list[tuple[str, str]]:
    """(label, value) rows of a scored login in the reason line's own numbers: the deciding
    verifier's score and threshold (the same 4 digits), its margin, then the parts the score
    is the sum of, on the same scale. Used by the GUI's table and the CLI (``replay``,
    ``login -v``), so that every place shows scores one way.

    The service lists the deciding verifier last in ``per_verifier``, under its kind, with
    the margin as its value: shown once, as the margin, not again as a part.
    """
    if r.score is None or r.raw_score is None or r.threshold is None:
        return []
    *parts, (kind, _) = r.per_verifier.items() or [("verifier", r.score)]
    rows = [(f"{kind} score", f"{r.raw_score:.4g}"), ("threshold", f"{r.threshold:.4g}"),
            ("margin (>= 0 accepts)", f"{r.score:+.4g}")]
    rows += [(f"{name} ({PART})", f"{value + 0.0:+.4g}") for name, value in parts]
    return rows
