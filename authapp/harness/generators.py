"""The pseudo-data generators of a run, fitted once per fold on that fold's background
people (never on the people the fold enrolls), before any identity is run: every identity of
the fold then expands its references with the same fitted generator.

Seeds: a fold's generator is constructed with ``pretrain_seed`` = the fold's seed; each
(seed, identity) then generates with its own ``random_state`` through ``with_random_state``
(``authapp.harness.runner``). Either one named in ``generator_params`` wins, as a verifier's
own ``random_state`` does (``EnrollmentSettings.with_random_state``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from authapp.harness.data import ExperimentError
from authapp.harness.draws import identity_seed
from authapp.harness.protocol import ExperimentConfig
from core.errors import AirAuthError

log = logging.getLogger(__name__)


def fit_generators(cfg: ExperimentConfig, dataset: Any, fold_of: Mapping[str, int]
                   ) -> tuple[dict[int, dict[str, Any]], dict[str, float]]:
    """Pseudo-data generators fitted once per fold on that fold's background identities
    (logged at INFO, as training a network can take minutes)."""
    if cfg.pseudo == "off":
        return {}, {}
    from models.pseudo import make_generator  # (torch: only when pseudo data are asked for)

    fitted: dict[int, dict[str, Any]] = {}
    fit_s: dict[str, float] = {name: 0.0 for name in cfg.generators}
    for fold in sorted(set(fold_of.values())):
        background = [t for ident, f in fold_of.items() if f != fold
                      for t in dataset.genuine(ident)]
        fitted[fold] = {}
        for name in cfg.generators:
            params = {"pretrain_seed": identity_seed(cfg.fold_seed, f"fold{fold}", name),
                      **dict(cfg.generator_params.get(name, {}))}
            try:
                gen = make_generator(name, **params)
            except (AirAuthError, KeyError, ValueError, TypeError) as exc:
                raise ExperimentError(f"pseudo-data generator {name!r} is not available: "
                                      f"{exc}") from exc
            log.info("fitting pseudo-data generator %r for fold %d on %d background "
                     "recordings ...", name, fold, len(background))
            t0 = time.perf_counter()
            try:
                fitted[fold][name] = gen.fit(background)
            except AirAuthError as exc:
                raise ExperimentError(f"pseudo-data generator {name!r} could not be fitted on "
                                      f"the background of fold {fold}: {exc}") from exc
            fit_s[name] += time.perf_counter() - t0
    return fitted, fit_s
