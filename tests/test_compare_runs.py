"""scripts/compare_runs.py: the "same scores" check of issue 25 on two real FMKit runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from scriptkit import load_script

from authapp.cli import main as cli_main

REPO = Path(__file__).resolve().parents[1]
compare_runs = load_script(REPO / "scripts" / "compare_runs.py")
FMKIT = REPO.parent / "shared" / "data" / "fmkit_leap"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    """The same small experiment run twice: identical but for the measured seconds."""
    root = tmp_path_factory.mktemp("runs")
    for name in ("before", "after"):
        rc = cli_main(["experiment", str(FMKIT), "--format", "fmkit", "--methods", "dtw",
                       "--references", "5", "--seeds", "1", "--jobs", "1", "--quiet",
                       "--out", str(root / name / "fmkit")])
        assert rc == 0
    return root / "before", root / "after"


def test_two_runs_of_one_experiment_are_the_same(two_runs, capsys) -> None:
    before, after = two_runs
    head_a = (before / "fmkit" / "scores.csv").read_text().partition("\n")[0]
    head_b = (after / "fmkit" / "scores.csv").read_text().partition("\n")[0]
    assert head_a != head_b  # the seconds differ, so the check has something to leave out
    assert compare_runs.main([str(before), str(after)]) == 0
    out = capsys.readouterr().out
    assert "score rows identical; results.json identical" in out


def test_a_changed_score_or_threshold_is_found(two_runs, tmp_path, capsys) -> None:
    before, after = two_runs
    changed = tmp_path / "fmkit"
    shutil.copytree(after / "fmkit", changed)
    lines = (changed / "scores.csv").read_text().splitlines(keepends=True)
    cells = lines[2].split(",")
    cells[5] = "0.123456"  # the first attempt's score
    lines[2] = ",".join(cells)
    (changed / "scores.csv").write_text("".join(lines))
    results = json.loads((changed / "results.json").read_text())
    results["operating_point"]["dtw"]["threshold"] = 99.0
    (changed / "results.json").write_text(json.dumps(results))
    assert compare_runs.main([str(before / "fmkit"), str(changed)]) == 1
    out = capsys.readouterr().out
    assert "scores.csv rows:" in out and "/operating_point/dtw/threshold" in out
