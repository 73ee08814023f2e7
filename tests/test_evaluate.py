"""scores.csv is the hand-off: ``authapp evaluate`` re-derives an experiment's results from it."""

from __future__ import annotations

import json

import pytest

from authapp.cli import main
from authapp.harness.scores import ScoreFileError, read_scores


@pytest.fixture(scope="module")
def svc_run(shared_data, tmp_path_factory):
    """A small real run with folds, the dev calibration and skilled forgeries."""
    out = tmp_path_factory.mktemp("svc")
    rc = main(["experiment", str(shared_data / "svc2004_task1"), "--format", "svc2004",
               "--methods", "dtw,subspace", "--seeds", "1", "--jobs", "2", "--no-progress",
               "--out", str(out)])
    assert rc == 0
    return out


@pytest.mark.parametrize("elsewhere", [False, True])
def test_evaluate_reproduces_the_experiment_exactly(svc_run, tmp_path, capsys, elsewhere):
    original = json.loads((svc_run / "results.json").read_text())
    scores = svc_run / "scores.csv"
    if elsewhere:  # only the score file, in a folder of its own
        copy = tmp_path / "scores.csv"
        copy.write_bytes(scores.read_bytes())
        scores = copy
    out = tmp_path / "again"
    capsys.readouterr()
    assert main(["evaluate", str(scores), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    again = json.loads((out / "results.json").read_text())
    assert again == original
    assert "skilled FAR %" in printed and "report:" in printed
    for name in ("roc.png", "det.png", "histograms.png", "report.html"):
        assert (out / name).stat().st_size > 0
    assert (out / "scores.csv").read_bytes() == scores.read_bytes()


def test_score_rows_read_back_bit_for_bit(svc_run):
    result = read_scores(svc_run / "scores.csv")
    assert result.facts.calibrated and result.facts.has_forgeries
    assert sorted(set(result.facts.fold_of.values())) == [0, 1]
    t = result.trials["U1"][0]
    assert t.method == "dtw" and t.types.tolist().count("skilled") == 20
    assert set(t.level_thresholds) == {"low", "normal", "high"}


@pytest.mark.parametrize("text, message", [
    ("identity,attempt_file\n", "no airauth-scores header"),
    ("# {not json\n", "header line is corrupt"),
    ('# {"format": "airauth-scores", "version": 7}\n', "version 7 is not supported"),
    ('# {"format": "airauth-scores", "version": 1}\nidentity\n', "unexpected columns"),
])
def test_bad_score_files_are_clear_errors(tmp_path, capsys, text, message):
    path = tmp_path / "scores.csv"
    path.write_text(text)
    with pytest.raises(ScoreFileError, match=message):
        read_scores(path)
    assert main(["evaluate", str(path)]) == 2
    assert message.split()[0] in capsys.readouterr().err


def test_compare_variants_script_from_the_score_file(svc_run):
    """scripts/compare_variants.py: a variant against itself changes by exactly 0; two
    variants give the pooled-EER difference of results.json; an unknown variant exits 2."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "compare_variants.py"
    scores = svc_run / "scores.csv"

    def run(*args):
        return subprocess.run([sys.executable, str(script), str(scores), *args],
                              capture_output=True, text=True, check=False)

    same = run("dtw", "dtw", "--impostors", "skilled")
    assert same.returncode == 0 and "+0.00 pp, 95 % CI [+0.00, +0.00]" in same.stdout
    res = json.loads((svc_run / "results.json").read_text())
    want = 100 * (res["methods"]["subspace"]["skilled"]["eer"] - res["methods"]["dtw"]["skilled"]["eer"])
    two = run("dtw", "subspace", "--impostors", "skilled")
    assert two.returncode == 0 and f"{want:+.2f} pp" in two.stdout
    bad = run("dtw", "nope")
    assert bad.returncode == 2 and "not a variant" in bad.stderr


def test_cllr_of_the_calibrated_scores_in_results_and_report(svc_run):
    """Cllr / minCllr of each calibrated method, from the scores read back (the calibrated
    log-likelihood ratios), random and skilled separately; also in the report."""
    import numpy as np

    from authapp.harness import metrics

    results = json.loads((svc_run / "results.json").read_text())
    result = read_scores(svc_run / "scores.csv")
    for method in ("dtw", "subspace"):
        for kind in ("random", "skilled"):
            pooled = {k: np.concatenate([t.scores[t.types == k] for ts in result.trials.values()
                                         for t in ts if t.method == method])
                      for k in ("genuine", kind)}
            s = results["methods"][method][kind]
            assert s["cllr"] == pytest.approx(metrics.cllr(pooled["genuine"], pooled[kind]))
            assert s["min_cllr"] == pytest.approx(
                metrics.min_cllr(pooled["genuine"], pooled[kind]))
            assert 0.0 <= s["min_cllr"] <= s["cllr"]
    html = (svc_run / "report.html").read_text()
    assert "Calibration: can the scores be read as likelihood ratios?" in html
    assert "minCllr" in html
