"""The one-class detectors on a real one-class image benchmark, clean and contaminated
(issues 17 and 26).

scikit-learn's 8x8 handwritten digits (``load_digits``, 1797 images, ships with the package):
each digit in turn is the normal class. A detector trains on that digit's half of a stratified
50/50 split only (``--contamination 0.02``: plus other digits of the training half, 2 % of the
training set, as in Berg et al.'s contamination experiments); the whole test half is scored
(that digit = normal, the other nine = anomalies) and the AUROC is reported per digit and as
the mean over the ten tasks. Each seed is another split and another training seed; the mean's
95 % interval is over seeds (Student t on the per-seed means). Baselines as in the seed survey
on MNIST: a Gaussian KDE (bandwidth by 5-fold cross-validated log-likelihood on the training
images only) and a one-class SVM (RBF, gamma "scale", nu 0.1). Images are read as 8 rows of 8
pixels (channels x length for the 1-D networks), pixels scaled to [0, 1].

Every GAN detector gets the same small training budget here (``configs``: the classes' width
of 32 hidden channels and about 150-200 generator updates; 16 channels left the WGANs at
chance), so that all of them, 10 digits, several seeds and both conditions run in bounded time
on a shared 2-core CPU; AnoGAN searches the latent space of f-AnoGAN's GAN (as f-AnoGAN's
authors compare them), so its fit time is that GAN's. The
issue-17 table at the classes' larger defaults is in ``models/oneclass/README.md``.

    nice .venv/bin/python benchmarks/oneclass_digits.py [--digits 0,1,...] [--seeds 0,1,2]
        [--detectors kde,ocsvm,ganomaly,...] [--contamination 0,0.02] [--quick]
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

KDE_BANDWIDTHS = np.logspace(-1.5, 0.5, 20)
DETECTORS = ("kde", "ocsvm", "ganomaly", "fanogan", "anogan", "egbad", "alad", "ocgan",
             "fencegan", "skip-ganomaly", "autoencoder", "berg")
ROWS = {  # detector -> (row name, score) for every row it produces
    "kde": [("KDE", None)], "ocsvm": [("OC-SVM", None)],
    "ganomaly": [("GANomaly", None)],
    "fanogan": [("f-AnoGAN izi_f", "izi_f"), ("f-AnoGAN latent norm", "latent")],
    "anogan": [("AnoGAN", None)], "egbad": [("EGBAD", None)], "alad": [("ALAD", None)],
    "ocgan": [("OCGAN", None)], "fencegan": [("FenceGAN", None)],
    "skip-ganomaly": [("Skip-GANomaly", None)], "autoencoder": [("autoencoder", None)],
    "berg": [("Berg et al.", "berg"), ("Berg et al. izi_f only", "izi_f")],
}
SURVEY_MNIST = {"OCGAN": 0.981, "AnoGAN": 0.909, "KDE": 0.835, "GANomaly": 0.816,
                "FenceGAN": 0.747, "ALAD": 0.491}
"""Mean AUROC over the ten one-class MNIST tasks in the seed survey's table."""


def load_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): images (n, 8, 8) in [0, 1], stratified halves."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).reshape(-1, 8, 8).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.5, stratify=y,
                                              random_state=seed)
    return x_tr, y_tr, x_te, y_te


def training_set(x_tr: np.ndarray, y_tr: np.ndarray, digit: int, contamination: float,
                 seed: int) -> np.ndarray:
    """The digit's training images plus other digits making up ``contamination`` of the set
    (drawn at random from the training half, seeded)."""
    normal = x_tr[y_tr == digit]
    if contamination <= 0:
        return normal
    k = max(1, round(contamination * len(normal) / (1.0 - contamination)))
    others = np.flatnonzero(y_tr != digit)
    pick = np.random.default_rng([seed, digit]).choice(others, size=k, replace=False)
    return np.concatenate([normal, x_tr[pick]])


