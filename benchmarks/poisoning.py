"""Poisoning template adaptation: an imitator's accepted forgeries interleaved with the user's
genuine logins, through the product's own service.

    .venv/bin/python benchmarks/poisoning.py [--data ../shared/data] [--rounds 20]
        [--security normal] [--calibration shipped|FILE] [--sets svc2004_task1,svc2004_task2]

For every SVC2004 user: enroll S1-S5 (session 1) with the product's defaults in a fresh
store holding all users of the set, then ``--rounds`` rounds of (one skilled forgery login,
one genuine login from S6-S20 in recorded order, while they last; ``--control``: the genuine
logins alone, to separate the effect of the user's own adaptation), all through
``AuthService.verify`` with adaptation on and the lockout off (so the imitator can keep
trying). Skilled FAR of the account's model on all 20 of its forgeries is measured before the
rounds and after them (model decisions, not logins: a forgery once tried is a replay). The
issue's bar: after 20 rounds <= 1.5 x before. With ``--calibration shipped`` the calibration
was made from these same people (its figures are then relative, before vs after).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from authapp.security import LockoutPolicy
from authapp.services import AuthService, Settings
from authapp.store import EnrollmentStore
from capture.datasets import load_dataset


def run_set(data: Path, rounds: int, security: str, calibration: str,
            forgers: bool = True) -> dict[str, float]:
    ds = load_dataset(data, "svc2004")

    def ordered(items: list) -> list:
        return sorted(items, key=lambda t: t.meta.extra["sample"])

    totals = {"before": 0, "after": 0, "forgeries": 0, "accepted_forgeries": 0,
              "adapted_forgeries": 0, "adapted_genuine": 0, "genuine_rejected": 0,
              "genuine": 0}
    worst = []
    with tempfile.TemporaryDirectory() as tmp, EnrollmentStore(Path(tmp) / "s") as store:
        # the data set's people are the store: the package's shipped background people
        # (some of them these very users) must not join anyone's cohort
        service = AuthService(store, Settings(security_level=security,
                                              calibration=calibration,
                                              lockout=LockoutPolicy(max_failures=0),
                                              shipped_background=False))
        for u in ds.identities:
            service.enroll(u, ordered(ds.genuine(u))[:5])
        for u in ds.identities:
            forgeries = ordered(ds.forgeries(u))
            later = ordered(ds.genuine(u))[5:]
            _, model = store.load_verifier(u)
            before = int(np.sum(model.predict(forgeries)))
            for k in range(rounds):
                if forgers:
                    r = service.verify(u, forgeries[k % len(forgeries)])
                    totals["accepted_forgeries"] += r.decision
                    totals["adapted_forgeries"] += r.adapted
                if k < len(later):
                    g = service.verify(u, later[k])
                    totals["genuine"] += 1
                    totals["genuine_rejected"] += not g.decision
                    totals["adapted_genuine"] += g.adapted
            _, model = store.load_verifier(u)
            after = int(np.sum(model.predict(forgeries)))
            totals["before"] += before
            totals["after"] += after
            totals["forgeries"] += len(forgeries)
            worst.append((after, before, u))
    worst.sort(reverse=True)
    totals["worst"] = worst[:3]
    return totals


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--sets", default="svc2004_task1,svc2004_task2")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--security", default="normal")
    ap.add_argument("--calibration", default="shipped")
    ap.add_argument("--control", action="store_true",
                    help="the same rounds without the forgery logins: what the genuine "
                         "logins' adaptation alone does to the skilled FAR")
    args = ap.parse_args()
    for name in args.sets.split(","):
        t0 = time.perf_counter()
        t = run_set(args.data / name, args.rounds, args.security, args.calibration,
                    forgers=not args.control)
        n = t["forgeries"]
        ratio = t["after"] / t["before"] if t["before"] else float("nan")
        what = "genuine logins only (control)" if args.control else "rounds"
        print(f"{name} level {args.security}, {args.rounds} {what}: skilled FAR before "
              f"{100 * t['before'] / n:.2f} % ({t['before']}/{n}), after "
              f"{100 * t['after'] / n:.2f} % ({t['after']}/{n}), ratio {ratio:.2f}; "
              f"forgeries accepted during the rounds {t['accepted_forgeries']}, adapted "
              f"{t['adapted_forgeries']}; genuine logins rejected {t['genuine_rejected']}/"
              f"{t['genuine']}, adapted {t['adapted_genuine']}; worst accounts (after, "
              f"before, user) {t['worst']} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
