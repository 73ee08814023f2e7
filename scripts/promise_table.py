"""Does each security level keep its promise on people outside the calibration?

Every security level promises a random-impostor FAR and a skilled-forgery FAR
(``models.score_calibration.SECURITY_LEVELS``: 1 % / 10 % low, 0.1 % / 5 % normal, 0.01 % /
2 % high). This prints, per data set and pooled over all of them, what each level delivers
to people whose recordings never entered the calibration, with the counts, the ratio
delivered / promised and a 95 % upper bound on the delivered rate (3/n, the rule of three,
with 0 errors in n attempts; Clopper-Pearson otherwise).

Where the numbers come from: ``authapp experiment`` runs with the default
``--calibration dev`` and 2 folds are a leave-people-out protocol: every account's
calibration (mapping and level thresholds) is learned on the other fold's people only, and its
attempts come from its own fold, so every figure here is on strangers to the calibration.
Each account's threshold at every level (with its cohort guard) is in scores.csv; FMKit, a
single fold, uses the shipped calibration, which never saw FMKit's people.

    .venv/bin/python scripts/promise_table.py OUT/leap_air_signatures/scores.csv ...
    .venv/bin/python scripts/promise_table.py --run OUT_DIR [--data ../shared/data]

``--run`` first runs the product's fusion on every shared data set (5 references, seeds 0-2,
``--jobs``), writing each run's outputs under OUT_DIR as ``authapp experiment`` does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from authapp.harness.operating_point import operating_point
from models.score_calibration import SECURITY_LEVELS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _readme_time import measured_time

DATA_SETS = (("leap_air_signatures", "leapcsv"), ("svc2004_task1", "svc2004"),
             ("svc2004_task2", "svc2004"), ("fmkit_leap", "fmkit"))
KEPT = 2.0
"""A promise counts as kept when the delivered rate is at most this many times the promise."""


def upper_bound(errors: int, n: int, level: float = 0.95) -> float:
    """One-sided upper confidence bound on a rate seen as ``errors`` in ``n`` attempts: the
    rule of three (3 / n) at 0 errors, the Clopper-Pearson bound otherwise."""
    if n <= 0:
        return 1.0
    if errors == 0:
        return min(1.0, 3.0 / n)
    from scipy.stats import beta

    return 1.0 if errors >= n else float(beta.ppf(level, errors + 1, n - errors))


@dataclass(frozen=True)
class Row:
    """One data set (or "all") at one level, one kind of impostor."""

    data: str
    level: str
    impostors: str  # "random" / "skilled"
    promised: float
    errors: int
    attempts: int

    @property
    def delivered(self) -> float | None:
        return self.errors / self.attempts if self.attempts else None

    @property
    def ratio(self) -> float | None:
        return None if self.delivered is None else self.delivered / self.promised

    @property
    def upper(self) -> float | None:
        return upper_bound(self.errors, self.attempts) if self.attempts else None

    @property
    def kept(self) -> bool | None:
        return None if self.ratio is None else self.ratio <= KEPT


def rows_for(data: str, trials: Mapping[str, Sequence[Any]], method: str = "fusion"
             ) -> list[Row]:
    """Per level and impostor kind: accepted / attempted at each account's own threshold of
    that level (``authapp.harness.operating_point``, the figures of results.json's levels)."""
    pairs = [(i, t) for i, ts in trials.items() for t in ts if t.method == method]
    if not pairs:
        raise SystemExit(f"{data}: no trials of method {method!r}")
    if not all(t.level_thresholds for _, t in pairs if t.refused is None):
        raise SystemExit(f"{data}: the run has no per-level thresholds (not calibrated?)")
    out = []
    for level, promise in SECURITY_LEVELS.items():
        op = operating_point(pairs, level)
        for kind, promised in (("random", promise.random_far),
                               ("skilled", promise.skilled_far)):
            out.append(Row(data, level, kind, promised, op[f"errors_{kind}"],
                           op[f"n_{kind}"]))
    return out


def pooled(rows: Iterable[Row]) -> list[Row]:
    """The same rows summed over data sets (label "all")."""
    sums: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        s = sums.setdefault((r.level, r.impostors), [r.promised, 0, 0])
        s[1] += r.errors
        s[2] += r.attempts
    return [Row("all", lv, kind, p, e, n) for (lv, kind), (p, e, n) in sums.items()]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.3g} %"


def format_rows(rows: Sequence[Row]) -> str:
    """The table as Markdown (what README shows)."""
    lines = [("| data | level | impostors | promised | delivered (errors / attempts) | "
             "delivered / promised | 95 % upper bound | kept (<= 2x) |"),
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if not r.attempts:
            lines.append(f"| {r.data} | {r.level} | {r.impostors} | {_pct(r.promised)} | "
                         "no attempts | - | - | - |")
            continue
        lines.append(
            f"| {r.data} | {r.level} | {r.impostors} | {_pct(r.promised)} | "
            f"{_pct(r.delivered)} ({r.errors:,} / {r.attempts:,}) | {r.ratio:.2f} | "
            f"{_pct(r.upper)} ({r.upper / r.promised:.2f}x) | {'yes' if r.kept else 'NO'} |")
    return "\n".join(lines)


def run_all(out: Path, data: Path, jobs: int) -> list[Path]:
    """Run the product's fusion on every shared data set; returns the scores.csv paths."""
    from authapp.harness.experiment import ExperimentConfig, run_experiment
    from authapp.harness.report import write_report

    paths = []
    for name, fmt in DATA_SETS:
        if not (data / name).is_dir():
            print(f"skipping {name}: {data / name} not found", file=sys.stderr)
            continue
        cfg = ExperimentConfig(data_dir=data / name, format=fmt, references=5,
                               seeds=(0, 1, 2), methods=("fusion",), jobs=jobs)
        write_report(run_experiment(cfg, progress=False), out / name)
        paths.append(out / name / "scores.csv")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=measured_time(__file__))
    ap.add_argument("scores", nargs="*", type=Path, help="scores.csv of experiment runs")
    ap.add_argument("--run", type=Path, metavar="OUT_DIR",
                    help="run the experiments into OUT_DIR first")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--method", default="fusion")
    args = ap.parse_args(argv)
    from authapp.harness.scores import read_scores

    paths = list(args.scores)
    if args.run is not None:
        paths += run_all(args.run, args.data, args.jobs)
    if not paths:
        ap.error("give scores.csv files or --run OUT_DIR")
    rows: list[Row] = []
    for p in paths:
        name = p.parent.name if p.name == "scores.csv" else p.stem
        result = read_scores(p)
        rows += [r for r in rows_for(name, result.trials, args.method) if r.attempts]
    if len(paths) > 1:
        rows += pooled(rows)
    print(format_rows(rows))
    broken = [r for r in rows if r.impostors == "random" and r.kept is False]
    print(f"\nrandom FAR within {KEPT:g}x of the promise at every level: "
          + ("yes" if not broken else "NO (" + ", ".join(
              f"{r.data} {r.level}: {r.ratio:.2f}x" for r in broken) + ")"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
