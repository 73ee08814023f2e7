"""A skilled forgery among the enrollment references: does a contamination-robust one-class
detector keep the user's model cleaner (issue 26)?

SVC2004 task 1 (genuine S1-S20, skilled forgeries S21-S40 per user). Users U1..U(n) enroll
twice: with 5 genuine references (clean) and with 4 genuine references plus one of their
skilled forgeries (contaminated: an accepted forgery adapted into the template, or a forger
at enrollment). Every model is tested on the same attempts: the user's 15 other genuine
samples and the 19 skilled forgeries left (the slipped one excluded). Per method: mean over
users of the skilled-forgery EER, and FAR / FRR at the method's own threshold, clean and
contaminated; "slipped accepted": share of users whose contaminated model accepts the slipped
forgery itself.

Methods: the one-class verifiers ``berg`` (Berg et al.: jointly trained encoder, min-max
normalised residual + latent norm), ``fanogan``, ``ganomaly`` at their verifier defaults,
pretrained on a background of other people (the first 5 genuine samples of each person of
the other half of the data set: U11-U20 for U1-U10 and vice versa) and adapted to the
references; and the product's model (``build_user_model`` with the
default settings: quality check, calibrated fusion, shipped calibration, the background as
cohort), whose quality check may leave the forgery out ("forgery left out").

    nice .venv/bin/python benchmarks/oneclass_contamination.py [--users 10] [--methods ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "svc2004_task1"
METHODS = ("berg", "fanogan", "ganomaly", "product")


def fit(method: str, refs: list, background: list) -> tuple[object, bool]:
    """(fitted verifier, was reference 4 left out by the product's quality check)."""
    if method == "product":
        from models.enrollment import EnrollmentSettings, build_user_model
        from models.score_calibration import shipped_calibrations

        model = build_user_model(refs, EnrollmentSettings(), calibrations=shipped_calibrations(),
                                 others=background)
        return model.verifier, 4 not in model.kept
    from models.registry import make_verifier

    return make_verifier(method).fit(refs, background), False


def evaluate(users: Sequence[str], methods: Sequence[str], ds,
             verbose: bool = True) -> dict[str, dict[str, list[float]]]:
    """{method: {metric: [per user]}} with metrics eer/far/frr for "clean" and "dirty", the
    slipped forgery's acceptance and whether it was left out."""
    from authapp.harness.metrics import eer

    out: dict[str, dict[str, list[float]]] = {m: {} for m in methods}
    ids = list(ds.identities)
    half = len(ids) // 2
    for u in users:
        # the background: the first 5 genuine samples of the other half of the people
        others = ids[half:] if ids.index(u) < half else ids[:half]
        background = [t for i in others for t in ds.genuine(i)[:5]]
        gen, forg = ds.genuine(u), ds.forgeries(u)
        tests_g, tests_f = gen[5:], forg[1:]
        for m in methods:
            row = out[m]
            for cond, refs in (("clean", gen[:5]), ("dirty", gen[:4] + forg[:1])):
                v, left_out = fit(m, refs, background)
                sg, sf = v.decision_function(tests_g), v.decision_function(tests_f)
                row.setdefault(f"eer_{cond}", []).append(eer(sg, sf))
                row.setdefault(f"far_{cond}", []).append(float(np.mean(sf >= 0)))
                row.setdefault(f"frr_{cond}", []).append(float(np.mean(sg < 0)))
                if cond == "dirty":
                    row.setdefault("slipped_accepted", []).append(
                        float(v.decision_function(forg[:1])[0] >= 0))
                    row.setdefault("left_out", []).append(float(left_out))
            if verbose:
                print(f"{u} {m}: EER clean {row['eer_clean'][-1]:.3f} contaminated "
                      f"{row['eer_dirty'][-1]:.3f}", file=sys.stderr, flush=True)
    return out


def markdown(res: dict[str, dict[str, list[float]]]) -> str:
    lines = [("| method | skilled EER clean | contaminated | FAR / FRR at threshold, clean | "
              "contaminated | slipped forgery accepted | forgery left out |"),
             "|---|---|---|---|---|---|---|"]
    for m, r in res.items():
        mean = {k: 100 * float(np.mean(v)) for k, v in r.items()}
        lines.append(f"| {m} | {mean['eer_clean']:.1f} % | {mean['eer_dirty']:.1f} % | "
                     f"{mean['far_clean']:.1f} % / {mean['frr_clean']:.1f} % | "
                     f"{mean['far_dirty']:.1f} % / {mean['frr_dirty']:.1f} % | "
                     f"{mean['slipped_accepted']:.0f} % | {mean['left_out']:.0f} % |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--users", type=int, default=10,
                    help="evaluate the first n people (each against the other half)")
    ap.add_argument("--methods", default=",".join(METHODS))
    args = ap.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = sorted(set(methods) - set(METHODS))
    if bad or args.users < 1:
        ap.error(f"methods are {', '.join(METHODS)}; --users is at least 1")

    from capture.datasets import load_dataset

    ds = load_dataset(args.data, "svc2004")
    if args.users > len(ds.identities):
        ap.error(f"the data set has {len(ds.identities)} people")
    users = list(ds.identities)[:args.users]
    t0 = time.perf_counter()
    res = evaluate(users, methods, ds)
    print(markdown(res))
    print(f"\n{len(users)} users; total {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
