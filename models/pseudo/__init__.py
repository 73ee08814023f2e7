"""Pseudo-data generation for enrollment: a user gives a few genuine samples and no impostor
samples, so enrollment makes pseudo-genuine and pseudo-impostor trajectories from them.

Generators (``make_generator(name, **params)``):

- ``"pseudo"``: graded candidates (global + local distortions of the references), EfficientNet
  embedding trained on other people's writing, SH-SVM selection (``models.pseudo.pipeline``).
- ``"vae"``: a small VAE over fixed-length trajectories trained on other people's writing;
  pseudo-impostors are decoded from a shell around the user's latent codes (``models.pseudo.vae``).

Every generator: ``fit(background, seed) -> self`` (other people's data only),
``generate(references, seed) -> PseudoData(genuine, impostors)``, ``get_state()`` /
``from_state(params, arrays)``; ``dump_generator`` / ``load_generator`` give bytes.
"""

from __future__ import annotations

from models.pseudo.base import (
    PseudoData,
    PseudoDataError,
    PseudoGenerator,
    background_fingerprint,
    dump_generator,
    load_generator,
)
from models.registry import Registry


class UnknownGeneratorError(PseudoDataError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown generator"


_CLASSES: dict[str, str] = {
    "pseudo": "models.pseudo.pipeline:CandidateSVMGenerator",
    "vae": "models.pseudo.vae:VAEGenerator",
}
GENERATORS = Registry("pseudo-data generator", _CLASSES, UnknownGeneratorError)

generator_class = GENERATORS.cls
make_generator = GENERATORS.make


__all__ = [
    "GENERATORS", "PseudoData", "PseudoDataError", "PseudoGenerator", "UnknownGeneratorError",
    "background_fingerprint", "dump_generator", "generator_class", "load_generator",
    "make_generator",
]
