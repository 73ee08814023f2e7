"""Make the calibrations the package ships (models/calibration_data/shipped.json).

    .venv/bin/python scripts/make_calibration.py [--data ../shared/data] [--jobs 2]
                                                 [--out models/calibration_data/shipped.json]

For each kind of data -- in-air 3-D (the 50 people's Leap signatures) and pen 2-D (SVC2004
Task1 and Task2, with their skilled forgeries) -- the impersonation harness enrolls every
identity (3 and 5 references, seeds 0-2, two folds so that every account has a cohort of
other people) through the product's own pipeline and records the member scores of all
attempts. Where the data carry sessions (SVC2004: S1-S10, then S11-S20 a week later) the
references come from the first session and the genuine attempts include the later one, so
the calibration learns what a returning user's writing scores. Every verifier kind gets two calibrations per kind of data, with and without the
cohort feature, fitted on all of those accounts (``models.score_calibration_fit``). The
single-verifier kinds use the fusion's member columns: members are fitted on the user's
samples alone, so the scores are the same as fitting them one by one.

Accuracy figures are never measured with this file on the people it was made from: the
harness's default (``--calibration dev``) learns the same calibration on the other fold.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from authapp.harness.calibration_pass import development_scores
from authapp.harness.experiment import ExperimentConfig, run_experiment
from models.ensemble import FUSION_MEMBERS
from models.score_calibration import SHIPPED_CALIBRATION, CalibrationSet
from models.score_calibration_fit import DevelopmentScores, fit_calibration

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _readme_time import measured_time

SOURCES = {
    3: [("leap_air_signatures", "leapcsv")],
    2: [("svc2004_task1", "svc2004"), ("svc2004_task2", "svc2004")],
}
REFERENCES = (3, 5)
SEEDS = (0, 1, 2)


def collect(data: Path, jobs: int) -> dict[int, tuple[DevelopmentScores, list[str]]]:
    """Per dims: development scores of the fusion's members, and the runs they came from."""
    out: dict[int, tuple[DevelopmentScores, list[str]]] = {}
    for dims, sets in SOURCES.items():
        dev = DevelopmentScores()
        runs = []
        for name, fmt in sets:
            for k in REFERENCES:
                t0 = time.perf_counter()
                # split "auto": SVC2004 enrolls from session 1, so the development genuine
                # attempts include later-session ones (the drift returning users bring);
                # no adaptive replay: the calibration is learned on enrollment models
                cfg = ExperimentConfig(data_dir=data / name, format=fmt, references=k,
                                       seeds=SEEDS, methods=("fusion",), jobs=jobs, folds=2,
                                       adaptation=False)
                result = run_experiment(cfg, progress=False)
                part = development_scores(t for ts in result.trials.values() for t in ts)
                for field in ("genuine", "random", "skilled", "cohort", "person",
                              "random_people"):
                    getattr(dev, field).extend(getattr(part, field))
                runs.append(f"{name} ({len(result.trials)} identities, {k} references, seeds "
                            f"{SEEDS[0]}-{SEEDS[-1]}, {len(part)} accounts)")
                print(f"{name} K={k}: {len(part)} accounts in {time.perf_counter() - t0:.0f} s",
                      file=sys.stderr)
        out[dims] = (dev, runs)
    return out


def columns(dev: DevelopmentScores, cols: list[int]) -> DevelopmentScores:
    sub = DevelopmentScores()
    for g, r, s, c, who, wr in zip(dev.genuine, dev.random, dev.skilled, dev.cohort,
                                   dev.person, dev.random_people):
        sub.add(g[:, cols], r[:, cols], s[:, cols] if s.size else s.reshape(0, len(cols)),
                None if c is None else c[:, cols], who, wr)
    return sub


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=measured_time(__file__))
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=SHIPPED_CALIBRATION)
    args = ap.parse_args()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip() or "unknown"
    entries = []
    for dims, (dev, runs) in collect(args.data, args.jobs).items():
        kinds = [("fusion", list(range(len(FUSION_MEMBERS))))]
        kinds += [(m, [k]) for k, m in enumerate(FUSION_MEMBERS)]
        for kind, cols in kinds:
            members = [FUSION_MEMBERS[c] for c in cols]
            for cohort in (True, False):
                entries.append(fit_calibration(
                    columns(dev, cols), members, {}, dims, cohort,
                    {"verifier": kind, "made_from": runs}))
                op = entries[-1].provenance["development_operating_points"]["normal"]
                print(f"{dims}-D {kind:<8} cohort={cohort!s:<5} normal: FRR "
                      f"{100 * op['frr']:.2f} %, FAR {100 * op['random_far']:.3f} %, skilled "
                      + ("-" if op["skilled_far"] is None else
                         f"{100 * op['skilled_far']:.2f} %"), file=sys.stderr)
    made = {"made_by": "scripts/make_calibration.py", "code_commit": commit,
            "made_on": datetime.date.today().isoformat(),
            "numpy": np.__version__}
    CalibrationSet(tuple(entries), made).save(args.out)
    print(f"wrote {len(entries)} calibrations to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
