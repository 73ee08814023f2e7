"""The impersonation-test harness end to end on real recordings, and its protocol rules."""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from authapp.cli import main
from authapp.commands.experiment import parse_params, parse_seeds
from authapp.harness import experiment
from capture.trajectory import Trajectory
from core.errors import AirAuthError
from models import registry
from models.base import Verifier

FMKIT_IDENTITIES = ("luduo_jisuanji", "luduo_luduo")
SUMMARY_KEYS = {"eer", "auc", "far", "frr", "n_genuine", "n_impostor"}


def available() -> list[str]:
    return list(experiment.DEFAULT_METHODS)


def run_cli(capsys, *args: Any) -> tuple[int, str, str]:
    rc = main(["experiment", *map(str, args), "--no-progress"])
    out, err = capsys.readouterr()
    return rc, out, err


def read_scores(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        assert fh.readline().startswith("# {"), "scores.csv starts with its header line"
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def fmkit_run(fmkit_dir, tmp_path_factory):
    """One run with every verifier that exists, --jobs 1, K = 5, seeds 0..2."""
    out = tmp_path_factory.mktemp("fmkit_jobs1")
    rc = main(["experiment", str(fmkit_dir), "--format", "fmkit", "--references", "5",
               "--methods", ",".join(available()), "--jobs", "1", "--out", str(out),
               "--no-progress"])
    assert rc == 0
    return out


def test_fmkit_results_json_shape(fmkit_run):
    res = json.loads((fmkit_run / "results.json").read_text())
    assert res["dataset"] == "fmkit_leap"
    assert res["references"] == 5
    assert res["seeds"] == [0, 1, 2]
    assert list(res["methods"]) == available()
    for name, by_kind in res["methods"].items():
        assert set(by_kind) == {"random", "skilled"}
        assert by_kind["skilled"] is None  # FMKit has no forgeries
        s = by_kind["random"]
        assert SUMMARY_KEYS <= set(s)
        for key in ("eer", "auc", "far", "frr", "frr_at_far_1pct", "recognition_rate"):
            assert 0.0 <= s[key] <= 1.0, (name, key)
        assert s["n_genuine"] == 2 * 3 * 5  # 2 identities x 3 seeds x (10 - 5) attempts
        # too few identities to split (one fold, no background): each identity faces the
        # other one's 10 recordings and the two single ones, in each of the 3 seeds
        assert s["n_impostor"] == 2 * 3 * (10 + 1 + 1)
    assert res["identities"] == list(FMKIT_IDENTITIES)
    assert {s["identity"] for s in res["skipped"]} == {"fmcode_fmcode", "fmhash_fmhash"}
    assert res["protocol"]["folds"] == 1 and res["protocol"]["folds_chosen"] == "auto"
    assert set(res["protocol"]["fold_of"]) == set(res["identities"]) | {"fmcode_fmcode",
                                                                       "fmhash_fmhash"}
    assert res["timing"]["wall_s"] > 0


def test_fmkit_fusion_separates_both_identities(fmkit_run):
    """The issue's check: the fusion's EER is 0 for the two FMKit identities, pooled and per
    user; the other methods (being tuned) only have to be far better than chance."""
    res = json.loads((fmkit_run / "results.json").read_text())
    assert "fusion" in res["methods"], "the fusion verifier is not installed"
    assert res["methods"]["fusion"]["random"]["eer"] == 0.0
    assert res["methods"]["fusion"]["random"]["auc"] == 1.0
    for ident in FMKIT_IDENTITIES:
        assert res["per_user"]["fusion"][ident]["random"] == 0.0, ident
    for name, by_kind in res["methods"].items():
        assert by_kind["random"]["eer"] <= 0.1, name
        assert by_kind["random"]["auc"] >= 0.9, name


def test_fmkit_outputs_written(fmkit_run):
    for name in ("results.json", "scores.csv", "roc.png", "det.png", "histograms.png",
                 "report.html"):
        assert (fmkit_run / name).stat().st_size > 0, name
    rows = read_scores(fmkit_run / "scores.csv")
    assert list(rows[0])[:7] == ["identity", "attempt_file", "type", "method", "seed", "score",
                                 "accepted"]
    res = json.loads((fmkit_run / "results.json").read_text())
    for name, by_kind in res["methods"].items():
        mine = [r for r in rows if r["method"] == name]
        s = by_kind["random"]
        assert sum(r["type"] == "genuine" for r in mine) == s["n_genuine"]
        assert sum(r["type"] == "random" for r in mine) == s["n_impostor"]
        accepted_imp = sum(r["accepted"] == "1" for r in mine if r["type"] == "random")
        assert accepted_imp == s["false_accepts"]
    # the references of every identity and seed are never among its genuine attempts
    for ident, by_seed in res["reference_files"].items():
        for seed, refs in by_seed.items():
            tests = {r["attempt_file"] for r in rows if r["identity"] == ident
                     and r["seed"] == seed and r["type"] == "genuine"}
            assert len(refs) == 5 and len(tests) == 5 and not tests & set(refs)


def test_jobs_do_not_change_results(fmkit_run, fmkit_dir, tmp_path, capsys):
    rc, out, _ = run_cli(capsys, fmkit_dir, "--format", "fmkit", "--references", 5,
                         "--methods", ",".join(available()), "--jobs", 2, "--out", tmp_path)
    assert rc == 0 and "wall time" in out
    one = json.loads((fmkit_run / "results.json").read_text())
    two = json.loads((tmp_path / "results.json").read_text())
    for key in ("methods", "per_user", "per_seed_eer", "protocol", "reference_files"):
        assert one[key] == two[key], key
    assert read_scores(fmkit_run / "scores.csv") == read_scores(tmp_path / "scores.csv")


# -- protocol rules, checked with a tiny verifier defined here (never in product code) ---------
class ToyVerifier(Verifier):
    """Score = -|log duration - mean log duration of the references|; records its fits."""

    name = "toy"
    uses_background = True
    fits: ClassVar[list[tuple[set[str], set[str]]]] = []

    def __init__(self, tolerance: float = 0.3) -> None:
        self.tolerance = tolerance

    def _fit(self, genuine: list[Trajectory], impostors: list[Trajectory]) -> None:
        ToyVerifier.fits.append(({t.meta.user for t in genuine},
                                 {t.meta.user for t in impostors}))
        self.center_ = float(np.mean([np.log(t.duration) for t in genuine]))
        self.threshold_ = -self.tolerance

    def _score(self, trajectories: list[Trajectory]) -> np.ndarray:
        return -np.abs(np.log([t.duration for t in trajectories]) - self.center_)

    def get_state(self):
        return {"center": self.center_}, {}

    @classmethod
    def from_state(cls, params, arrays):
        v = cls()
        v.center_, v.threshold_ = params["center"], -v.tolerance
        return v


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(registry.VERIFIERS, "toy", f"{__name__}:ToyVerifier")
    ToyVerifier.fits = []
    return ToyVerifier


def test_protocol_folds_forgeries_and_background(toy, shared_data):
    data = shared_data / "svc2004_task1"
    cfg = experiment.ExperimentConfig(data_dir=data, format="svc2004", references=5,
                                      seeds=(4,), methods=("toy",), jobs=1,
                                      calibration="none")
    result = experiment.run_experiment(cfg, progress=False)
    res = result.results
    fold_of = res.protocol.fold_of
    assert len(fold_of) == 20 and sorted(set(fold_of.values())) == [0, 1]
    assert sorted(np.bincount(list(fold_of.values()))) == [10, 10]  # enrolling ids spread
    s = res.scored.methods["toy"]
    assert s.skilled.n_impostor == 20 * 20 and s.skilled.n_genuine == 20 * 15
    assert s.random.n_impostor == 20 * 9 * 20  # 9 fold-mates x 20 genuine samples
    # background (negatives in fit) comes only from the other fold; random impostors only
    # from the user's own fold: nobody is both for the same user
    assert len(toy.fits) == 20
    for genuine_users, negative_users in toy.fits:
        (user,) = genuine_users
        assert negative_users and all(fold_of[n] != fold_of[user] for n in negative_users)
    for ident, trials in result.trials.items():
        for t in trials:
            rnd = {a for a, k in zip(t.attempt_identities, t.types) if k == "random"}
            assert ident not in rnd and all(fold_of[a] == fold_of[ident] for a in rnd)


def test_calibration_is_learned_on_the_other_fold_only(toy, shared_data):
    """The default (the product's calibrated thresholds): each fold's calibration comes from
    the other fold's accounts, the cohort from the other fold's first K samples, and the
    members never see other people as training data."""
    cfg = experiment.ExperimentConfig(data_dir=shared_data / "svc2004_task1", format="svc2004",
                                      references=5, seeds=(0,), methods=("toy",),
                                      adaptation=False)
    result = experiment.run_experiment(cfg, progress=False)
    res = result.results
    used = res.calibration.variants["toy"]
    assert res.calibration.source == "dev" and set(used) == {0, 1}
    for fold, cal in used.items():
        assert cal["provenance"]["folds"] == [1 - fold]
        assert cal["provenance"]["accounts"] == 10  # the other fold's 10 identities x 1 seed
        assert cal["members"] == ["toy"] and cal["cohort"] is True
    assert all(not negatives for _, negatives in toy.fits)  # members fit on the user alone
    for trials in result.trials.values():
        (t,) = trials
        assert t.cohort_raw.shape == (10 * 5, 1) and t.cohort_people == 10
        assert t.threshold >= t.level_thresholds["normal"] - 1e-12
        np.testing.assert_allclose(t.decisions, t.scores - t.threshold)
    op = res.scored.operating_point["toy"]
    assert op.accounts == 20 and op.failure_to_enroll == 0.0
    assert res.description.security == "normal"


def test_svc2004_split_enrolls_from_the_first_session_and_tests_the_second(toy, shared_data):
    cfg = experiment.ExperimentConfig(data_dir=shared_data / "svc2004_task1", format="svc2004",
                                      references=5, seeds=(0, 1), methods=("toy",),
                                      split="svc2004", calibration="none")
    result = experiment.run_experiment(cfg, progress=False)
    res = result.results
    s = res.scored.methods["toy"]
    assert s.skilled.n_genuine == 20 * 2 * 10  # S11-S20 of each user, per trial
    assert s.random.n_impostor == 20 * 2 * experiment.SVC2004_RANDOM_FORGERIES
    assert res.protocol.split == "svc2004" and "S11-S20" in res.protocol.references
    fold_of = res.protocol.fold_of
    for ident, trials in result.trials.items():
        for t in trials:
            refs = [int(f.rsplit("S", 1)[1].split(".")[0]) for f in t.reference_files]
            assert len(refs) == 5 and all(1 <= n <= 10 for n in refs)
            gen = [f for f, k in zip(t.attempt_files, t.types) if k == "genuine"]
            assert sorted(int(f.rsplit("S", 1)[1].split(".")[0]) for f in gen) == list(
                range(11, 21))
            rnd = [a for a, k in zip(t.attempt_identities, t.types) if k == "random"]
            assert ident not in rnd and all(fold_of[a] == fold_of[ident] for a in rnd)
        # the random forgeries are drawn anew for every trial
        picks = [tuple(f for f, k in zip(t.attempt_files, t.types) if k == "random")
                 for t in trials]
        assert picks[0] != picks[1]
    # the trial average is the mean of each (user, seed) trial's own EER
    from authapp.harness import metrics
    trial_eers = [metrics.eer(t.decisions[t.types == "genuine"], t.decisions[t.types == kind])
                  for ts in result.trials.values() for t in ts for kind in ["skilled"]]
    assert s.skilled.eer_trial_mean == pytest.approx(np.mean(trial_eers))
    # the pooled EER comes with its interval over resamples of the 20 users
    for kind in ("random", "skilled"):
        lo, hi = s.of(kind).eer_ci
        assert lo <= s.of(kind).eer <= hi
    assert s.skilled.eer_ci == tuple(metrics.bootstrap_eer_interval(
        [(np.concatenate([t.decisions[t.types == "genuine"] for t in result.trials[u]]),
          np.concatenate([t.decisions[t.types == "skilled"] for t in result.trials[u]]))
         for u in sorted(result.trials)], n_boot=experiment.BOOTSTRAP_RESAMPLES, seed=0))


def test_svc2004_split_needs_twice_k_genuine_samples(toy, fmkit_dir):
    cfg = experiment.ExperimentConfig(data_dir=fmkit_dir, format="fmkit", references=6,
                                      seeds=(0,), methods=("toy",), split="svc2004")
    with pytest.raises(experiment.ExperimentError, match="first half"):
        experiment.run_experiment(cfg, progress=False)
    with pytest.raises(experiment.ExperimentError, match="--split"):
        experiment.run_experiment(replace(cfg, split="bogus"), progress=False)


def test_single_fold_means_no_background(toy, shared_data):
    cfg = experiment.ExperimentConfig(data_dir=shared_data / "svc2004_task1", format="svc2004",
                                      references=5, seeds=(0,), methods=("toy",), folds=1,
                                      calibration="none")
    res = experiment.run_experiment(cfg, progress=False).results
    assert res.scored.methods["toy"].random.n_impostor == 20 * 19 * 20
    assert all(not negatives for _, negatives in toy.fits)


def test_toy_run_is_seeded(toy, shared_data):
    def run(seeds):
        cfg = experiment.ExperimentConfig(data_dir=shared_data / "svc2004_task1",
                                          format="svc2004", references=5, seeds=seeds,
                                          methods=("toy",), calibration="none")
        return experiment.run_experiment(cfg, progress=False).results

    a, b, c = run((1, 2)), run((1, 2)), run((3, 4))
    assert a.scored.reference_files == b.scored.reference_files
    assert a.scored.methods == b.scored.methods
    assert a.scored.reference_files != c.scored.reference_files


def test_assign_folds_is_deterministic_and_disjoint():
    ids = [f"u{k}" for k in range(11)]
    f1 = experiment.assign_folds(ids, ids[:7], 2, seed=3)
    assert f1 == experiment.assign_folds(ids, ids[:7], 2, seed=3)
    assert set(f1) == set(ids)
    counts = np.bincount([f1[i] for i in ids[:7]])
    assert sorted(counts) == [3, 4]
    assert set(experiment.assign_folds(ids, ids, 1, seed=0).values()) == {0}
    # a data set is split only when each fold keeps enough enrolling identities
    assert [experiment.auto_folds(n) for n in (1, 2, 5, 6, 50)] == [1, 1, 1, 2, 2]


def test_identity_seed_stable():
    assert experiment.identity_seed(0, "U1", "x") == experiment.identity_seed(0, "U1", "x")
    assert experiment.identity_seed(0, "U1") != experiment.identity_seed(1, "U1")
    assert experiment.identity_seed(0, "U1") != experiment.identity_seed(0, "U2")


# -- command-line errors ------------------------------------------------------------------------
def test_bad_data_dir(capsys, tmp_path):
    rc, _, err = run_cli(capsys, tmp_path / "missing", "--out", tmp_path / "o")
    assert rc == 2 and "data directory not found" in err and "Traceback" not in err


def test_unknown_method(capsys, fmkit_dir, tmp_path):
    rc, _, err = run_cli(capsys, fmkit_dir, "--format", "fmkit", "--methods", "nope",
                         "--out", tmp_path)
    assert rc == 2 and "unknown method 'nope'" in err and "calibrated" not in err


def test_bad_format(capsys, fmkit_dir, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["experiment", str(fmkit_dir), "--format", "csv", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "invalid choice: 'csv'" in capsys.readouterr().err


def test_too_few_samples_for_k(capsys, fmkit_dir, tmp_path):
    rc, _, err = run_cli(capsys, fmkit_dir, "--format", "fmkit", "--references", 10,
                         "--methods", available()[0], "--out", tmp_path)
    assert rc == 2 and "11 genuine samples" in err


def test_an_unknown_generator_fails_clearly(capsys, fmkit_dir, tmp_path):
    rc, _, err = run_cli(capsys, fmkit_dir, "--format", "fmkit", "--pseudo", "on",
                         "--generators", "bogus", "--methods", available()[0],
                         "--out", tmp_path)
    assert rc == 2 and "bogus" in err


def test_option_parsing():
    assert parse_seeds("3", 5) == (5, 6, 7)
    assert parse_seeds("0,4,9", 5) == (0, 4, 9)
    for bad in ("0", "a", "1,1"):
        with pytest.raises(AirAuthError):
            parse_seeds(bad, 0)
    assert parse_params(["dtw.window=0.2", "dtw.name=abc"], ("dtw",)) == {
        "dtw": {"window": 0.2, "name": "abc"}}
    with pytest.raises(AirAuthError, match="not in --methods"):
        parse_params(["svm.C=1"], ("dtw",))


class ToyPseudo:
    """Stands in for a models.pseudo generator: records what it learns from and sees."""

    fitted: ClassVar[list[set[str]]] = []
    seen: ClassVar[list[list[str]]] = []

    def __init__(self, pretrain_seed=0):
        self.pretrain_seed = pretrain_seed

    def fit(self, background):
        ToyPseudo.fitted.append({t.meta.user for t in background})
        return self

    def with_random_state(self, random_state):
        return self

    def generate(self, references):
        from types import SimpleNamespace

        ToyPseudo.seen.append([t.meta.source for t in references])
        slow = [Trajectory(t.t * 1.05, t.positions, meta=t.meta) for t in references]
        fast = [Trajectory(t.t * 0.4, t.positions, meta=t.meta) for t in references]
        return SimpleNamespace(genuine=slow, impostors=fast)


def test_pseudo_both_uses_only_references(toy, shared_data, monkeypatch, tmp_path):
    from types import ModuleType

    from authapp.harness import report

    fake = ModuleType("models.pseudo")
    fake.make_generator = lambda name, **params: ToyPseudo(**params)
    monkeypatch.setitem(sys.modules, "models.pseudo", fake)
    ToyPseudo.fitted, ToyPseudo.seen = [], []
    data = shared_data / "svc2004_task1"
    cfg = experiment.ExperimentConfig(data_dir=data, format="svc2004", references=5,
                                      seeds=(0,), methods=("toy",), pseudo="both",
                                      generators=("pseudo", "vae"), calibration="none")
    result = experiment.run_experiment(cfg, progress=False)
    res = result.results
    assert list(res.scored.methods) == ["toy", "toy+pseudo", "toy+vae"]
    assert res.description.pseudo.as_dict() == {"mode": "both", "generators": ["pseudo", "vae"]}
    # the report compares each method with and without each generator's pseudo data
    header, rows = report.pseudo_rows(res)
    assert header[2:] == ["EER % without", "EER % +pseudo", "change +pseudo (pp)",
                          "95 % CI +pseudo (pp)", "EER % +vae", "change +vae (pp)",
                          "95 % CI +vae (pp)"]
    assert [r[:2] for r in rows] == [["toy", "random"], ["toy", "skilled"]]
    off, on = res.scored.methods["toy"].skilled.eer, res.scored.methods["toy+vae"].skilled.eer
    assert rows[1][6] == f"{100 * on:.2f}" and rows[1][7] == f"{100 * (on - off):+.2f}"
    # each change comes with a paired bootstrap interval over the 20 identities
    effect = res.scored.pseudo_effect.changes["toy+vae"].skilled
    assert effect.change == pytest.approx(on - off)
    assert effect.clusters == 20 and effect.resamples == 1000
    lo, hi = effect.ci
    assert lo <= hi
    assert rows[1][8] == f"[{100 * lo:+.2f}, {100 * hi:+.2f}]"
    assert set(res.scored.pseudo_effect.changes) == {"toy+pseudo", "toy+vae"}
    page = report.render_html(res, {})
    assert "With and without pseudo data" in page and "change +vae (pp)" in page
    assert "fitted once per fold" in page  # what the generators learned from is stated
    fold_of = res.protocol.fold_of
    # fitted once per fold and generator, on the other fold's identities only
    assert len(ToyPseudo.fitted) == 2 * 2
    assert {frozenset({fold_of[u] for u in users}) for users in ToyPseudo.fitted} == {
        frozenset({0}), frozenset({1})}
    # generation saw exactly the references of each identity, never a test sample
    refs = {tuple(sorted(str(data / f) for f in by_seed["0"]))
            for by_seed in res.scored.reference_files.values()}
    assert {tuple(sorted(s)) for s in ToyPseudo.seen} == refs
    assert len(ToyPseudo.seen) == 2 * 20  # each generator once per identity and seed
    # one fit per variant and identity: the pseudo variants on references + pseudo-genuine
    assert len(toy.fits) == 3 * 20


# -- native-format directories and the --seed / --seeds options --------------------------------
@pytest.fixture(scope="module")
def native_dir(shared_data, tmp_path_factory):
    """Real SVC2004 recordings of 4 users converted to the native format: user, content and
    label travel inside each file (here 8 genuine + 3 skilled forgeries per user, in
    per-user subfolders with neutral names, so nothing can come from the file name)."""
    from capture.formats import load_recording, save_recording

    root = tmp_path_factory.mktemp("native")
    for u in range(1, 5):
        (root / f"person{u}").mkdir()
        for k, n in enumerate([*range(1, 9), 21, 22, 23]):
            traj = load_recording(shared_data / "svc2004_task1" / f"U{u}S{n}.TXT")
            save_recording(traj, root / f"person{u}" / f"rec{k:02d}.npz")
    return root


@pytest.mark.parametrize("fmt", ["native", None])
def test_native_directory(toy, native_dir, tmp_path, capsys, fmt):
    fmt_args = ["--format", fmt] if fmt else []
    rc, out, err = run_cli(capsys, native_dir, *fmt_args, "--references", 3, "--seed", 7,
                           "--folds", 1, "--methods", "toy", "--calibration", "none",
                           "--out", tmp_path)
    assert rc == 0, err
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["identities"] == ["U1", "U2", "U3", "U4"]
    assert res["seeds"] == [7, 8, 9]  # --seed S alone: the default 3 seeds from S
    s = res["methods"]["toy"]
    assert s["skilled"] is not None  # forgeries recognised from the files' labels
    assert s["skilled"]["n_impostor"] == 4 * 3 * 3
    assert s["random"]["n_genuine"] == 4 * 3 * (8 - 3)
    assert s["random"]["n_impostor"] == 4 * 3 * 3 * 8  # 3 other users x 8 genuine, 3 seeds
    rows = read_scores(tmp_path / "scores.csv")
    # every genuine attempt of a seed is a distinct recording, never one of its references
    for ident, by_seed in res["reference_files"].items():
        for seed, refs in by_seed.items():
            tests = [r["attempt_file"] for r in rows if r["identity"] == ident
                     and r["seed"] == seed and r["type"] == "genuine"]
            assert len(set(tests)) == 5 and not set(tests) & set(refs)
    assert "toy" in out and "wall time" in out


def test_seed_and_seeds_options(toy, native_dir, tmp_path, capsys):
    rc, _, err = run_cli(capsys, native_dir, "--format", "native", "--references", 3,
                         "--seed", 4, "--seeds", 1, "--folds", 1, "--methods", "toy",
                         "--calibration", "none",
                         "--out", tmp_path / "one")
    assert rc == 0, err
    one = json.loads((tmp_path / "one" / "results.json").read_text())
    assert one["seeds"] == [4] and list(one["reference_files"]["U1"]) == ["4"]
    rc, _, err = run_cli(capsys, native_dir, "--format", "native", "--references", 3,
                         "--seeds", "4,11", "--folds", 1, "--methods", "toy",
                         "--calibration", "none",
                         "--out", tmp_path / "list")
    assert rc == 0, err
    lst = json.loads((tmp_path / "list" / "results.json").read_text())
    assert lst["seeds"] == [4, 11]
    # the same seed draws the same references whatever else runs beside it
    assert lst["reference_files"]["U2"]["4"] == one["reference_files"]["U2"]["4"]


def test_help_documents_seed_options(capsys):
    with pytest.raises(SystemExit):
        main(["experiment", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--seed S", "--seeds N|LIST", "--references K", "--pseudo",
                   "--jobs N", "--out OUT_DIR", "native,fmkit,leapcsv,svc2004"):
        assert option in text, option


def test_pseudo_on_with_the_real_generator(fmkit_dir, tmp_path, capsys):
    """The harness drives models.pseudo's own "pseudo" generator (candidates + embedding +
    SH-SVM) end to end on real FMKit data; only the variant with pseudo data is reported."""
    rc, out, err = run_cli(capsys, fmkit_dir, "--format", "fmkit", "--references", 5,
                           "--seeds", 1, "--methods", "dtw", "--pseudo", "on",
                           "--generators", "pseudo", "--out", tmp_path)
    assert rc == 0, err
    res = json.loads((tmp_path / "results.json").read_text())
    assert list(res["methods"]) == ["dtw+pseudo"]
    assert res["pseudo"] == {"mode": "on", "generators": ["pseudo"]}
    s = res["methods"]["dtw+pseudo"]["random"]
    assert s["n_genuine"] == 2 * 5 and s["n_impostor"] == 2 * 12
    assert 0.0 <= s["eer"] <= 0.2 and s["auc"] >= 0.8
    assert res["timing"]["generate_s"]["pseudo"] > 0
    assert "dtw+pseudo" in out and "EER with and without pseudo data" in out


def test_adaptive_replay_decides_in_order_as_the_product(toy, shared_data):
    """Calibrated runs replay genuine attempts in order through the product's adaptation;
    without any adaptation the replay decides exactly as the calibration pass does."""
    cfg = experiment.ExperimentConfig(data_dir=shared_data / "svc2004_task1", format="svc2004",
                                      references=5, seeds=(0,), methods=("toy",),
                                      adapt_margin=0.0, max_adapted=4)
    result = experiment.run_experiment(cfg, progress=False)
    ad = result.results.adaptation
    assert ad.policy == {"enabled": True, "margin": 0.0, "max_adapted": 4, "anchor": True}
    assert set(ad.variants["toy"].as_dict()) == {"without", "with", "adapted_per_account"}
    counts = [t.adapted for ts in result.trials.values() for t in ts]
    assert all(0 <= c <= 4 for c in counts) and any(counts)
    for ts in result.trials.values():
        (t,) = ts
        imp = t.types != "genuine"  # impostors meet the final adapted model
        np.testing.assert_allclose(t.decisions[imp], t.scores[imp] - t.threshold)
    static = experiment.run_experiment(replace(cfg, adaptation=False), progress=False)
    assert static.results.adaptation is None and "adaptation" not in static.results.as_dict()
    assert ad.variants["toy"].without.frr == static.results.scored.operating_point["toy"].frr
    never = experiment.run_experiment(replace(cfg, adapt_margin=50.0), progress=False)
    assert not any(t.adapted for ts in never.trials.values() for t in ts)
    for ident, ts in never.trials.items():
        np.testing.assert_allclose(ts[0].decisions, static.trials[ident][0].decisions,
                                   rtol=0, atol=1e-9)
