"""Make the background people the package ships (models/calibration_data/background.npz).

    .venv/bin/python scripts/make_background.py [--data ../shared/data] [--people 20]
                                                [--samples 3] [--out FILE]

A few enrollment-like samples (the first ``--samples``) of ``--people`` public identities
per kind of data: in-air 3-D from the 50 people's Leap signatures, pen 2-D from SVC2004
Task1 (half its 20 users; the other half, and Task2, stay people it never saw). People
are drawn with a fixed seed and listed in the file's provenance; ``models.background``
explains how the product uses them (a cohort for a store's first users).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from capture.container import pack_npz
from capture.datasets import load_dataset
from core.files import atomic_write
from models.background import BACKGROUND_FILE, pack

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _readme_time import measured_time

SOURCES = (("leap_air_signatures", "leapcsv", None), ("svc2004_task1", "svc2004", 10))
"""(data set, format, most people from it: None = ``--people``)."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=measured_time(__file__))
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--people", type=int, default=20)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=BACKGROUND_FILE)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    recordings, chosen = [], {}
    for name, fmt, most in SOURCES:
        data = load_dataset(args.data / name, fmt)
        ids = sorted(i for i in data.identities if len(data.genuine(i)) > args.samples)
        k = min(len(ids), most or args.people, args.people)
        picked = sorted(ids[j] for j in rng.permutation(len(ids))[:k])
        chosen[name] = picked
        for ident in picked:
            for r in data.genuine(ident)[: args.samples]:
                src = Path(str(r.meta.extra.get("file") or r.meta.source or ""))
                recordings.append(r.with_meta(
                    user=f"background:{name}/{ident}", source=src.name,
                    extra={"background": f"{name}/{ident}"}))
    header, arrays = pack(recordings, {
        "made_by": "scripts/make_background.py", "made_on": datetime.date.today().isoformat(),
        "samples_per_person": args.samples, "seed": args.seed, "people": chosen,
        "licence": "public research data, see ../shared/data/README.md"})
    atomic_write(args.out, pack_npz(header, arrays))
    print(f"wrote {len(recordings)} recordings of {sum(map(len, chosen.values()))} people to "
          f"{args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
