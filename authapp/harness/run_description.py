"""What results.json says about how an experiment was run (everything but the figures).

The protocol's own words for a reader of the results file, kept apart from the protocol's
code (``authapp.harness.protocol``) so that changing the wording cannot change what is run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from authapp.harness.calibration_pass import calibration_source
from authapp.harness.data import skipped_file
from authapp.harness.draws import SVC2004_RANDOM_FORGERIES
from authapp.harness.protocol import BOOTSTRAP_RESAMPLES, Plan
from authapp.harness.results import Description, Protocol, PseudoSetup, SkippedIdentity

__all__ = ["describe"]


def _references_text(cfg: Any) -> str:
    if cfg.split == "sessions":
        return (f"{cfg.references} references per identity and seed drawn from its earliest "
                "session (sitting); genuine attempts: the rest of that session ('same') and "
                "every later session ('later', the FRR reported), in recorded order")
    if cfg.split == "random":
        return (f"{cfg.references} genuine samples per identity and seed, drawn with a "
                "generator seeded by (seed, identity), from all sessions alike (the data "
                "carry no sessions, or --split random was asked for); the rest are genuine "
                "attempts")
    return (f"SVC2004's protocol: {cfg.references} references per identity and seed drawn "
            "from the first half of its genuine samples (S1-S10), the second half (S11-S20) "
            f"are the genuine attempts, and {SVC2004_RANDOM_FORGERIES} genuine samples of "
            "other identities of the fold, drawn per trial, are the random impostors")


def describe(plan: Plan) -> Description:
    """The parts of results.json that say what was run (everything but the figures)."""
    import sklearn

    cfg, dataset, fold_of = plan.config, plan.dataset, plan.fold_of
    folds_auto, background_for = plan.folds_auto, plan.background_for
    return Description(
        dataset=Path(cfg.data_dir).resolve().name,
        data_dir=str(Path(cfg.data_dir).resolve()),
        format=cfg.format,
        references=cfg.references,
        seeds=tuple(cfg.seeds),
        security=cfg.security if cfg.calibrated else None,
        protocol=Protocol(
            folds=cfg.folds,
            folds_chosen="auto" if folds_auto else "given",
            fold_seed=cfg.fold_seed,
            fold_of={ident: fold_of[ident] for ident in dataset.identities
                     if ident in fold_of},  # the shipped background's people: left out
            scheme=(
                f"identities split into {cfg.folds} disjoint folds (seed {cfg.fold_seed}); "
                "random impostors against a user = genuine samples of the other identities in "
                "the user's fold; background (verifier negatives, pseudo-generator training) = "
                "identities of the other folds, so no person is both background and impostor "
                "for the same user" if cfg.folds > 1 else
                "one fold: random impostors against a user = genuine samples of every other "
                "identity; no background (no verifier or generator sees other people's data)"),
            background_for=dict(background_for),
            split=cfg.split,
            references=_references_text(cfg),
            adaptation=(
                "genuine attempts replayed in recorded order through the product's template "
                "adaptation (confident logins join the references; impostor attempts decided "
                "by the final adapted model); results.json 'adaptation' has the operating "
                "point without it" if cfg.calibrated and cfg.adaptation else "off"),
            thresholds=(
                "FAR/FRR/recognition rate and the operating point at each account's own "
                "threshold (score minus threshold >= 0 accepts): the product's calibrated "
                f"threshold at security level '{cfg.security}' (calibration: "
                f"{calibration_source(cfg.calibration, cfg.folds or 1)}), raised by the "
                "account's cohort guard"
                if cfg.calibrated else
                "FAR/FRR/recognition rate at each verifier's own per-user threshold (a research "
                "configuration, not what the product ships)"),
            eer=("EER/AUC/FRR at FAR pooled over users and seeds on score minus the "
                 "account's threshold (one global offset on top of them); EER 95 % CI = "
                 f"percentile interval of that EER over {BOOTSTRAP_RESAMPLES} bootstrap "
                 "resamples of the enrolled identities; user EER = mean of per-user EERs "
                 "(each pooled over seeds); trial EER = mean of the EERs of each (user, "
                 "seed) trial"),
        ),
        pseudo=PseudoSetup(mode=cfg.pseudo,
                           generators=tuple(cfg.generators) if cfg.pseudo != "off" else ()),
        method_params={m: dict(p) for m, p in cfg.method_params.items()},
        skipped=tuple(SkippedIdentity.from_dict(s) for s in plan.skipped),
        skipped_files=tuple(skipped_file(s, cfg.data_dir)
                            for s in getattr(dataset, "skipped", []) or []),
        versions={"python": sys.version.split()[0], "numpy": np.__version__,
                  "scikit-learn": sklearn.__version__},
    )
