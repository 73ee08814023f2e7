"""What users get: error rates at the thresholds the product itself uses, account by account.

EER picks one ideal offset after the fact; a deployed verifier is judged at its own
threshold (ISO/IEC 19795-1: FNMR and FMR there; ISO/IEC 30107-3: the imitators' success rate,
IAPMR, here "skilled FAR"). Pooled rates also hide the few accounts that dominate the errors
(Doddington's "lambs", easy to get into, and "goats", often rejected), so every operating
point lists the worst accounts. An *account* is one enrollment: an identity with one seed's
references. Identification (1:N with rejection) is evaluated from the same scores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

ACCOUNT_FAR_LIMIT = 0.05
"""An account accepting more than this share of other people's attempts is reported."""
WORST = 5


def _rate(x: np.ndarray) -> float | None:
    return float(np.mean(x)) if x.size else None


def account_rates(trials: Iterable[Any], level: str | None = None) -> list[dict[str, Any]]:
    """Per enrolled account: FRR and random / skilled FAR at its own threshold (``level``:
    at that security level's threshold instead of the configured one)."""
    out = []
    for ident, t in trials:
        if t.refused is not None:
            continue
        acc = _decisions(t, level) >= 0
        out.append({"identity": ident, "seed": t.seed,
                    "frr": _rate(~acc[t.types == "genuine"]),
                    "far_random": _rate(acc[t.types == "random"]),
                    "far_skilled": _rate(acc[t.types == "skilled"]),
                    "n_genuine": int(np.sum(t.types == "genuine")),
                    "n_random": int(np.sum(t.types == "random")),
                    "n_skilled": int(np.sum(t.types == "skilled"))})
    return out


def _decisions(t: Any, level: str | None) -> np.ndarray:
    """Decision values at the account's own threshold, or at ``level``'s."""
    return t.decisions if level is None else t.scores - t.level_thresholds[level]


def session_frr(enrolled: Sequence[tuple[str, Any]], level: str | None = None
                ) -> dict[str, Any]:
    """FRR of genuine attempts written in the enrollment's own session ("same") and in a
    later one ("later"), where the trials say (``Trial.sessions``); with later-session
    attempts, "frr" is theirs -- what a user who comes back days later meets -- and
    "frr_all" pools every genuine attempt."""
    out: dict[str, Any] = {}
    for tag in ("same", "later"):
        parts = [(_decisions(t, level) < 0)[(t.types == "genuine")
                                            & (np.asarray(t.sessions) == tag)]
                 for _, t in enrolled if len(t.sessions) == len(t.types)]
        x = np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
        out[f"frr_{tag}"] = _rate(x)
        out[f"n_genuine_{tag}"] = int(x.size)
        out[f"errors_genuine_{tag}"] = int(np.sum(x))
    if out["n_genuine_later"]:
        gen = [(_decisions(t, level) < 0)[t.types == "genuine"] for _, t in enrolled]
        allx = np.concatenate(gen)
        out.update(frr_all=_rate(allx), frr=out["frr_later"],
                   n_genuine=out["n_genuine_later"],
                   errors_genuine=out["errors_genuine_later"])
    return out


