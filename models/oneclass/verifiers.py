"""The one-class detectors as verifiers ("ganomaly", "fanogan", "anogan", "egbad", "alad",
"ocgan", "fencegan", "skip-ganomaly", "autoencoder", "berg"): a detector pretrained on other
people's recordings and adapted to one user's few samples.

Why pretrain: a GAN cannot learn what writing looks like from 2-5 samples. Trained on the
background (other people: the harness's other folds, the store's other users) it learns the
general manifold of signatures, writer-independently; a few fine-tuning steps on the user's
samples (``adapt_steps``) then narrow "normal" to this writer, so other writers reconstruct
(GANomaly: re-encode) worse than the user does.

Representation: the fixed-length feature vectors the SVMs use (``models.fixed_features``:
preprocessed position / velocity / acceleration sequence resampled to ``length`` points), not
aligned to a template (the background has no template), read as (channels, length) arrays.

Background: the recorded samples among ``impostors`` (pseudo-impostors are dropped: they are
made from the user's own references, so they are not "other people"). The pretrained network
depends on the background only, so it is trained once per background and kept (in memory for
the process; on disk in ``cache_dir`` or ``$AIRAUTH_PSEUDO_CACHE`` when set, versioned like the
EfficientNet weights). With fewer than ``min_background`` recordings the detector is trained
from scratch on the user's samples alone (``scratch``: cheaper training parameters).

Score, in "gap" units: ``1 - (log a(x) - log a_gen) / (log a_bg - log a_gen)``, where a is the
detector's anomaly score, a_gen the median over the user's recorded enrollment samples and a_bg
the median over the background, both after adaptation: the user's own samples score about 1,
other people about 0; ``threshold`` (default 0.5) sits between. Without background the unit is
``log(e)`` (a sample e times as anomalous as the user's own scores 0). Scores that can be zero
or negative (FenceGAN's logit, Berg et al.'s normalised sum) are used as they are, not logged.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from capture.trajectory import Trajectory
from models import calibration
from models.base import ParameterError, RandomState, Verifier, check_random_state, draw_seed
from models.fixed_features import FixedEncoder, check_dims
from models.oneclass.base import VERSION, ArrayDetector

_MEMORY: OrderedDict[str, tuple[dict[str, Any], dict[str, np.ndarray]]] = OrderedDict()
_MEMORY_MAX = 6
"""Pretrained detectors kept per process: a harness worker sees a few backgrounds (folds, and
the fusion's two calibration halves of each), every user of a fold shares one."""
MIN_UNIT = 0.1


def clear_memory() -> None:
    """Forget the pretrained detectors kept in this process (tests)."""
    _MEMORY.clear()


DETECTORS = {
    "ganomaly": "models.oneclass.ganomaly:GANomaly",
    "fanogan": "models.oneclass.fanogan:FAnoGAN",
    "anogan": "models.oneclass.anogan:AnoGAN",
    "egbad": "models.oneclass.bigan:EGBAD",
    "alad": "models.oneclass.bigan:ALAD",
    "ocgan": "models.oneclass.ocgan:OCGAN",
    "fencegan": "models.oneclass.fencegan:FenceGAN",
    "skip-ganomaly": "models.oneclass.skipganomaly:SkipGANomaly",
    "autoencoder": "models.oneclass.autoencoder:AutoEncoder",
    "berg": "models.oneclass.berg:BergGAN",
}
"""Array detector class of each kind (imported on use: torch loads only when needed)."""


def _detector_class(kind: str) -> type[ArrayDetector]:
    import importlib

    module, _, name = DETECTORS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


class _GANVerifier(Verifier):
    """Shared fit / score / state; subclasses name the detector (``kind``)."""

    kind: ClassVar[str] = ""
    uses_background: ClassVar[bool] = True
    default_detector: ClassVar[Mapping[str, Any]] = {}
    """Detector params for trajectories (smaller than the array classes' image defaults: a
    few hundred background recordings, trained in well under a minute on a shared CPU)."""
    default_scratch: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, features: Mapping[str, Any] | None = None, length: int = 32,
                 detector: Mapping[str, Any] | None = None, adapt_steps: int = 30,
                 min_background: int = 20, scratch: Mapping[str, Any] | None = None,
                 threshold: float = 0.5, pretrain_seed: int = 0,
                 random_state: RandomState = 0, cache_dir: str | None = None) -> None:
        self.features = features
        self.length = length
        self.detector = detector
        self.adapt_steps = adapt_steps
        self.min_background = min_background
        self.scratch = scratch
        self.threshold = threshold
        self.pretrain_seed = pretrain_seed
        self.random_state = random_state
        self.cache_dir = None if cache_dir is None else str(cache_dir)

    @staticmethod
    def _translated(params: Mapping[str, Any]) -> dict[str, Any]:
        """Parameters of models and settings stored before the pretraining seed and the
        per-fit ``random_state`` were separate: the one ``seed`` was both."""
        p = dict(params)
        if "seed" in p:
            seed = p.pop("seed")
            p.setdefault("pretrain_seed", seed)
            p.setdefault("random_state", seed)
        return p

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> _GANVerifier:
        return super().from_config(cls._translated(config))

    def _check_params(self) -> None:
        from models.nn.nets import check_length

        check_length(self.length)
        if self.adapt_steps < 0 or self.min_background < 0:
            raise ParameterError("adapt_steps and min_background must be >= 0")
        check_random_state(self.random_state)

    # -- encoding ---------------------------------------------------------------------------
    def _encoder(self) -> FixedEncoder:
        return FixedEncoder(self.features, self.length, align=False)

    def _arrays(self, trajs: list[Trajectory]) -> np.ndarray:
        v = self._encoder().transform(trajs)
        return v.reshape(len(trajs), self.length, -1).transpose(0, 2, 1).astype(np.float32)

    # -- fitting ----------------------------------------------------------------------------
    def _fit(self, genuine: list[Trajectory], impostors: list[Trajectory]) -> None:
        from models.nn.nets import check_length

        check_length(self.length)
        self.dims_ = genuine[0].dims
        check_dims(genuine, self.dims_)
        background = [t for t in impostors
                      if calibration.pseudo_kind(t) is None and t.dims == self.dims_]
        x_gen = self._arrays(genuine)
        real = calibration.real_indices(genuine) or list(range(len(genuine)))
        seed = draw_seed(self.random_state)
        if len(background) >= self.min_background:
            x_bg = self._arrays(background)
            det = self._pretrained(background, x_bg)
            det.set_params(random_state=seed).adapt(x_gen, self.adapt_steps)
            self.pretrained_ = True
        else:
            params = {**self._detector_params(), **dict(self.default_scratch),
                      **dict(self.scratch or {})}
            det = _detector_class(self.kind)(**{**params, "random_state": seed}).fit(x_gen)
            x_bg = None
            self.pretrained_, self.weights_ = False, "scratch"
        self.detector_ = det
        self.ref_ = float(np.median(self._scale(det.anomaly(x_gen[real]))))
        unit = 1.0
        if x_bg is not None:
            unit = float(np.median(self._scale(det.anomaly(x_bg)))) - self.ref_
        self.unit_ = max(unit, MIN_UNIT)
        self.threshold_ = float(self.threshold)

    def _detector_params(self) -> dict[str, Any]:
        return {**dict(self.default_detector), **dict(self.detector or {})}

    def _pretrained(self, background: list[Trajectory], x_bg: np.ndarray) -> ArrayDetector:
        """The detector trained on this background (memory, then disk cache, then training);
        always a fresh copy, since adaptation changes it. Trained with ``pretrain_seed``, not
        the per-fit ``random_state``: every user of a background shares one network."""
        from models.nn.cache import WeightCache, default_cache_dir, digest
        from models.pseudo.base import background_fingerprint

        cls = _detector_class(self.kind)
        recipe = {"version": VERSION, "kind": self.kind, "detector": self._detector_params(),
                  "features": self._encoder().config.to_dict(), "length": self.length,
                  "shape": list(x_bg.shape[1:])}
        family = f"v{VERSION}-{digest(recipe, 10)}"
        data = digest({"background": background_fingerprint(background),
                       "seed": int(self.pretrain_seed)}, 10)
        key = f"{family}-{data}"
        if key in _MEMORY:
            _MEMORY.move_to_end(key)
            self.weights_ = "memory"
            return cls.from_state(*_MEMORY[key])
        where = self.cache_dir if self.cache_dir is not None else default_cache_dir()
        cache = WeightCache(where, prefix=self.kind) if where is not None else None
        det = None
        if cache is not None:
            hit = cache.get(family, data)
            if hit is not None:
                try:
                    det, self.weights_ = cls.from_state(*hit), "cached"
                except (KeyError, TypeError, ValueError):
                    det = None  # stale or damaged: train afresh
        if det is None:
            det = cls(**{**self._detector_params(),
                         "random_state": int(self.pretrain_seed)}).fit(x_bg)
            self.weights_ = "trained"
            if cache is not None:
                cache.put(family, data, *det.get_state())
        _MEMORY[key] = det.get_state()
        while len(_MEMORY) > _MEMORY_MAX:
            _MEMORY.popitem(last=False)
        return cls.from_state(*_MEMORY[key])

    # -- scoring ----------------------------------------------------------------------------
    def _score(self, trajectories: list[Trajectory]) -> np.ndarray:
        check_dims(trajectories, self.dims_)
        a = self.detector_.anomaly(self._arrays(trajectories))
        return 1.0 - (self._scale(a) - self.ref_) / self.unit_

    def _scale(self, a: np.ndarray) -> np.ndarray:
        """The anomaly scores as compared: their log for positive scores (residuals), as they
        are for signed ones (a logit, a normalised sum: ``ArrayDetector.signed_scores``)."""
        return np.log(a + 1e-12) if self.detector_.log_scale() else a

    # -- state ------------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        d_params, d_arrays = self.detector_.get_state()
        own = self.get_params(deep=False)
        rs = own["random_state"]  # a Generator was drawn from at fit and is not JSON-able
        own["random_state"] = int(rs) if isinstance(rs, (int, np.integer)) else None
        params = {"params": own, "dims": self.dims_, "ref": self.ref_,
                  "unit": self.unit_, "threshold": self.threshold_,
                  "pretrained": self.pretrained_, "detector_state": d_params}
        return params, {"det." + k: v for k, v in d_arrays.items()}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> _GANVerifier:
        v = cls(**cls._translated(params["params"]))
        v.dims_ = int(params["dims"])
        v.ref_, v.unit_ = float(params["ref"]), float(params["unit"])
        v.threshold_ = float(params["threshold"])
        v.pretrained_ = bool(params["pretrained"])
        v.detector_ = _detector_class(cls.kind).from_state(
            params["detector_state"],
            {k[len("det."):]: a for k, a in arrays.items() if k.startswith("det.")})
        return v


