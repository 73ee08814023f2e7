"""Who is drawn for what in a trial: folds of people, reference draws, sessions.

Every draw is seeded per (run seed, identity, purpose) through ``identity_seed``, so results
do not depend on ``jobs``, on the order identities run in, or on which machine of a cluster
runs them. The protocol these draws implement is described in ``authapp.harness.protocol``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from authapp.harness.data import ExperimentError
from capture.trajectory import Trajectory

if TYPE_CHECKING:
    from authapp.harness.protocol import ExperimentConfig

SVC2004_RANDOM_FORGERIES = 20
"""Random forgeries per trial in SVC2004's own protocol (genuine samples of other users)."""


def identity_seed(seed: int, identity: str, purpose: str = "") -> int:
    """A 32-bit seed from (run seed, identity, purpose), stable across processes and runs."""
    key = zlib.crc32(f"{identity}\x00{purpose}".encode())
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, key]).generate_state(1)[0])


MIN_FOLD_IDENTITIES = 3
"""Enrolling identities each fold needs before the data set is split (``folds=None``)."""


def auto_folds(n_eligible: int) -> int:
    """2 disjoint folds when each keeps ``MIN_FOLD_IDENTITIES`` enrolling identities, else 1."""
    return 2 if n_eligible >= 2 * MIN_FOLD_IDENTITIES else 1


def assign_folds(identities: Sequence[str], eligible: Iterable[str], folds: int,
                 seed: int) -> dict[str, int]:
    """Seeded split into ``folds`` groups, enrolling identities spread evenly over them."""
    if folds < 1:
        raise ExperimentError(f"--folds must be at least 1, got {folds}")
    rng = np.random.default_rng(seed)
    eligible = set(eligible)
    fold_of: dict[str, int] = {}
    for group in ([i for i in identities if i in eligible],
                  [i for i in identities if i not in eligible]):
        order = [group[k] for k in rng.permutation(len(group))]
        offset = int(rng.integers(folds))
        for k, ident in enumerate(order):
            fold_of[ident] = (k + offset) % folds
    return fold_of


def session_groups(genuine: Sequence[Trajectory]) -> list[list[Trajectory]]:
    """An identity's genuine samples per session, earliest first, each in recorded order
    (the data set's order); one group when sessions are not known."""
    known = sorted({t.meta.session for t in genuine if t.meta.session is not None})
    if not known:
        return [list(genuine)]
    unknown = [t for t in genuine if t.meta.session is None]
    groups = [[t for t in genuine if t.meta.session == s] for s in known]
    groups[-1] += unknown  # a sample whose sitting is unknown counts as a later one
    return groups


def has_sessions(dataset: Any) -> bool:
    """Do recordings of the data set come from two or more sittings of one person?"""
    return any(len(session_groups(dataset.genuine(i))) > 1 for i in dataset.identities)


def resolve_split(split: str, dataset: Any) -> str:
    """"auto" -> "sessions" where the data carry sessions, else "random"."""
    if split != "auto":
        return split
    return "sessions" if has_sessions(dataset) else "random"


def draw_trial(cfg: ExperimentConfig, identity: str, seed: int, genuine: list[Trajectory],
               random_att: list[tuple[str, Trajectory]]
               ) -> tuple[list[Trajectory], list[Trajectory], list[tuple[str, Trajectory]]]:
    """(references, genuine attempts, random impostor attempts) of one trial (``cfg.split``).

    With "sessions" the references are drawn from the earliest session and the genuine
    attempts are the rest of that session, then every later one, in recorded order (the
    order a returning user writes them; template adaptation depends on it); ``attempt_sessions``
    tags them.
    """
    rng = np.random.default_rng(identity_seed(seed, identity, "references"))
    if cfg.split == "sessions":
        groups = session_groups(genuine)
        first = groups[0]
        ref_idx = set(rng.choice(len(first), cfg.references, replace=False).tolist())
        refs = [t for k, t in enumerate(first) if k in ref_idx]
        tests = [t for k, t in enumerate(first) if k not in ref_idx]
        tests += [t for g in groups[1:] for t in g]
        return refs, tests, random_att
    if cfg.split == "svc2004":
        first = len(genuine) // 2
        ref_idx = set(rng.choice(first, cfg.references, replace=False).tolist())
        refs = [genuine[k] for k in sorted(ref_idx)]
        pick = np.random.default_rng(identity_seed(seed, identity, "random forgeries"))
        n = min(SVC2004_RANDOM_FORGERIES, len(random_att))
        chosen = sorted(pick.choice(len(random_att), n, replace=False).tolist())
        return refs, genuine[first:], [random_att[k] for k in chosen]
    ref_idx = set(rng.choice(len(genuine), cfg.references, replace=False).tolist())
    refs = [t for k, t in enumerate(genuine) if k in ref_idx]
    tests = [t for k, t in enumerate(genuine) if k not in ref_idx]
    return refs, tests, random_att


def attempt_sessions(refs: Sequence[Trajectory], tests: Sequence[Trajectory]) -> list[str]:
    """"same" / "later" per genuine attempt: written in the references' (earliest) session
    or after it; "same" for everything when sessions are not known."""
    ref_sessions = [t.meta.session for t in refs if t.meta.session is not None]
    if not ref_sessions:
        return ["same"] * len(tests)
    last = max(ref_sessions)
    return ["later" if (t.meta.session is None or t.meta.session > last) else "same"
            for t in tests]
