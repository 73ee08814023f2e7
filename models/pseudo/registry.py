"""The pseudo-data generators by name: ``GENERATORS`` (a ``models.registry.Registry``).

Settings, the CLI, the harness and saved generator files name a generator by its registry
name. Its own module so that the generator file format (``models.pseudo.serialization``) and
the package's public names (``models.pseudo``) both import it, and nothing imports the
package back.
"""

from __future__ import annotations

from models.pseudo.base import PseudoDataError
from models.registry import Registry


class UnknownGeneratorError(PseudoDataError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown generator"


_CLASSES: dict[str, str] = {
    "pseudo": "models.pseudo.pipeline:CandidateSVMGenerator",
    "vae": "models.pseudo.vae:VAEGenerator",
    "gan": "models.pseudo.gan:GANInpaintGenerator",
    "vae-inpaint": "models.pseudo.vae_inpaint:VAEInpaintGenerator",
}
GENERATORS = Registry("pseudo-data generator", _CLASSES, UnknownGeneratorError)

generator_class = GENERATORS.cls
make_generator = GENERATORS.make
