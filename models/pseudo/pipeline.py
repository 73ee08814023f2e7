"""The "pseudo" generator: candidates -> EfficientNet embedding -> SH-SVM selection.

``fit(background)`` trains the embedding network on other people's recordings (writer
discrimination, weak candidates as augmentation) and keeps a sample of their embeddings as the
SH-SVM's generic negatives. ``generate(references)`` makes graded candidates from the
references alone, embeds references and candidates, fits the SH-SVM (references vs the stored
negatives) and sorts the candidates: inside the genuine side -> pseudo-genuine; just beyond
the boundary -> pseudo-impostor; the rest is dropped.

With fewer than two background identities (the very first user of a fresh install) the
network cannot be trained; the embedding then falls back to fixed-length feature vectors and
the SH-SVM to a nearest-reference radius, so enrollment still gets pseudo data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from capture.trajectory import Trajectory
from models.nn.cache import WeightCache, default_cache_dir, digest
from models.pseudo.base import (
    GENUINE,
    IMPOSTOR,
    PseudoData,
    PseudoDataError,
    PseudoGenerator,
    background_fingerprint,
    identity_of,
    tag,
)
from models.pseudo.candidates import CandidateConfig, generate_candidates
from models.pseudo.displacement import reference_spread
from models.pseudo.embedding import VERSION as EMBEDDING_VERSION
from models.pseudo.embedding import EfficientNetEmbedder
from models.pseudo.shsvm import SHSVM, select

_EMB = "emb."
DISTORTED = "~distorted"


def _fallback_embed(trajs: list[Trajectory]) -> np.ndarray:
    """Fixed-length resampled feature vectors, unit length (no training needed)."""
    from capture.preprocess import FeatureConfig, feature_sequence, resample_length

    cfg = FeatureConfig(channels=("pos", "vel"))
    x = np.stack([resample_length(feature_sequence(t, cfg), 32).ravel() for t in trajs])
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(n > 0, n, 1.0)).astype(np.float32)


class CandidateSVMGenerator(PseudoGenerator):
    """Candidates + EfficientNet embedding + SH-SVM selection (generator name "pseudo").

    Parameters
    ----------
    candidates : CandidateConfig fields (per_reference, transforms, strengths, ...).
    embedder : EfficientNetEmbedder parameters (epochs, time_budget_s, width, depth, ...).
    C, kernel, gamma : the SH-SVM (large but finite C = semi-hard margin).
    genuine_min : SH-SVM score (margin units) from which a candidate is pseudo-genuine.
    impostor_band : (lo, hi) scores of pseudo-impostors: just beyond the boundary.
    min_impostor_strength : weaker candidates are never called impostors (a 0.25-strength
        time warp is the user's own writing whatever the embedding says).
    min_genuine_strength, max_genuine_strength : only candidates in this strength range can be
        pseudo-genuine (strength 1 = as far from the parent as two real repetitions are).
    impostor_transforms, genuine_transforms : only candidates whose (first) transform is one
        of these can be pseudo-impostors / pseudo-genuine (None = any).
    max_genuine, max_impostors : limits per enrollment.
    max_negatives : background embeddings kept as the SH-SVM's generic negatives.
    augment_strengths : candidate strengths used as training augmentation (same writer).
    distortion_classes : add one class per background writer made of that writer's
        candidates at ``distortion_strengths`` (teaches the net what a forgery-sized change is).
    cache_dir : folder for trained network weights (``models.nn.cache``); None ->
        ``$AIRAUTH_PSEUDO_CACHE`` if set, else nothing is written.
    reuse_weights : without an exact cache hit (same background), reuse the newest cached
        network of the same recipe instead of training (the product's enrollment: the
        background grows by one user per enrollment). Experiments keep it False.
    pretrain_seed : seeds ``fit`` (the network, its augmentation, the negatives kept; part of
        the cache key; the embedder's own ``random_state`` is set to it).
    random_state : seeds ``generate`` (the candidates and the pick among them).
    """

    name = "pseudo"

    def __init__(self, candidates: Mapping[str, Any] | None = None,
                 embedder: Mapping[str, Any] | None = None, C: float = 100.0,
                 kernel: str = "rbf", gamma: float | str = "scale", genuine_min: float = 0.0,
                 impostor_band: tuple[float, float] = (-1.0, 0.0),
                 min_impostor_strength: float = 2.0, min_genuine_strength: float = 1.0,
                 max_genuine_strength: float = 1.5,
                 impostor_transforms: tuple[str, ...] | None = None,
                 genuine_transforms: tuple[str, ...] | None = None, max_genuine: int = 30,
                 max_impostors: int = 0, max_negatives: int = 400,
                 augment_strengths: tuple[float, ...] = (0.25, 0.5),
                 distortion_classes: bool = True,
                 distortion_strengths: tuple[float, ...] = (1.5, 2.0),
                 cache_dir: str | None = None, reuse_weights: bool = False,
                 pretrain_seed: int = 0, random_state: int = 0) -> None:
        self.candidates = candidates
        self.embedder = embedder
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.genuine_min = genuine_min
        self.impostor_band = impostor_band
        self.min_impostor_strength = min_impostor_strength
        self.min_genuine_strength = min_genuine_strength
        self.max_genuine_strength = max_genuine_strength
        self.impostor_transforms = impostor_transforms
        self.genuine_transforms = genuine_transforms
        self.max_genuine = max_genuine
        self.max_impostors = max_impostors
        self.max_negatives = max_negatives
        self.augment_strengths = augment_strengths
        self.distortion_classes = distortion_classes
        self.distortion_strengths = distortion_strengths
        self.cache_dir = cache_dir
        self.reuse_weights = reuse_weights
        self.pretrain_seed = pretrain_seed
        self.random_state = random_state

    # -- fit ----------------------------------------------------------------------------------
    def _fit(self, background: list[Trajectory], seed: int) -> None:
        ids = [identity_of(t) for t in background]
        counts: dict[str, int] = {}
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
        usable = {i for i, c in counts.items() if c >= 2}
        self.dims_ = background[0].dims if background else None
        if len({t.dims for t in background}) > 1:
            raise PseudoDataError("background mixes 2-D and 3-D trajectories")
        rng = np.random.default_rng(seed)
        self.embedder_ = None
        self.weights_ = "none"
        cache, family, data = self._cache_keys(background, seed)
        if len(usable) >= 2 and cache is not None:
            hit = cache.get(family, data)
            self.weights_ = "cached"
            if hit is None and self.reuse_weights:
                hit, self.weights_ = cache.newest(family), "cached-reused"
            if hit is not None:
                try:
                    self.embedder_ = EfficientNetEmbedder.from_state(*hit)
                except (KeyError, TypeError, ValueError, RuntimeError):
                    self.embedder_ = None  # stale or damaged file: train afresh
        if len(usable) >= 2 and self.embedder_ is None:
            train = [t for t, i in zip(background, ids) if i in usable]
            labels = [i for i in ids if i in usable]
            groups = {u: [t for t, i in zip(train, labels) if i == u] for u in sorted(usable)}
            spread = {u: reference_spread(g[:5]) for u, g in groups.items()}
            if self.distortion_classes:
                # each writer's clearly distorted samples form a class of their own, so the
                # embedding learns to notice forgery-sized deviations, not only who wrote it
                strong = CandidateConfig(per_reference=1,
                                         strengths=tuple(self.distortion_strengths))
                for u, g in groups.items():
                    for c in generate_candidates(g, strong, rng, spread=spread[u]):
                        train.append(c)
                        labels.append(u + DISTORTED)
            aug_cfg = CandidateConfig(per_reference=1, strengths=tuple(self.augment_strengths),
                                      compound=0.3)
            spread_of = {id(t): spread[identity_of(t)] for t in train}

            def augment(traj: Trajectory, r: np.random.Generator) -> Trajectory:
                return generate_candidates([traj], aug_cfg, r, spread=spread_of[id(traj)])[0]

            emb = EfficientNetEmbedder(**{**dict(self.embedder or {}), "random_state": seed})
            self.embedder_ = emb.fit(train, labels, augmenter=augment)
            self.weights_ = "trained"
            if cache is not None:
                cache.put(family, data, *self.embedder_.get_state())
        if background:
            # own stream: the same negatives whether the network was trained or loaded
            keep = np.random.default_rng([seed, 2]).permutation(
                len(background))[: self.max_negatives]
            self.negatives_ = self._embed([background[k] for k in np.sort(keep)])
        else:
            self.negatives_ = np.zeros((0, 1), dtype=np.float32)

    def _cache_keys(self, background: list[Trajectory], seed: int
                    ) -> tuple[WeightCache | None, str, str]:
        """(cache or None, recipe hash, background+seed hash) for the trained weights."""
        where = self.cache_dir if self.cache_dir is not None else default_cache_dir()
        if where is None or not background:
            return None, "", ""
        recipe = {"version": EMBEDDING_VERSION, "embedder": dict(self.embedder or {}),
                  "augment": list(self.augment_strengths),
                  "distortion": [self.distortion_classes, list(self.distortion_strengths)],
                  "dims": self.dims_}
        data = {"background": background_fingerprint(background), "seed": int(seed)}
        return WeightCache(where), f"v{EMBEDDING_VERSION}-{digest(recipe, 10)}", digest(data, 10)

    def _embed(self, trajs: list[Trajectory]) -> np.ndarray:
        if self.embedder_ is None:
            return _fallback_embed(trajs)
        return self.embedder_.transform(trajs)

    # -- generate -----------------------------------------------------------------------------
    def score_candidates(self, references: list[Trajectory], seed: int | None = None
                         ) -> tuple[list[Trajectory], np.ndarray]:
        """All candidates and their SH-SVM scores (margin units; >= 0 means genuine side),
        drawn with ``seed`` (None: ``random_state``)."""
        seed = self.random_state if seed is None else seed
        if self.dims_ is not None and references[0].dims != self.dims_:
            raise PseudoDataError(
                f"references are {references[0].dims}-D but the generator was fitted on "
                f"{self.dims_}-D background data")
        rng = np.random.default_rng(seed)
        cfg = CandidateConfig.from_dict(self.candidates)
        cands = generate_candidates(references, cfg, rng)
        emb = self._embed(list(references) + cands)
        e_ref, e_cand = emb[: len(references)], emb[len(references):]
        svm = SHSVM(C=self.C, kernel=self.kernel, gamma=self.gamma)
        svm.fit(e_ref, self.negatives_ if len(self.negatives_) else None)
        return cands, svm.decision_function(e_cand)

    def _generate(self, references: list[Trajectory], seed: int) -> PseudoData:
        cands, scores = self.score_candidates(references, seed)
        rng = np.random.default_rng([seed, 1])
        strength = np.array([c.meta.extra["strength"] for c in cands])
        first = np.array([c.meta.extra["steps"][0][0] for c in cands])

        def made_by(kinds: tuple[str, ...] | None) -> np.ndarray:
            return np.isin(first, list(kinds)) if kinds else np.ones(len(cands), dtype=bool)
        gen_idx, imp_idx = select(scores, rng, self.genuine_min, tuple(self.impostor_band),
                                  self.max_genuine, self.max_impostors,
                                  (strength >= self.min_impostor_strength)
                                  & made_by(self.impostor_transforms),
                                  (strength >= self.min_genuine_strength)
                                  & (strength <= self.max_genuine_strength)
                                  & made_by(self.genuine_transforms))
        return PseudoData(
            genuine=[self._out(cands[i], GENUINE, scores[i], seed) for i in gen_idx],
            impostors=[self._out(cands[i], IMPOSTOR, scores[i], seed) for i in imp_idx],
        )

    def _out(self, traj: Trajectory, kind: str, score: float, seed: int) -> Trajectory:
        extra = dict(traj.meta.extra)
        extra["shsvm_score"] = float(score)
        extra["seed"] = int(seed)
        return tag(traj.with_meta(extra=extra), kind, self.name)

    # -- state --------------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        params: dict[str, Any] = {k: (list(v) if isinstance(v, tuple) else v)
                                  for k, v in self.get_params().items()}
        params["dims_"] = self.dims_
        arrays = {"negatives": np.asarray(self.negatives_)}
        params["embedder_"] = None
        if self.embedder_ is not None:
            e_params, e_arrays = self.embedder_.get_state()
            params["embedder_"] = e_params
            arrays.update({_EMB + k: v for k, v in e_arrays.items()})
        return params, arrays

    @classmethod
    def from_state(cls, params: dict[str, Any],
                   arrays: dict[str, np.ndarray]) -> CandidateSVMGenerator:
        p = dict(params)
        dims = p.pop("dims_", None)
        e_params = p.pop("embedder_", None)
        for k in ("impostor_band", "augment_strengths", "distortion_strengths",
                  "impostor_transforms", "genuine_transforms"):
            if k in p and p[k] is not None:
                p[k] = tuple(p[k])
        self = cls(**p)
        self.dims_ = dims
        self.negatives_ = np.asarray(arrays["negatives"], dtype=np.float32)
        self.embedder_ = None
        if e_params is not None:
            e_arrays = {k[len(_EMB):]: v for k, v in arrays.items() if k.startswith(_EMB)}
            self.embedder_ = EfficientNetEmbedder.from_state(e_params, e_arrays)
        self.fitted_ = True
        return self
