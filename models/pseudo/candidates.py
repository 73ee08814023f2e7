"""Candidate pseudo samples made from a user's enrollment samples only, at graded strengths.

Every reference gets ``per_reference`` candidates, each one transform of it
(``models.pseudo.transforms``: global variations mimic how one person's repetitions differ,
local ones both natural variation when weak and a forger's mistakes when strong), sometimes
with a second, weaker one composed on it, every (transform, strength) pair used in turn. Which candidates
count as pseudo-genuine and which as pseudo-impostor is decided later (SH-SVM selection); here
every candidate only records what was done to it in ``meta.extra``: "transform", "strength",
"parents" (indices into the references) and "parent_sources".

Strength is unitless: 1.0 is the spread between two genuine repetitions, 2-3 is a clumsy
forgery; with ``calibrate`` the displacement transforms are rescaled per user so that it
means that for every writer (``models.pseudo.displacement``).
Everything is deterministic for a ``numpy.random.Generator`` seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from capture.preprocess import feature_sequence
from capture.trajectory import Trajectory, TrajectoryMeta
from models.pseudo.align import match_indices
from models.pseudo.displacement import FEATURES, calibrate_rec, reference_spread
from models.pseudo.transforms import DISPLACEMENTS, TRANSFORMS, transform


@dataclass(frozen=True)
class CandidateConfig:
    """How many candidates, which transforms, which strengths. JSON-able via ``to_dict``."""

    per_reference: int = 40
    transforms: tuple[str, ...] = TRANSFORMS
    strengths: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0)
    segment_frac: tuple[float, float] = (0.1, 0.3)
    compound: float = 0.5
    """Probability that a second, weaker transform is composed onto a candidate (diversity)."""
    calibrate: bool = True
    """Scale displacement transforms per user so that strength s moves a candidate s times the
    user's own typical distance between two references (DTW on feature sequences)."""

    def __post_init__(self) -> None:
        unknown = set(self.transforms) - set(TRANSFORMS)
        if unknown:
            raise ValueError(f"unknown transforms {sorted(unknown)}; known: {TRANSFORMS}")
        if not self.transforms or not self.strengths:
            raise ValueError("need at least one transform and one strength")
        lo, hi = self.segment_frac
        if not 0 < lo <= hi < 1:
            raise ValueError("segment_frac must satisfy 0 < lo <= hi < 1")
        object.__setattr__(self, "transforms", tuple(self.transforms))
        object.__setattr__(self, "strengths", tuple(float(s) for s in self.strengths))
        object.__setattr__(self, "segment_frac", tuple(float(s) for s in self.segment_frac))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("transforms", "strengths", "segment_frac"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> CandidateConfig:
        d = dict(d or {})
        for k in ("transforms", "strengths", "segment_frac"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


def generate_candidates(references: Sequence[Trajectory], config: CandidateConfig,
                        rng: np.random.Generator, spread: float | None = None
                        ) -> list[Trajectory]:
    """``config.per_reference`` candidates per reference, transforms and strengths balanced.

    Every (transform, strength) pair is used in turn, so each grade of each variation is
    represented even with few candidates; a swap partner is another reference chosen at
    random (with one reference, swaps fall back to distortions). ``spread``: the writer's
    typical distance between repetitions when already known (else measured on the references).
    """
    refs = list(references)
    grid = [(t, s) for s in config.strengths for t in config.transforms]
    if not config.calibrate:
        spread = None
    elif spread is None:
        spread = reference_spread(refs)
    parent_seqs = ([feature_sequence(r, FEATURES) for r in refs] if spread is not None
                   else [])
    matches: dict[tuple[int, int], np.ndarray] = {}
    out: list[Trajectory] = []
    for i, ref in enumerate(refs):
        order = rng.permutation(len(grid))
        for j in range(config.per_reference):
            name, s = grid[order[j % len(grid)]]
            steps = [(name, s)]
            if rng.random() < config.compound:
                steps.append((str(rng.choice(config.transforms)), 0.5 * s))
            current, parents = ref, [i]
            rec = None
            for k_step, (step_name, step_s) in enumerate(steps):
                other = match = None
                if step_name == "swap" and len(refs) > 1:
                    k = int(rng.choice([x for x in range(len(refs)) if x != i]))
                    if (i, k) not in matches:
                        matches[(i, k)] = match_indices(ref.positions, refs[k].positions)
                    other, parents = refs[k], parents + [k]
                    match = matches[(i, k)]
                    if len(current) != len(ref):  # an earlier step changed the frames
                        match = match_indices(current.positions, other.positions)
                rec = transform(current, step_name, step_s, rng, other, match,
                                config.segment_frac)
                if spread is not None and k_step == 0 and step_name in DISPLACEMENTS:
                    rec = calibrate_rec(ref, rec, step_s * spread, parent_seqs[i])
                current = Trajectory(rec.t, rec.pos, rec.ch, current.meta)
            meta = TrajectoryMeta(
                user=ref.meta.user, content=ref.meta.content, device=ref.meta.device,
                source=ref.meta.source,
                extra={
                    "transform": "+".join(n for n, _ in steps),
                    "strength": float(s),
                    "steps": [[n, float(v)] for n, v in steps],
                    "parents": parents,
                    "parent_sources": [refs[p].meta.source for p in parents],
                },
            )
            out.append(Trajectory(current.t, current.positions, current.channels, meta))
    return out