def kde_scores(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KernelDensity

    search = GridSearchCV(KernelDensity(), {"bandwidth": KDE_BANDWIDTHS}, cv=5)
    search.fit(train.reshape(len(train), -1))
    return search.best_estimator_.score_samples(test.reshape(len(test), -1))


def ocsvm_scores(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    from sklearn.svm import OneClassSVM

    svm = OneClassSVM(kernel="rbf", gamma="scale", nu=0.1).fit(train.reshape(len(train), -1))
    return svm.score_samples(test.reshape(len(test), -1))


def configs(quick: bool = False) -> dict[str, dict]:
    """Detector parameters: one small budget for all (``quick``: a smoke test). AnoGAN
    searches f-AnoGAN's GAN (``anogan_on``): only its search parameters apply."""
    epochs = {"epochs": 15 if quick else 50}
    wgan = {"critic_steps": 2, "gan_steps": 150 if quick else 200}
    return {"ganomaly": epochs, "egbad": epochs, "alad": epochs,
            "ocgan": {**epochs, "mining_steps": 3}, "fencegan": epochs,
            "skip-ganomaly": epochs, "autoencoder": epochs,
            "fanogan": {**wgan, "encoder_steps": 100 if quick else 200},
            "anogan": {"search_steps": 10 if quick else 50}, "berg": wgan}


def evaluate(digits: Sequence[int], seed: int = 0, quick: bool = False, verbose: bool = True,
             detectors: Sequence[str] = DETECTORS, contamination: float = 0.0
             ) -> dict[str, list[float]]:
    """AUROC per row and digit (lists in ``digits`` order) for one seed; seconds per row in
    ``evaluate.timing`` as {row: [fit, score]} (a row sharing its detector's network with the
    row before it has fit 0; AnoGAN's fit is the time of the f-AnoGAN GAN it searches)."""
    import torch  # noqa: F401  (imported here, so that no detector's fit time includes it)
    from sklearn.metrics import roc_auc_score

    from models.oneclass.anogan import anogan_on
    from models.oneclass.verifiers import _detector_class

    x_tr, y_tr, x_te, y_te = load_split(seed)
    params = configs(quick)
    table: dict[str, list[float]] = {}
    timing: dict[str, list[float]] = {}

    def add(name: str, scores: np.ndarray, normal: np.ndarray, fit_s: float, t0: float) -> None:
        table.setdefault(name, []).append(float(roc_auc_score(normal, scores)))
        t = timing.setdefault(name, [0.0, 0.0])
        t[0] += fit_s
        t[1] += time.perf_counter() - t0

    for d in digits:
        train, normal = training_set(x_tr, y_tr, d, contamination, seed), (y_te == d)
        gan: tuple | None = None  # f-AnoGAN, fit seconds (AnoGAN searches its GAN)
        for kind in detectors:
            t0 = time.perf_counter()
            if kind in ("kde", "ocsvm"):
                scores = (kde_scores if kind == "kde" else ocsvm_scores)(train, x_te)
                add(ROWS[kind][0][0], scores, normal, 0.0, t0)
                continue
            if kind == "anogan":
                if gan is None:
                    gan = (_detector_class("fanogan")(**params["fanogan"], random_state=seed)
                           .fit(train), time.perf_counter() - t0)
                det, fit_s = anogan_on(gan[0], **params["anogan"]), gan[1]
            else:
                det = _detector_class(kind)(**params[kind], random_state=seed).fit(train)
                fit_s = time.perf_counter() - t0
                if kind == "fanogan":
                    gan = (det, fit_s)
            for name, score in ROWS[kind]:
                t0 = time.perf_counter()
                add(name, -det.anomaly(x_te, score), normal, fit_s, t0)
                fit_s = 0.0
        if verbose:
            print(f"seed {seed} contamination {contamination:g} digit {d}: "
                  + ", ".join(f"{k} {v[-1]:.3f}" for k, v in table.items()),
                  file=sys.stderr, flush=True)
    evaluate.timing = timing  # type: ignore[attr-defined]
    return table


def interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean AUROC and its 95 % Student-t interval, clipped to AUROC's range [0, 1] (with 3
    seeds t's factor is 4.3, so an unstable detector's interval can pass 1); nan bounds for
    a single value."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return m, max(m - half, 0.0), min(m + half, 1.0)


def run(digits: Sequence[int], seeds: Sequence[int], detectors: Sequence[str],
        contaminations: Sequence[float], quick: bool = False, verbose: bool = True) -> dict:
    """{"auroc": {contamination: {row: {seed: [per digit]}}}, "timing": {row: [fit, score]
    seconds per task}} over all seeds and conditions."""
    auroc: dict[float, dict[str, dict[int, list[float]]]] = {}
    timing: dict[str, list[float]] = {}
    tasks = 0
    for c in contaminations:
        for s in seeds:
            table = evaluate(digits, s, quick, verbose, detectors, c)
            for row, vals in table.items():
                auroc.setdefault(c, {}).setdefault(row, {})[s] = vals
            for row, (f, sc) in evaluate.timing.items():  # type: ignore[attr-defined]
                t = timing.setdefault(row, [0.0, 0.0])
                t[0] += f
                t[1] += sc
            tasks += len(digits)
    return {"auroc": auroc, "timing": {k: [f / tasks, s / tasks] for k, (f, s) in
                                       timing.items()}}


def markdown(table: dict[str, list[float]], digits: Sequence[int]) -> str:
    """Per-digit table (one seed, or the mean over seeds)."""
    head = "| method | " + " | ".join(str(d) for d in digits) + " | mean |"
    rule = "|" + "---|" * (len(digits) + 2)
    rows = [f"| {k} | " + " | ".join(f"{v:.3f}" for v in vals) + f" | **{np.mean(vals):.3f}** |"
            for k, vals in table.items()]
    return "\n".join([head, rule, *rows])


def summary(result: dict) -> str:
    """Mean AUROC [95 % interval over seeds] per condition, the survey's MNIST figure, and
    the fit / score seconds per one-class task."""
    conds = sorted(result["auroc"], key=float)
    rows = list(next(iter(result["auroc"].values())))
    head = ("| method | " + " | ".join(f"mean AUROC, {c:.0%} contamination [95 % CI]"
                                       for c in conds)
            + " | survey MNIST | fit s / task | score s / task |")
    lines = [head, "|" + "---|" * (len(conds) + 4)]
    for row in rows:
        cells = []
        for c in conds:
            per_seed = [np.mean(v) for v in result["auroc"][c][row].values()]
            m, lo, hi = interval(per_seed)
            cells.append(f"{m:.3f}" if np.isnan(lo) else f"{m:.3f} [{lo:.3f}, {hi:.3f}]")
        survey = SURVEY_MNIST.get(row)
        fit, score = result["timing"].get(row, [0.0, 0.0])
        lines.append(f"| {row} | " + " | ".join(cells)
                     + f" | {'' if survey is None else f'{survey:.3f}'} | {fit:.2f} | {score:.2f} |")
    return "\n".join(lines)


def merge(results: Sequence[dict]) -> dict:
    """One result from several runs (other seeds or conditions; ``--save`` / ``--merge``):
    AUROCs pooled, timings averaged over the runs' tasks."""
    auroc: dict[float, dict[str, dict[int, list[float]]]] = {}
    timing: dict[str, list[float]] = {}
    tasks = 0
    for res in results:
        n = sum(len(v) for per_row in res["auroc"].values()
                for v in next(iter(per_row.values())).values())
        for c, per_row in res["auroc"].items():
            for row, per_seed in per_row.items():
                auroc.setdefault(float(c), {}).setdefault(row, {}).update(
                    {int(s): v for s, v in per_seed.items()})
        for row, (f, sc) in res["timing"].items():
            t = timing.setdefault(row, [0.0, 0.0])
            t[0] += f * n
            t[1] += sc * n
        tasks += n
    return {"auroc": auroc, "timing": {k: [f / tasks, s / tasks] for k, (f, s) in
                                       timing.items()}}


def report(result: dict, digits: Sequence[int]) -> str:
    out = []
    for c in sorted(result["auroc"], key=float):
        per_row = result["auroc"][c]
        seeds = sorted(next(iter(per_row.values())))
        mean_table = {row: list(np.mean(list(per_seed.values()), axis=0))
                      for row, per_seed in per_row.items()}
        out += [f"\nper digit, {c:.0%} contamination, mean over seeds {seeds}:\n",
                markdown(mean_table, digits)]
    return "\n".join([*out, "", summary(result)])


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated split / training seeds")
    ap.add_argument("--detectors", default=",".join(DETECTORS),
                    help=f"comma-separated, of: {', '.join(DETECTORS)}")
    ap.add_argument("--contamination", default="0,0.02",
                    help="comma-separated fractions of other digits in the training data")
    ap.add_argument("--quick", action="store_true", help="tiny training (a smoke test)")
    ap.add_argument("--save", metavar="JSON", help="also write the raw result to this file")
    ap.add_argument("--merge", metavar="JSON,...",
                    help="run nothing: print the tables of earlier --save files together")
    args = ap.parse_args(argv)
    if args.merge:
        import json

        merged = merge([json.loads(Path(f).read_text()) for f in args.merge.split(",")])
        first = next(iter(next(iter(merged["auroc"].values())).values()))
        print(report(merged, [int(d) for d in args.digits.split(",")][:len(
            next(iter(first.values())))]))
        return 0
    digits = [int(d) for d in args.digits.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    dets = [d.strip() for d in args.detectors.split(",") if d.strip()]
    bad = sorted(set(dets) - set(DETECTORS))
    if bad:
        ap.error(f"unknown detector {bad[0]!r}; known: {', '.join(DETECTORS)}")
    conts = [float(c) for c in args.contamination.split(",")]
    if any(not 0 <= c < 0.5 for c in conts):
        ap.error("--contamination values must be in [0, 0.5)")
    t0 = time.perf_counter()
    result = run(digits, seeds, dets, conts, args.quick)
    if args.save:
        import json

        Path(args.save).write_text(json.dumps(result))
    print(report(result, digits))
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