def _worst(accounts: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    rated = [a for a in accounts if a[key] is not None]
    rated.sort(key=lambda a: (-a[key], a["identity"], a["seed"]))
    return [{k: a[k] for k in ("identity", "seed", "frr", "far_random", "far_skilled")}
            for a in rated[:WORST]]


def operating_point(trials: Sequence[tuple[str, Any]], level: str | None = None
                    ) -> dict[str, Any]:
    """Pooled FRR / FAR at the product's thresholds, failures to enroll, worst accounts.

    ``trials``: (identity, trial) pairs of one method variant.
    """
    enrolled = [(i, t) for i, t in trials if t.refused is None]
    pooled: dict[str, Any] = {}
    for key, kind, accept in (("frr", "genuine", False), ("far_random", "random", True),
                              ("far_skilled", "skilled", True)):
        parts = []
        for _, t in enrolled:
            d = _decisions(t, level)[t.types == kind]
            parts.append((d >= 0) if accept else (d < 0))
        x = np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
        pooled[key] = _rate(x)
        pooled[f"n_{kind}"] = int(x.size)
        pooled[f"errors_{kind}"] = int(np.sum(x))
    pooled.update(session_frr(enrolled, level))
    accounts = account_rates(enrolled, level)
    over = [a for a in accounts if (a["far_random"] or 0.0) > ACCOUNT_FAR_LIMIT]
    pooled.update({
        "accounts": len(accounts),
        "failure_to_enroll": (len(trials) - len(enrolled)) / len(trials) if trials else None,
        "refused": [{"identity": i, "seed": t.seed, "reason": t.refused}
                    for i, t in trials if t.refused is not None],
        "accounts_far_over_5pct": len(over) / len(accounts) if accounts else None,
        "worst_far_random": _worst(accounts, "far_random"),
        "worst_far_skilled": _worst(accounts, "far_skilled"),
        "worst_frr": _worst(accounts, "frr"),
    })
    return pooled


def _search_decisions(t: Any, level: str | None, n_enrolled: int) -> np.ndarray:
    """Decision values of an account in a 1:N search among ``n_enrolled`` accounts: over its
    threshold raised as the product raises it (``identification_threshold``); unchanged for
    uncalibrated models, which have no false-accept target to keep."""
    from models.level_thresholds import identification_threshold

    d = _decisions(t, level)
    lv = level or t.security
    if not t.calibration_thresholds or lv is None:
        return d
    cal = t.calibration_thresholds
    return d - (identification_threshold(cal, lv, n_enrolled) - cal[lv])


def identification(trials: Mapping[str, Sequence[Any]], method: str,
                   fold_of: Mapping[str, int], seed: int = 0, level: str | None = None
                   ) -> dict[str, Any] | None:
    """Open-set 1:N: half of each fold's enrolling identities enroll, the others never do.

    For every run seed and fold, each attempt is scored against every enrolled account of the
    fold (the scores are already there: an account's random attempts are all samples of the
    other identities of its fold). The attempt is identified as the account with the largest
    decision value if that is >= 0, else rejected; for calibrated models the decision values
    are over thresholds raised for a search among that many accounts, as the product's
    ``AuthService.identify`` raises them (``identification_threshold``). Enrolled people's probes are their own
    non-reference samples; never-enrolled people's probes are all their samples.
    Returns None when the attempts do not cover every pair (SVC2004's protocol samples 20).
    ``level``: at that security level's thresholds instead of the configured one.
    """
    rng = np.random.default_rng(seed)
    by_seed: dict[int, dict[str, Any]] = {}
    for ident, ts in trials.items():
        for t in ts:
            if t.method == method:
                by_seed.setdefault(t.seed, {})[ident] = t
    correct = enrolled_probes = rejected = never_probes = 0
    sizes: list[int] = []
    for s in sorted(by_seed):
        accounts = by_seed[s]
        for fold in sorted(set(fold_of.values())):
            members = sorted(i for i in accounts if fold_of[i] == fold
                             and accounts[i].refused is None)
            if len(members) < 2:
                continue
            order = [members[k] for k in rng.permutation(len(members))]
            enrolled = sorted(order[: len(order) // 2])
            everyone = {i for i, f in fold_of.items() if f == fold}
            never = everyone - set(enrolled)
            # decision of account e on every attempt file it was shown
            table = {e: dict(zip(accounts[e].attempt_files,
                                 _search_decisions(accounts[e], level, len(enrolled))))
                     for e in enrolled}
            sizes.append(len(enrolled))
            probes: list[tuple[str, str]] = []
            for p in enrolled:
                t = accounts[p]
                probes += [(p, f) for f, k in zip(t.attempt_files, t.types) if k == "genuine"]
            for e in enrolled[:1]:
                t = accounts[e]
                probes += [(who, f) for f, who, k in zip(t.attempt_files,
                                                         t.attempt_identities, t.types)
                           if k == "random" and who in never]
            for who, f in probes:
                values = []
                for e in enrolled:
                    v = table[e].get(f)
                    if v is None:
                        return None
                    values.append(v)
                best = int(np.argmax(values))
                answer = enrolled[best] if values[best] >= 0 else None
                if who in never:
                    never_probes += 1
                    rejected += answer is None
                else:
                    enrolled_probes += 1
                    correct += answer == who
    if not enrolled_probes or not never_probes:
        return None
    return {"never_enrolled_rejected": rejected / never_probes,
            "never_enrolled_probes": never_probes,
            "enrolled_identified_correctly": correct / enrolled_probes,
            "enrolled_probes": enrolled_probes,
            "enrolled_accounts": [min(sizes), max(sizes)],
            "protocol": ("per seed and fold, a seeded half of the fold's enrolling identities "
                         "enroll (N accounts, enrolled_accounts: smallest and largest N); "
                         "probes: their non-reference samples and every sample of the "
                         "fold's other identities; answer = the account with the largest "
                         "decision value if it is >= 0, calibrated thresholds raised for a "
                         "search among N (the level's random FAR / N per comparison)")}
