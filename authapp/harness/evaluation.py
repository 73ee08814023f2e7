"""The harness's evaluation: a score table (trials) -> every figure of results.json.

Reads nothing but the trials (``authapp.harness.runner.Trial``: per attempt its type and decision
value, per account its threshold at every security level) and three facts about the run
(folds, whether the data have forgeries, whether models were calibrated), so the same figures
come out of a run in memory and of a scores.csv read back (``authapp evaluate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from authapp.harness import metrics
from authapp.harness.figures import (
    ChangeByKind,
    EERChange,
    Figures,
    Identification,
    MethodSummary,
    MethodTiming,
    OperatingPoint,
    PseudoEffect,
    SeedEERs,
    SummaryByKind,
    UserEER,
)
from authapp.harness.protocol import BOOTSTRAP_RESAMPLES, IMPOSTOR_TYPES, ExperimentError
from authapp.harness.results import Results
from authapp.harness.runner import Trial


@dataclass
class ExperimentResult:
    """results.json content (None until evaluated) plus the per-attempt scores the report and
    scores.csv need."""

    results: Results | None
    trials: dict[str, list[Trial]]  # identity -> its trials
    variants: list[str]
    facts: ScoreFacts | None = None

    def decisions(self, method: str, kind: str) -> np.ndarray:
        """All decision values of ``method`` for attempt type ``kind``, pooled."""
        parts = [t.decisions[t.types == kind] for ts in self.trials.values() for t in ts
                 if t.method == method]
        return np.concatenate(parts) if parts else np.zeros(0)

    def scores(self, method: str, kind: str) -> np.ndarray:
        """All scores (before the account's threshold) of ``method`` for ``kind``, pooled."""
        parts = [t.scores[t.types == kind] for ts in self.trials.values() for t in ts
                 if t.method == method and t.refused is None]
        return np.concatenate(parts) if parts else np.zeros(0)


def calibration_costs(result: ExperimentResult, method: str, kind: str) -> dict[str, float]:
    """Cllr and minCllr (bits) of a calibrated method's scores, genuine against ``kind``.

    The calibrated score is a logistic regression's log-odds with the classes weighted
    equally (``models.score_calibration``), i.e. a natural-log likelihood-ratio estimate;
    Cllr reads it as one (where the development data held skilled forgeries, the impostor
    class was random and skilled attempts weighted equally, so the score is the LLR against
    that mixture less log 2: Cllr against one kind alone charges that too). minCllr is its discrimination alone (after the best monotone recalibration), so
    ``cllr - min_cllr`` is what the calibration loses on these people. Accounts' own
    thresholds do not enter: a likelihood ratio is the score itself.
    """
    gen, imp = result.scores(method, "genuine"), result.scores(method, kind)
    return {"cllr": metrics.cllr(gen, imp), "min_cllr": metrics.min_cllr(gen, imp)}


def _safe_eer(gen: np.ndarray, imp: np.ndarray) -> float | None:
    return metrics.eer(gen, imp) if gen.size and imp.size else None


def identity_groups(result: ExperimentResult, method: str, kind: str
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(genuine, ``kind`` impostor) decision values of ``method`` per enrolled identity, all
    seeds together, identities sorted: the clusters the bootstrap intervals resample."""
    groups = []
    for ident in sorted(result.trials):
        mine = [t for t in result.trials[ident] if t.method == method]
        groups.append((np.concatenate([t.decisions[t.types == "genuine"] for t in mine]),
                       np.concatenate([t.decisions[t.types == kind] for t in mine])))
    return groups




def _kind_summary(result: ExperimentResult, name: str, kind: str, calibrated: bool,
                  per_user: dict[str, dict[str, Any]]) -> tuple[MethodSummary,
                                                              tuple[float | None, ...]]:
    """``name``'s summary against ``kind`` and its EER per seed; adds each identity's EER
    and counts to ``per_user``."""
    gen, imp = result.decisions(name, "genuine"), result.decisions(name, kind)
    if imp.size == 0:
        raise ExperimentError(
            f"no {kind} impostor attempts for {name}: every identity's fold holds no "
            f"other identity (use more identities or --folds 1)")
    costs = (calibration_costs(result, name, kind) if calibrated
             else {"cllr": None, "min_cllr": None})
    user_eers = []
    groups = identity_groups(result, name, kind)
    for ident, (g, i) in zip(sorted(result.trials), groups):
        e = _safe_eer(g, i)
        mine = per_user.setdefault(ident, {})
        mine[kind] = e
        mine[f"n_{kind}"] = int(i.size)
        mine["n_genuine"] = int(g.size)
        if e is not None:
            user_eers.append(e)
    ci = metrics.bootstrap_eer_interval(groups, n_boot=BOOTSTRAP_RESAMPLES, seed=0)
    trial_eers = [_safe_eer(t.decisions[t.types == "genuine"], t.decisions[t.types == kind])
                  for ts in result.trials.values() for t in ts if t.method == name]
    trial_eers = [e for e in trial_eers if e is not None]
    summary = MethodSummary(
        **metrics.summarize(gen, imp).as_dict(), **costs, eer_ci=tuple(ci),
        eer_user_mean=float(np.mean(user_eers)) if user_eers else None,
        eer_trial_mean=float(np.mean(trial_eers)) if trial_eers else None)
    by_seed = []
    for s in sorted({t.seed for ts in result.trials.values() for t in ts}):
        mine_s = [t for ts in result.trials.values() for t in ts
                  if t.method == name and t.seed == s]
        g = np.concatenate([t.decisions[t.types == "genuine"] for t in mine_s])
        i = np.concatenate([t.decisions[t.types == kind] for t in mine_s])
        by_seed.append(_safe_eer(g, i))
    return summary, tuple(by_seed)


def summarize_result(result: ExperimentResult, has_forgeries: bool, calibrated: bool = False
                     ) -> tuple[dict[str, SummaryByKind], dict[str, dict[str, UserEER]],
                                dict[str, SeedEERs]]:
    """(methods, per_user, per_seed_eer) sections of results.json from the trials;
    ``calibrated``: the scores are calibrated log-likelihood ratios, so each summary also
    gets Cllr and minCllr (``calibration_costs``; None otherwise)."""
    methods: dict[str, SummaryByKind] = {}
    per_user: dict[str, dict[str, UserEER]] = {}
    per_seed: dict[str, SeedEERs] = {}
    for name in result.variants:
        summaries: dict[str, MethodSummary | None] = {}
        seeds: dict[str, tuple[float | None, ...] | None] = {}
        users: dict[str, dict[str, Any]] = {}
        for kind in IMPOSTOR_TYPES:
            if kind == "skilled" and not has_forgeries:
                summaries[kind] = seeds[kind] = None
                continue
            summaries[kind], seeds[kind] = _kind_summary(result, name, kind, calibrated, users)
        methods[name] = SummaryByKind(**summaries)
        per_seed[name] = SeedEERs(**seeds)
        per_user[name] = {ident: UserEER(skilled=None, **u) if "skilled" not in u
                          else UserEER(**u) for ident, u in users.items()}
    return methods, per_user, per_seed


def pseudo_effects(result: ExperimentResult, has_forgeries: bool,
                   n_boot: int = BOOTSTRAP_RESAMPLES) -> PseudoEffect:
    """For every ``<method>+<generator>`` variant: its pooled EER minus ``<method>``'s, with a
    95 % interval from a paired bootstrap over the enrolled identities (seed 0).

    A difference of a few attempts can be luck; the interval says whether the change would
    survive a different draw of people (the unit accuracy is judged on).
    """
    changes: dict[str, ChangeByKind] = {}
    for name in result.variants:
        base, plus, _ = name.partition("+")
        if not plus or base not in result.variants:
            continue
        by_kind: dict[str, EERChange | None] = {}
        for kind in IMPOSTOR_TYPES:
            if kind == "skilled" and not has_forgeries:
                by_kind[kind] = None
                continue
            by_kind[kind] = EERChange.from_dict(metrics.bootstrap_eer_change(
                identity_groups(result, base, kind), identity_groups(result, name, kind),
                n_boot=n_boot, seed=0).to_dict())
        changes[name] = ChangeByKind(**by_kind)
    return PseudoEffect(
        compared="pooled EER of <method>+<generator> minus <method>'s (fractions)",
        interval=(f"95 % percentile interval of {n_boot} paired bootstrap resamples of "
                  "the enrolled identities (all seeds of an identity together)"),
        changes=changes)


LEVEL_POINT_KEYS = ("frr", "frr_same", "frr_later", "far_random", "far_skilled",
                    "accounts_far_over_5pct")
LEVEL_IDENT_KEYS = ("never_enrolled_rejected", "enrolled_identified_correctly")


def operating_points(result: ExperimentResult, fold_of: Mapping[str, int], calibrated: bool
                     ) -> tuple[dict[str, OperatingPoint], dict[str, Identification | None]]:
    """results.json's "operating_point" (per variant: at the configured threshold, and for
    calibrated models at every security level) and "identification" sections."""
    from authapp.harness.operating_point import identification, operating_point
    from models.score_calibration import SECURITY_LEVELS

    ops: dict[str, OperatingPoint] = {}
    idents: dict[str, Identification | None] = {}
    for name in result.variants:
        pairs = [(i, t) for i, ts in result.trials.items() for t in ts if t.method == name]
        op = operating_point(pairs)
        if calibrated:
            op["levels"] = {lv: {k: v for k, v in operating_point(pairs, lv).items()
                                 if k in LEVEL_POINT_KEYS} for lv in SECURITY_LEVELS}
        ops[name] = OperatingPoint.from_dict(op)
        ident = identification(result.trials, name, fold_of)
        if calibrated and ident is not None:
            ident["levels"] = {
                lv: {k: v for k, v in (identification(result.trials, name, fold_of, level=lv)
                                       or {}).items() if k in LEVEL_IDENT_KEYS}
                for lv in SECURITY_LEVELS}
        idents[name] = None if ident is None else Identification.from_dict(ident)
    return ops, idents


@dataclass(frozen=True)
class ScoreFacts:
    """What evaluation needs to know about a run besides its trials."""

    variants: list[str]
    fold_of: dict[str, int]
    has_forgeries: bool
    calibrated: bool


def evaluate(trials: Mapping[str, list[Trial]], facts: ScoreFacts
             ) -> tuple[Figures, dict[str, MethodTiming]]:
    """Every score-derived section of results.json from the trials alone, and the seconds
    each variant took (results.json's timing "per_method")."""
    result = ExperimentResult(None, dict(trials), list(facts.variants))
    methods, per_user, per_seed = summarize_result(result, facts.has_forgeries,
                                                   facts.calibrated)
    operating, ident = operating_points(result, facts.fold_of, facts.calibrated)
    per_method = {}
    for name in result.variants:
        mine = [t for ts in result.trials.values() for t in ts if t.method == name]
        per_method[name] = MethodTiming(fit_s=float(sum(t.fit_s for t in mine)),
                                        score_s=float(sum(t.score_s for t in mine)),
                                        cpu_s=float(sum(t.cpu_s for t in mine)))
    figures = Figures(
        operating_point=operating,
        identification=ident,
        methods=methods,
        per_user=per_user,
        per_seed_eer=per_seed,
        pseudo_effect=pseudo_effects(result, facts.has_forgeries),
        identities=tuple(result.trials),
        reference_files={i: {str(t.seed): tuple(t.reference_files) for t in ts}
                         for i, ts in result.trials.items()})
    return figures, per_method
