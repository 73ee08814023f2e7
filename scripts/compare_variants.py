"""Paired bootstrap of the pooled-EER change between two variants of one experiment run.

The harness reports every ``<method>+<generator>`` against ``<method>``; this compares any two
variants of the same run (e.g. two generators) from its ``scores.csv`` alone, with the same
cluster bootstrap (an identity's seeds stay together) as the harness:

    .venv/bin/python scripts/compare_variants.py OUT/scores.csv fusion+pseudo fusion+gan
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from authapp.harness.evaluation import identity_groups
from authapp.harness.metrics import bootstrap_eer_change
from authapp.harness.scores import read_scores

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _readme_time import measured_time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=measured_time(__file__))
    ap.add_argument("scores", type=Path)
    ap.add_argument("a", help="variant A (the reference)")
    ap.add_argument("b", help="variant B")
    ap.add_argument("--impostors", default="random", choices=("random", "skilled"))
    args = ap.parse_args()
    result = read_scores(args.scores)
    for v in (args.a, args.b):
        if v not in result.variants:
            ap.error(f"{v!r} is not a variant of this run: {', '.join(result.variants)}")
    ch = bootstrap_eer_change(identity_groups(result, args.a, args.impostors),
                              identity_groups(result, args.b, args.impostors), seed=0)
    print(f"{args.impostors} EER {args.b} - {args.a}: {100 * ch.change:+.2f} pp, "
          f"95 % CI [{100 * ch.ci_low:+.2f}, {100 * ch.ci_high:+.2f}] "
          f"({ch.clusters} identities, {ch.resamples} paired resamples)")


if __name__ == "__main__":
    main()