class GANomalyVerifier(_GANVerifier):
    """GANomaly (latent reconstruction score) pretrained on the background, adapted to the user.

    Parameters: features, length (the fixed-length encoding), detector (``GANomaly`` params),
    adapt_steps, min_background, scratch (detector params without background), threshold
    (gap units), pretrain_seed (the shared pretraining: part of the weight cache's key),
    random_state (adaptation, or training from scratch: per fit), cache_dir.
    """

    name = "ganomaly"
    kind = "ganomaly"
    default_detector: ClassVar[Mapping[str, Any]] = {"hidden": 16, "latent": 16, "epochs": 60}
    default_scratch: ClassVar[Mapping[str, Any]] = {"epochs": 150}


class FAnoGANVerifier(_GANVerifier):
    """f-AnoGAN (izi_f score; ``detector={"score": "latent"}`` for the latent norm) pretrained
    on the background, adapted to the user (encoder and generator fine-tuned)."""

    name = "fanogan"
    kind = "fanogan"
    default_detector: ClassVar[Mapping[str, Any]] = {
        "hidden": 16, "gan_steps": 300, "critic_steps": 3, "encoder_steps": 300}
    default_scratch: ClassVar[Mapping[str, Any]] = {"gan_steps": 150, "encoder_steps": 150}


