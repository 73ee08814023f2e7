"""What evaluation computes from the score table, as typed records (results.json's figures).

Every record is written as the JSON object of its fields in order (``authapp.harness.records``);
maps keyed by an open set of names -- method variants, identities, security levels -- stay
mappings. Per impostor type ("random", "skilled") a record has one field each, ``of(kind)``
picks one by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authapp.harness.metrics import Summary
from authapp.harness.records import Record, optional

D = dataclass(frozen=True, kw_only=True)


class _ByKind:
    """``of(kind)``: the field of one impostor type."""

    def of(self, kind: str) -> Any:
        return getattr(self, kind)


# -- per method and impostor type ------------------------------------------------------------
@D
class MethodSummary(Summary):
    """Every measure of one method against one impostor type: ``metrics.Summary``'s error
    rates, then the calibration costs, the EER's interval and its means over users and trials."""

    cllr: float | None
    min_cllr: float | None
    eer_ci: tuple[float, ...]
    eer_user_mean: float | None
    eer_trial_mean: float | None


@D
class SummaryByKind(Record, _ByKind):
    random: MethodSummary | None
    skilled: MethodSummary | None


@D
class SeedEERs(Record, _ByKind):
    """Pooled EER of each seed (None: a seed without the attempts for one)."""

    random: tuple[float | None, ...] | None
    skilled: tuple[float | None, ...] | None


@D
class UserEER(Record):
    """One enrolled identity's EER (all seeds pooled) and its attempt counts."""

    random: float | None
    n_random: int
    n_genuine: int
    skilled: float | None
    n_skilled: int | None = optional()


# -- operating point -------------------------------------------------------------------------
@D
class Refusal(Record):
    identity: str
    seed: int
    reason: str


@D
class AccountRates(Record):
    """One account (identity, seed) among the worst of a method."""

    identity: str
    seed: int
    frr: float | None
    far_random: float | None
    far_skilled: float | None


@D
class LevelPoint(Record):
    """The operating point at another security level's thresholds."""

    frr: float | None
    far_random: float | None
    far_skilled: float | None
    frr_same: float | None
    frr_later: float | None
    accounts_far_over_5pct: float | None


@D
class OperatingPoint(Record):
    """Pooled rates at the product's thresholds (``operating_point.operating_point``)."""

    frr: float | None
    n_genuine: int
    errors_genuine: int
    far_random: float | None
    n_random: int
    errors_random: int
    far_skilled: float | None
    n_skilled: int
    errors_skilled: int
    frr_same: float | None
    n_genuine_same: int
    errors_genuine_same: int
    frr_later: float | None
    n_genuine_later: int
    errors_genuine_later: int
    frr_all: float | None = optional()
    accounts: int
    failure_to_enroll: float | None
    refused: tuple[Refusal, ...]
    accounts_far_over_5pct: float | None
    worst_far_random: tuple[AccountRates, ...]
    worst_far_skilled: tuple[AccountRates, ...]
    worst_frr: tuple[AccountRates, ...]
    levels: Mapping[str, LevelPoint] | None = optional()

    def worst(self, key: str) -> tuple[AccountRates, ...]:
        """The worst accounts by ``key`` (far_random, far_skilled or frr)."""
        return getattr(self, f"worst_{key}")


# -- identification --------------------------------------------------------------------------
@D
class IdentificationAtLevel(Record):
    never_enrolled_rejected: float | None = optional()
    enrolled_identified_correctly: float | None = optional()


@D
class Identification(Record):
    """Open-set 1:N (``operating_point.identification``)."""

    never_enrolled_rejected: float
    never_enrolled_probes: int
    enrolled_identified_correctly: float
    enrolled_probes: int
    enrolled_accounts: tuple[int, ...]
    protocol: str
    levels: Mapping[str, IdentificationAtLevel] | None = optional()


# -- pseudo data -----------------------------------------------------------------------------
@D
class EERChange(Record):
    """``metrics.EERChange`` as written: the change and its interval."""

    change: float
    ci: tuple[float, ...]
    level: float
    resamples: int
    clusters: int


@D
class ChangeByKind(Record, _ByKind):
    random: EERChange | None
    skilled: EERChange | None


@D
class PseudoEffect(Record):
    compared: str
    interval: str
    changes: Mapping[str, ChangeByKind]


# -- all figures -----------------------------------------------------------------------------
@D
class MethodTiming(Record):
    """Seconds summed over identities and seeds (``cpu_s`` absent in old score files)."""

    fit_s: float
    score_s: float
    cpu_s: float | None = optional()


@D
class Figures(Record):
    """Every score-derived section of results.json (``evaluation.evaluate``), in its order."""

    operating_point: Mapping[str, OperatingPoint]
    identification: Mapping[str, Identification | None]
    methods: Mapping[str, SummaryByKind]
    per_user: Mapping[str, Mapping[str, UserEER]]
    per_seed_eer: Mapping[str, SeedEERs]
    pseudo_effect: PseudoEffect
    identities: tuple[str, ...]
    reference_files: Mapping[str, Mapping[str, tuple[str, ...]]]


FIGURE_KEYS = tuple(Figures.__dataclass_fields__)
"""results.json's sections evaluation computes from the score rows."""
