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

__all__ = ["EnrollmentReport", "IdentifyResult", "VerifyResult", "per_verifier_scores"]


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
    replay). ``raw_score``/``threshold``: before subtracting. ``per_verifier``: for a fusion,
    each member's normalised score (higher = more genuine) plus the fusion's margin under its
    own name; for a single verifier, its margin. ``outcome``: "accept", "reject",
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
    """The login joined the user's references (template adaptation, ``authapp.adapt``)."""

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


def per_verifier_scores(verifier: Verifier, rec: Trajectory, kind: str) -> dict[str, float]:
    """Per-verifier scores: the members' own scores (higher = more genuine) of a model made
    of several verifiers, next to the model's margin under its own name; for a single
    verifier just its margin."""
    out: dict[str, float] = {}
    members = getattr(verifier, "member_scores", None)
    if callable(members) and len(getattr(verifier, "members", ())) > 1:
        out = {str(k): float(np.asarray(v).ravel()[0]) for k, v in members([rec]).items()}
    out[kind] = float(verifier.decision_function([rec])[0])
    return out