_EPOCHS: Mapping[str, Any] = {"hidden": 16, "latent": 16, "epochs": 60}
_EPOCHS_SCRATCH: Mapping[str, Any] = {"epochs": 150}
_WGAN: Mapping[str, Any] = {"hidden": 16, "gan_steps": 300, "critic_steps": 3}
_WGAN_SCRATCH: Mapping[str, Any] = {"gan_steps": 150}


class AnoGANVerifier(_GANVerifier):
    """AnoGAN (latent search at scoring time: ``search_steps`` Adam steps per login)."""

    name = "anogan"
    kind = "anogan"
    default_detector: ClassVar[Mapping[str, Any]] = {**_WGAN, "search_steps": 50}
    default_scratch: ClassVar[Mapping[str, Any]] = _WGAN_SCRATCH


class EGBADVerifier(_GANVerifier):
    """Efficient GAN-based anomaly detection (BiGAN encoder, no search)."""

    name = "egbad"
    kind = "egbad"
    default_detector: ClassVar[Mapping[str, Any]] = _EPOCHS
    default_scratch: ClassVar[Mapping[str, Any]] = _EPOCHS_SCRATCH


class ALADVerifier(_GANVerifier):
    """ALAD (BiGAN with cycle-consistency discriminators; D_xx feature score)."""

    name = "alad"
    kind = "alad"
    default_detector: ClassVar[Mapping[str, Any]] = _EPOCHS
    default_scratch: ClassVar[Mapping[str, Any]] = _EPOCHS_SCRATCH


