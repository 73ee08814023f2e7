"""``authapp experiment``: the impersonation test over a folder of recordings.

    authapp experiment DATA_DIR [--format native|fmkit|leapcsv|svc2004] [--references K]
                       [--seed S] [--seeds N|LIST] [--methods dtw,subspace,...]
                       [--pseudo off|on|both] [--jobs N] --out OUT_DIR

Writes results.json, scores.csv, roc.png, det.png, histograms.png and report.html into
OUT_DIR, prints the method x impostor-type table and the wall time. The protocol is described
in ``authapp.harness.experiment``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from authapp.harness.experiment import (
    DEFAULT_METHODS,
    PSEUDO_MODES,
    SPLITS,
    ExperimentConfig,
    ExperimentError,
)
from capture.formats import FORMATS


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "experiment",
        help="impersonation test over recorded data: FAR/FRR/EER/AUC, DET/ROC plots, report",
        description="Replay every recording of DATA_DIR against per-user verifiers: K "
                    "references enroll, the other genuine samples, other identities (random "
                    "impostors) and forgeries (skilled impostors) try to log in. Writes "
                    "results.json, scores.csv, roc.png, det.png, histograms.png and "
                    "report.html into OUT_DIR and prints the table and the wall time.",
        epilog="Example (the SVC2004 Task1 protocol: 5 references, seeds 0, 1, 2): "
               "authapp experiment ../shared/data/svc2004_task1 --format svc2004 "
               "--references 5 --seed 0 --seeds 3 --jobs 2 --out out/svc2004_task1",
    )
    p.add_argument("data_dir", metavar="DATA_DIR", type=Path, help="folder of recordings")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="recording format: native (user, content and label inside each "
                        "file), fmkit (<user>_<content>_<nn>.txt), leapcsv "
                        "(<identity>/<n>.csv), svc2004 (U<u>S<n>.TXT, S21-S40 forgeries); "
                        "default: detected file by file")
    p.add_argument("--references", "-k", type=int, default=5, metavar="K",
                   help="enrollment samples per identity (default 5)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed of the run (default 0): the reference draws use seeds S, S+1, "
                        "..., one per --seeds, and S also seeds the identity fold split; "
                        "'--seed 4 --seeds 1' is a single seed")
    p.add_argument("--seeds", default="3", metavar="N|LIST",
                   help="how many seeds average out the choice of references: a count N "
                        "(seeds S..S+N-1; default 3) or an explicit comma "
                        "list like 0,5,9 (then --seed only seeds the fold split)")
    p.add_argument("--methods", default=None, metavar="M1,M2,...",
                   help="comma list of verifiers (default: "
                        f"{','.join(DEFAULT_METHODS)})")
    p.add_argument("--pseudo", choices=PSEUDO_MODES, default="off",
                   help="without pseudo data (off), with it (on), or both; with it a method "
                        "is reported as <method>+<generator>")
    p.add_argument("--generators", default=None,
                   help="comma list of models.pseudo generators for --pseudo on/both, e.g. "
                        "pseudo,vae (default: every registered one)")
    p.add_argument("--folds", type=int, default=None,
                   help="disjoint identity folds: background (cohort) from the other folds, "
                        "random impostors from the user's own; 1 = no background, every other "
                        "identity is an impostor (default: 2 when at least 6 identities can "
                        "enroll, else 1)")
    p.add_argument("--split", choices=SPLITS, default="auto",
                   help="auto (default): sessions where the recordings say in which sitting "
                        "they were written (SVC2004), else random; sessions: K references "
                        "from the earliest session, the rest of it (same-session) and every "
                        "later session (the FRR reported) as attempts, in recorded order; "
                        "random: K references drawn from all genuine samples, whichever "
                        "sitting (labelled so in results.json); svc2004: the SVC2004 "
                        "competition's protocol, K references from S1-S10, S11-S20 as "
                        "attempts, 20 random forgeries per trial (use --seeds 10)")
    p.add_argument("--no-adaptation", action="store_true",
                   help="calibrated models: decide every attempt with the enrollment model "
                        "alone (default: replay genuine attempts in recorded order with the "
                        "product's template adaptation)")
    p.add_argument("--adapt-margin", type=float, default=None, metavar="M",
                   help="template adaptation: calibrated margin a login needs to join the "
                        "references (default: the product's)")
    p.add_argument("--max-adapted", type=int, default=None, metavar="N",
                   help="template adaptation: adapted samples kept (default: the product's)")
    p.add_argument("--param", action="append", default=[], metavar="METHOD.NAME=JSON",
                   help="verifier or pseudo-data generator constructor parameter, e.g. "
                        "dtw.window=0.2 or gan.impostor_strength=1.5 (repeatable)")
    p.add_argument("--calibration", default="dev", metavar="dev|shipped|none|FILE",
                   help="thresholds: dev (default) = the product's calibrated thresholds, the "
                        "calibration learned on the other fold(s) (the package's own when there "
                        "is one fold); shipped = the package's calibration; FILE = a "
                        "calibration file; none = each verifier's own per-user threshold (a "
                        "research configuration, not what the product ships)")
    p.add_argument("--security", choices=("low", "normal", "high"), default="normal",
                   help="security level of the calibrated thresholds (default normal: "
                        "FAR 0.1 %% against other people, 5 %% against forgers on the "
                        "development data)")
    p.add_argument("--shipped-background", choices=("off", "on", "left-out"), default="off",
                   help="the package's background people (models/background.py): on = they "
                        "join each account's cohort while it has fewer than 20 people, as in a "
                        "young store; left-out = only leave the data set's own shipped people "
                        "out of the run (the baseline for on); default off")
    p.add_argument("--no-cohort", action="store_true",
                   help="calibrated models get no cohort of other people (like a store's "
                        "first user)")
    p.add_argument("--forgery-far", type=float, default=1.0, metavar="F",
                   help="calibrated models with --pseudo and a mask-and-inpaint generator "
                        "(gan, vae-inpaint): raise each account's threshold until at most F "
                        "of its pseudo-forgeries are accepted (default 1 = off)")
    p.add_argument("--wide", action="store_true",
                   help="print every measure (the full table is always in results.json and "
                        "report.html)")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="processes; identities are spread over them (default 1)")
    p.add_argument("--cluster", default=None, metavar="ADDRESS|local:N",
                   help="run the identities on a Dask cluster: a scheduler's address "
                        "(tcp://host:8786; see README, Scale) or local:N for N worker "
                        "processes here (instead of --jobs); the scores are the same")
    p.add_argument("--resume", action="store_true",
                   help="continue the unfinished run in OUT_DIR (killed or interrupted): "
                        "identities it finished are not run again; same data and options "
                        "needed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--out", "-o", type=Path, required=True, metavar="OUT_DIR",
                   help="output folder (created)")
    p.set_defaults(func=run)


def parse_seeds(text: str, first: int) -> tuple[int, ...]:
    text = str(text).strip()
    try:
        if "," in text:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
        else:
            n = int(text)
            if n < 1:
                raise ExperimentError(f"--seeds must be at least 1, got {n}")
            seeds = tuple(range(first, first + n))
    except ValueError:
        raise ExperimentError(f"--seeds wants a count or a comma list of integers, got "
                              f"{text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ExperimentError(f"--seeds must list distinct integers, got {text!r}")
    return seeds


def parse_list(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def parse_params(items: list[str], methods: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """{method or generator: {name: JSON value}} from ``--param NAME.PARAM=JSON`` items."""
    params: dict[str, dict[str, Any]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        method, dot, name = key.partition(".")
        if not (eq and dot and method and name):
            raise ExperimentError(f"--param wants METHOD.NAME=VALUE, got {item!r}")
        if method not in methods:
            raise ExperimentError(f"--param {item!r}: {method!r} is not in --methods or "
                                  "--generators")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value  # a bare string
        params.setdefault(method, {})[name] = parsed
    return params


def _generators(text: str | None, mode: str) -> tuple[str, ...]:
    if mode == "off":
        return ()
    if text:
        return parse_list(text)
    from models.pseudo import GENERATORS

    return tuple(GENERATORS)


CHECKPOINT_DIR = "checkpoint"
"""Sub-folder of OUT_DIR with the finished identities of a run in progress (removed when the
run's results are written; ``--resume`` continues from it)."""


def run(args: argparse.Namespace) -> int:
    from authapp.harness.checkpoint import Checkpoint
    from authapp.harness.cluster import parse_cluster
    from authapp.harness.experiment import run_experiment
    from authapp.harness.report import summary_text, write_report

    t0 = time.perf_counter()
    if args.methods:
        methods = parse_list(args.methods)
    else:
        methods = DEFAULT_METHODS
    if args.out.exists() and not args.out.is_dir():
        raise ExperimentError(f"--out {args.out} exists and is not a folder")
    if args.cluster is not None:
        parse_cluster(args.cluster)  # a bad address is refused before any work
    generators = _generators(args.generators, args.pseudo)
    params = parse_params(args.param, methods + generators)
    gen_params = {g: params.pop(g) for g in generators if g in params and g not in methods}
    # the trained embedding network is cached beside the results, so a rerun reuses it
    gen_params.setdefault("pseudo", {}).setdefault(
        "cache_dir", str(Path(args.out) / "pseudo_weights"))
    cfg = ExperimentConfig(
        data_dir=args.data_dir,
        format=args.format,
        references=args.references,
        seeds=parse_seeds(args.seeds, args.seed),
        methods=methods,
        pseudo=args.pseudo,
        generators=generators,
        folds=args.folds,
        fold_seed=args.seed,
        split=args.split,
        jobs=args.jobs,
        calibration=args.calibration,
        security=args.security,
        cohort=not args.no_cohort, shipped_background=args.shipped_background,
        forgery_far=args.forgery_far,
        adaptation=not args.no_adaptation,
        adapt_margin=args.adapt_margin,
        max_adapted=args.max_adapted,
        method_params=params,
        generator_params=gen_params,
    )
    checkpoint = Checkpoint(Path(args.out) / CHECKPOINT_DIR, resume=args.resume)
    result = run_experiment(cfg, progress=not args.no_progress, checkpoint=checkpoint,
                            cluster=args.cluster)
    paths = write_report(result, args.out)
    checkpoint.finish()
    wall = time.perf_counter() - t0
    print(summary_text(result.results, wide=args.wide))
    folds = result.results.protocol.folds
    where = f"--cluster {args.cluster}" if args.cluster else f"--jobs {cfg.jobs}"
    print(f"{len(result.trials)} identities x {len(cfg.seeds)} seeds, folds={folds}; "
          f"wall time {wall:.1f} s with {where}")
    print(f"report: {paths['html']}")
    return 0
