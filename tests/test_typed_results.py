"""The typed results (``authapp.harness.results``) are results.json, key for key.

Two small real runs on FMKit: one calibrated (the product's thresholds, every security level,
template adaptation), one with each verifier's own threshold and pseudo data. results.json
must read back into the records and be written again byte for byte, scores.csv's header must
hold the same run description, and the layout -- which keys, in which order -- is pinned
here, so a reordered or renamed field cannot change the file silently.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from authapp.harness import experiment, metrics
from authapp.harness.figures import Identification, MethodTiming, OperatingPoint
from authapp.harness.operating_point import identification, operating_point
from authapp.harness.report import write_report
from authapp.harness.results import Results
from authapp.harness.scores import HEADER_PREFIX, read_scores

TOP = ["dataset", "data_dir", "format", "references", "seeds", "security", "protocol",
       "pseudo", "method_params", "skipped", "skipped_files", "versions", "operating_point",
       "identification", "methods", "per_user", "per_seed_eer", "pseudo_effect", "identities",
       "reference_files", "timing", "calibration"]
PROTOCOL = ["folds", "folds_chosen", "fold_seed", "fold_of", "scheme", "background_for",
            "split", "references", "adaptation", "thresholds", "eer"]
OPERATING = ["frr", "n_genuine", "errors_genuine", "far_random", "n_random", "errors_random",
             "far_skilled", "n_skilled", "errors_skilled", "frr_same", "n_genuine_same",
             "errors_genuine_same", "frr_later", "n_genuine_later", "errors_genuine_later",
             "accounts", "failure_to_enroll", "refused", "accounts_far_over_5pct",
             "worst_far_random", "worst_far_skilled", "worst_frr"]
LEVEL = ["frr", "far_random", "far_skilled", "frr_same", "frr_later", "accounts_far_over_5pct"]
IDENT = ["never_enrolled_rejected", "never_enrolled_probes", "enrolled_identified_correctly",
         "enrolled_probes", "enrolled_accounts", "protocol"]
SUMMARY = ["eer", "auc", "far", "frr", "frr_at_far_1pct", "frr_at_far_0_1pct",
           "recognition_rate", "n_genuine", "n_impostor", "false_accepts", "false_rejects",
           "cllr", "min_cllr", "eer_ci", "eer_user_mean", "eer_trial_mean"]
TIMING = ["wall_s", "jobs", "cluster", "generator_fit_s", "generate_s", "per_method"]
CALIBRATED = ["requested", "source", "security", "guard_far", "forgery_far", "cohort",
              "shipped_background", "variants"]


def _run(fmkit_dir: Path, out: Path, **options) -> tuple[experiment.ExperimentResult, Path]:
    cfg = experiment.ExperimentConfig(data_dir=fmkit_dir, format="fmkit", references=5,
                                      seeds=(0,), methods=("dtw",), **options)
    result = experiment.run_experiment(cfg, progress=False)
    write_report(result, out)
    return result, out


@pytest.fixture(scope="module")
def calibrated(fmkit_dir, tmp_path_factory):
    return _run(fmkit_dir, tmp_path_factory.mktemp("typed_cal"))


@pytest.fixture(scope="module")
def pseudo(fmkit_dir, tmp_path_factory):
    return _run(fmkit_dir, tmp_path_factory.mktemp("typed_pseudo"), calibration="none",
                pseudo="both", generators=("pseudo",))


@pytest.fixture(params=["calibrated", "pseudo"])
def run(request):
    return request.getfixturevalue(request.param)


def test_results_json_is_the_records_text_and_reads_back_byte_for_byte(run):
    result, out = run
    text = (out / "results.json").read_text(encoding="utf-8")
    assert result.results.to_json() == text
    again = Results.from_json(text)
    assert again.to_json() == text
    assert isinstance(again.scored.operating_point["dtw"], OperatingPoint)
    assert again.scored.methods["dtw"].random.eer == json.loads(text)["methods"]["dtw"][
        "random"]["eer"]


def test_scores_header_holds_the_run_and_evaluate_writes_the_same_file(run):
    _, out = run
    header = json.loads((out / "scores.csv").read_text(encoding="utf-8")
                        .splitlines()[0][len(HEADER_PREFIX):])
    read = read_scores(out / "scores.csv")
    assert read.results.figures is None
    assert json.dumps(read.results.run_part()) == json.dumps(header["run"])
    again = experiment.evaluate_scores(out / "scores.csv")
    assert again.results.to_json() == (out / "results.json").read_text(encoding="utf-8")


def test_layout_of_a_calibrated_adaptive_run(calibrated):
    _, out = calibrated
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(res) == [*TOP, "adaptation"]
    assert list(res["protocol"]) == PROTOCOL
    assert list(res["operating_point"]["dtw"]) == [*OPERATING, "levels"]
    assert {lv: list(p) for lv, p in res["operating_point"]["dtw"]["levels"].items()} == {
        lv: LEVEL for lv in ("low", "normal", "high")}
    assert list(res["identification"]["dtw"]) == [*IDENT, "levels"]
    assert list(res["methods"]["dtw"]) == ["random", "skilled"]
    assert list(res["methods"]["dtw"]["random"]) == SUMMARY
    assert res["methods"]["dtw"]["skilled"] is None  # FMKit has no forgeries
    for user in res["per_user"]["dtw"].values():
        assert list(user) == ["random", "n_random", "n_genuine", "skilled"]
    assert list(res["timing"]) == TIMING
    assert list(res["timing"]["per_method"]["dtw"]) == ["fit_s", "score_s", "cpu_s"]
    assert list(res["calibration"]) == CALIBRATED
    assert list(res["adaptation"]) == ["policy", "variants"]
    assert list(res["adaptation"]["variants"]["dtw"]) == ["without", "with",
                                                          "adapted_per_account"]
    assert list(res["skipped"][0]) == ["identity", "genuine_samples", "reason"]


def test_layout_of_an_uncalibrated_run_with_pseudo_data(pseudo):
    _, out = pseudo
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(res) == TOP  # no adaptation without calibrated models
    assert list(res["operating_point"]["dtw"]) == OPERATING  # no levels
    assert list(res["identification"]["dtw"]) == IDENT
    assert list(res["calibration"]) == ["source", "note"]
    assert list(res["pseudo_effect"]) == ["compared", "interval", "changes"]
    change = res["pseudo_effect"]["changes"]["dtw+pseudo"]
    assert list(change) == ["random", "skilled"] and change["skilled"] is None
    assert list(change["random"]) == ["change", "ci", "level", "resamples", "clusters"]
    assert res["pseudo"] == {"mode": "both", "generators": ["pseudo"]}


def test_records_write_exactly_what_the_computations_return(calibrated):
    """The operating point, identification and summary records serialise to the dicts the
    harness's own functions compute, key order included."""
    result, _ = calibrated
    figures = result.results.scored
    for name in result.variants:
        pairs = [(i, t) for i, ts in result.trials.items() for t in ts if t.method == name]
        written = figures.operating_point[name].as_dict()
        written.pop("levels")
        assert list(written.items()) == list(OperatingPoint.from_dict(
            operating_point(pairs)).as_dict().items())
        assert list(written.items()) == list(operating_point(pairs).items())
        ident = identification(result.trials, name, result.facts.fold_of)
        mine = figures.identification[name]
        assert isinstance(mine, Identification)
        got = mine.as_dict()
        got.pop("levels")
        assert list(got.items()) == list(ident.items())
        gen, imp = result.decisions(name, "genuine"), result.decisions(name, "random")
        summary = dataclasses.asdict(metrics.summarize(gen, imp))  # not through records
        assert list(figures.methods[name].random.as_dict().items())[:len(summary)] == list(
            summary.items())


def test_optional_fields_are_left_out_while_none():
    timing = MethodTiming(fit_s=1.0, score_s=2.0)
    assert timing.as_dict() == {"fit_s": 1.0, "score_s": 2.0}
    assert MethodTiming.from_dict(timing.as_dict()) == timing
    with pytest.raises(AttributeError):
        timing.fit_s = 3.0  # frozen
