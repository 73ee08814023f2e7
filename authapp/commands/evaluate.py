"""``authapp evaluate SCORES [--out DIR]``: results.json and the report from a score file.

Recomputes every figure of an experiment from its scores.csv alone -- the hand-off between
scoring and evaluation -- so results can be re-evaluated (a new measure, another report)
without enrolling and scoring again.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate", help="results.json and report.html from an experiment's scores.csv alone",
        description="Read the scores.csv an experiment wrote and recompute results.json, the "
                    "plots and report.html from its score rows (nothing is enrolled or "
                    "scored again).")
    p.add_argument("scores", metavar="SCORES", type=Path, help="an experiment's scores.csv")
    p.add_argument("--out", "-o", type=Path, default=None, metavar="OUT_DIR",
                   help="output folder (default: the folder of SCORES)")
    p.add_argument("--wide", action="store_true", help="print every measure")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from authapp.harness.experiment import evaluate_scores
    from authapp.harness.report import summary_text, write_report

    result = evaluate_scores(args.scores)
    out = args.out or args.scores.parent
    paths = write_report(result, out, scores=out.resolve() != args.scores.parent.resolve())
    print(summary_text(result.results, wide=args.wide))
    print(f"results: {paths['results']}")
    print(f"report: {paths['html']}")
    return 0