class OCGANVerifier(_GANVerifier):
    """OCGAN (every code decodes to a normal sample; reconstruction score)."""

    name = "ocgan"
    kind = "ocgan"
    default_detector: ClassVar[Mapping[str, Any]] = _EPOCHS
    default_scratch: ClassVar[Mapping[str, Any]] = _EPOCHS_SCRATCH


class FenceGANVerifier(_GANVerifier):
    """FenceGAN (the discriminator fencing the normal data in is the score)."""

    name = "fencegan"
    kind = "fencegan"
    default_detector: ClassVar[Mapping[str, Any]] = _EPOCHS
    default_scratch: ClassVar[Mapping[str, Any]] = _EPOCHS_SCRATCH


class SkipGANomalyVerifier(_GANVerifier):
    """Skip-GANomaly (U-Net generator; residual + discriminator-feature score)."""

    name = "skip-ganomaly"
    kind = "skip-ganomaly"
    default_detector: ClassVar[Mapping[str, Any]] = {"hidden": 16, "epochs": 60}
    default_scratch: ClassVar[Mapping[str, Any]] = _EPOCHS_SCRATCH


class AutoEncoderVerifier(_GANVerifier):
    """Plain autoencoder (reconstruction error): the baseline of the GAN detectors."""

    name = "autoencoder"
    kind = "autoencoder"
    default_detector: ClassVar[Mapping[str, Any]] = _EPOCHS
    default_scratch: ClassVar[Mapping[str, Any]] = _EPOCHS_SCRATCH


class BergVerifier(_GANVerifier):
    """Berg et al. (encoder trained jointly with the GAN; min-max normalised residual plus
    latent norm), meant to stay clean when a forgery is among the samples it learns from."""

    name = "berg"
    kind = "berg"
    default_detector: ClassVar[Mapping[str, Any]] = _WGAN
    default_scratch: ClassVar[Mapping[str, Any]] = _WGAN_SCRATCH
