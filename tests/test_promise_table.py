"""scripts/promise_table.py on a hand-made score table: counts, ratios, bounds, pooling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scriptkit import load_script

from authapp.harness.evaluation import ExperimentResult, ScoreFacts
from authapp.harness.runner import Trial
from authapp.harness.scores import write_scores

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "promise_table.py"
promise_table = load_script(SCRIPT)

LEVELS = {"low": 0.0, "normal": 1.0, "high": 2.0}


def account(ident: str, genuine: list[float], random: list[float], skilled: list[float],
            seed: int = 0, guard: float = 0.0) -> Trial:
    """An account whose level thresholds are LEVELS (``guard`` raises all of them)."""
    types = np.array(["genuine"] * len(genuine) + ["random"] * len(random)
                     + ["skilled"] * len(skilled))
    scores = np.array(genuine + random + skilled, dtype=float)
    thr = {lv: v + guard for lv, v in LEVELS.items()}
    n = types.size
    return Trial("fusion", seed, [f"{ident}/{k}" for k in range(n)], [ident] * n, types, scores,
                 thr["normal"], scores - thr["normal"], 0.0, 0.0, 0.0, [], fold=0,
                 level_thresholds=thr, calibration_thresholds=dict(LEVELS), security="normal")


def table() -> dict[str, list[Trial]]:
    # 1,000 random attempts: scores 0.5 (x 20, accepted at low only), 1.5 (x 3, accepted at
    # low and normal), -5 (the rest); 40 forgeries: 0.5 (x 4), 1.5 (x 2); one account's
    # guard raises its thresholds by 1 (its 1.5 stranger is then rejected at normal)
    a = account("a", [3.0] * 10, [0.5] * 10 + [1.5] * 2 + [-5.0] * 488, [0.5] * 2 + [1.5] * 18)
    b = account("b", [3.0] * 10, [0.5] * 10 + [1.5] + [-5.0] * 489, [0.5] * 2 + [1.5] * 2
                + [-5.0] * 16, guard=1.0)
    return {"a": [a], "b": [b]}


def test_rows_count_what_each_level_accepts() -> None:
    rows = {(r.level, r.impostors): r for r in promise_table.rows_for("hand", table())}
    low, normal, high = rows["low", "random"], rows["normal", "random"], rows["high", "random"]
    # b's guard: its 0.5 strangers are rejected at low (threshold 1) but its 1.5 one passes
    assert (low.errors, low.attempts) == (10 + 2 + 1, 1000)
    assert low.delivered == pytest.approx(0.013) and low.ratio == pytest.approx(1.3)
    assert low.kept
    assert (normal.errors, normal.attempts) == (2, 1000)
    assert normal.ratio == pytest.approx(2.0) and normal.kept  # exactly 2x: kept
    assert (high.errors, high.attempts) == (0, 1000)
    assert high.ratio == 0.0 and high.upper == pytest.approx(3 / 1000)  # the rule of three
    skilled = rows["normal", "skilled"]
    assert (skilled.errors, skilled.attempts) == (18, 40)
    assert skilled.promised == 0.05 and not skilled.kept


def test_upper_bound_is_rule_of_three_at_zero_and_clopper_pearson_otherwise() -> None:
    from scipy.stats import beta

    assert promise_table.upper_bound(0, 300) == pytest.approx(0.01)
    assert promise_table.upper_bound(2, 1000) == pytest.approx(beta.ppf(0.95, 3, 998))
    assert promise_table.upper_bound(2, 1000) > 2 / 1000
    assert promise_table.upper_bound(5, 5) == 1.0


def test_pooled_rows_sum_counts_over_data_sets() -> None:
    rows = promise_table.rows_for("x", table()) + promise_table.rows_for("y", table())
    pooled = {(r.level, r.impostors): r for r in promise_table.pooled(rows)}
    assert pooled["normal", "random"].errors == 4 and pooled["normal", "random"].attempts == 2000
    assert pooled["normal", "random"].data == "all"


def test_script_reads_score_files_and_prints_the_verdict(tmp_path: Path, capsys) -> None:
    trials = table()
    facts = ScoreFacts(["fusion"], {"a": 0, "b": 0}, True, True)
    path = tmp_path / "hand" / "scores.csv"
    path.parent.mkdir()
    write_scores(ExperimentResult(None, trials, ["fusion"], facts), path)
    assert promise_table.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "| hand | normal | random | 0.1 % | 0.2 % (2 / 1,000) | 2.00 |" in out
    assert "| hand | high | random | 0.01 % | 0 % (0 / 1,000) | 0.00 | 0.3 % (30.00x) |" in out
    assert "within 2x of the promise at every level: yes" in out
    # a level that lets in more than twice its promise is named
    trials["a"][0].scores[10:30] = 1.5  # a now lets 20 strangers past its normal threshold
    write_scores(ExperimentResult(None, trials, ["fusion"], facts), path)
    promise_table.main([str(path)])
    assert "NO (hand low: 2.10x, hand normal: 20.00x)" in capsys.readouterr().out
