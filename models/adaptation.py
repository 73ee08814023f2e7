"""Template adaptation: confident genuine logins join a user's references, within bounds.

Writing drifts between sittings (speed, size, slant, stroke timing), so a model fitted on one
sitting's samples rejects more of the same person's writing a week later. The field's answer
(``../shared/docs/methods.md``, "Ageing") is self-update: a login accepted with a margin well
above the login threshold is added to the references, the original enrollment samples always
stay, and the number of adapted ones is bounded (oldest out). Its known risk is poisoning: an
imitator accepted once pulls the account towards them. Two rules bound that here:

- **Confidence.** Only a login whose calibrated decision value is at least ``margin`` above
  the account's threshold qualifies. Skilled forgeries that get in do so just above the
  threshold; genuine writing of the same person mostly scores far above it.
- **Templates, not spread.** Adapted samples are tagged (``mark_adapted``): the verifiers
  match against them, but the user's spread -- which scales every score and which the
  calibration's thresholds were learned with -- stays that of the enrollment samples (as
  FMKit lets the template drift while its uncertainty stays). Measured: letting adapted
  samples widen the spread bought FRR with skilled FAR one for one (README).
- **Anchoring.** The candidate must also pass the account's threshold under the model of the
  *enrollment samples alone* (``anchor``): adapted samples can widen what the account accepts
  only around writing that the original enrollment already accepts, so a chain of adapted
  forgeries cannot walk the model away from the enrolled writer.

This module is pure computation: ``AuthService`` (the product) and the experiment harness
(``authapp.harness.runner``, replaying later-session attempts in recorded order) both call
``AdaptationPolicy`` and ``refit``, so the harness measures what the product does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from capture.trajectory import Trajectory
from models.base import ParameterError
from models.calibration import is_adapted

DEFAULT_MAX_ADAPTED = 10
"""Adapted samples kept beside the enrollment samples (oldest out)."""
DEFAULT_MARGIN = 1.0
"""Calibrated decision value (natural-log likelihood-ratio units above the account's
threshold) a login needs to be adapted; chosen by measurement (README, "Template
adaptation")."""


@dataclass(frozen=True)
class AdaptationPolicy:
    """When a login joins the references, and how many adapted samples are kept.

    ``enabled``: adaptation on or off (a store setting). ``margin``: decision value above the
    threshold needed (``DEFAULT_MARGIN``). ``max_adapted``: bound on adapted samples.
    ``anchor``: also require acceptance by the enrollment-only model (see the module
    docstring).
    """

    enabled: bool = True
    margin: float = DEFAULT_MARGIN
    max_adapted: int = DEFAULT_MAX_ADAPTED
    anchor: bool = True

    def __post_init__(self) -> None:
        if not (self.margin == self.margin) or self.margin < 0 or self.margin > 50:
            raise ParameterError(f"adaptation margin must be in [0, 50], got {self.margin}")
        if not 1 <= int(self.max_adapted) <= 100:
            raise ParameterError(f"max_adapted must be from 1 to 100, got {self.max_adapted}")

    def qualifies(self, decision_value: float, anchor_value: float | None = None) -> bool:
        """Does a login with this decision value (score minus the account's current
        threshold) and, with ``anchor``, this decision value under the enrollment-only
        model, join the references?"""
        if not self.enabled or not decision_value >= self.margin:
            return False
        if self.anchor:
            return anchor_value is not None and anchor_value >= 0.0
        return True

    def could_admit(self, decision_value: float) -> bool:
        """Is this login confident enough to be considered at all (before the anchor)?"""
        return self.enabled and decision_value >= self.margin

    def admits(self, decision_value: float, anchor_value: Callable[[], float]
               ) -> tuple[bool, float | None]:
        """``qualifies``, with the anchor's decision value computed only when it can matter
        (``anchor_value``: scores the login under the enrollment-only model, which costs a
        scoring or a refit). Returns (joins, the anchor's value or None when not computed):
        the product's service and the harness's replay both decide through this."""
        if not self.could_admit(decision_value):
            return False, None
        if not self.anchor:
            return True, None
        value = float(anchor_value())
        return self.qualifies(decision_value, value), value

    def updated(self, adapted: Sequence[Trajectory], new: Trajectory) -> list[Trajectory]:
        """The adapted samples after ``new`` joins (tagged ``adapted``): the most recent
        ``max_adapted``."""
        return (list(adapted) + [mark_adapted(new)])[-int(self.max_adapted):]


def mark_adapted(traj: Trajectory) -> Trajectory:
    """``traj`` tagged as an adapted sample (``meta.extra["adapted"]``): verifiers use it as
    an extra template but not to measure the user's spread (``models.calibration``)."""
    if is_adapted(traj):
        return traj
    return traj.with_meta(extra={**dict(traj.meta.extra or {}), "adapted": True})


def refit(enrollment: Sequence[Trajectory], adapted: Sequence[Trajectory],
          fit: Callable[[list[Trajectory]], object]) -> object:
    """The user's model fitted on the enrollment samples followed by the adapted ones.

    ``fit`` is the caller's one way of fitting a user's model from samples (the product's
    ``models.enrollment.fit_user_model`` with the account's own calibration and cohort), so
    an adapted model is built exactly like an enrolled one.
    """
    return fit(list(enrollment) + list(adapted))
