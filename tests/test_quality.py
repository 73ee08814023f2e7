"""models.quality.check_enrollment on real FMKit recordings: consistent sets pass, an
inconsistent sample is rejected with a reason a user can act on."""

from __future__ import annotations

import numpy as np
import pytest
from storekit import fmkit

from capture.formats import load_recording
from capture.trajectory import Trajectory
from models.quality import QualityConfig, check_enrollment


@pytest.mark.parametrize("content,sl", [("luduo", slice(0, 5)), ("luduo", slice(5, 10)),
                                        ("jisuanji", slice(0, 5)), ("jisuanji", slice(4, 7))])
def test_consistent_real_sets_pass(content: str, sl: slice) -> None:
    report = check_enrollment(fmkit(content)[sl])
    assert report.ok, report.messages()
    assert report.rejected == []
    for s in report.samples:
        assert 1.0 < s.duration_s < 8.0 and 20.0 < s.size_mm < 200.0
        assert s.shape_ratio is not None and s.shape_ratio < 2.0


def test_a_different_word_is_rejected_by_shape() -> None:
    lu, ji = fmkit("luduo"), fmkit("jisuanji")
    report = check_enrollment([lu[0], lu[1], ji[0], lu[2], lu[3]])
    assert report.rejected == [2]
    msg = report.samples[2].reasons[0]
    assert msg.startswith("sample 3's shape differs from the others (DTW distance")
    assert "did you write something else?" in msg


def test_a_much_slower_sample_is_rejected_with_numbers() -> None:
    lu = list(fmkit("luduo")[:5])
    lu[3] = Trajectory(lu[3].t * 2.4, lu[3].positions)
    report = check_enrollment(lu)
    assert report.rejected == [3]
    reason = report.samples[3].reasons[0]
    assert reason.startswith("sample 4 is much slower than the others (")
    slow, median = report.samples[3].duration_s, np.median([s.duration_s for s in report.samples])
    assert f"{slow:.1f} s vs median {median:.1f} s" in reason


def test_a_much_smaller_sample_is_rejected() -> None:
    lu = list(fmkit("luduo")[:4])
    lu[1] = Trajectory(lu[1].t, lu[1].positions * 0.35)
    report = check_enrollment(lu)
    assert report.rejected == [1]
    assert report.samples[1].reasons[0].startswith("sample 2 is much smaller than the others")


def test_mild_differences_are_notes_not_rejections() -> None:
    lu = list(fmkit("luduo")[:5])
    lu[0] = Trajectory(lu[0].t * 1.7, lu[0].positions)
    report = check_enrollment(lu)
    assert report.ok
    assert any("somewhat slower" in n for n in report.samples[0].notes)
    assert "somewhat slower" in " ".join(report.messages())


def test_too_short_too_few_and_mixed_dims(shared_data) -> None:
    lu = fmkit("luduo")
    report = check_enrollment(list(lu[:1]))
    assert not report.ok and report.problems == (
        "too few samples: 1 given, at least 2 needed",)
    report = check_enrollment(list(lu[:2]), QualityConfig(min_samples=3))
    assert not report.ok and report.problems == (
        "too few samples: 2 given, at least 3 needed",)
    short = lu[3].slice(100, 120)
    report = check_enrollment([lu[0], lu[1], lu[2], short])
    assert report.rejected == [3] and "sample 4 is too short" in report.samples[3].reasons[0]
    pen = load_recording(shared_data / "svc2004_task1" / "U1S1.TXT")
    report = check_enrollment([lu[0], pen, lu[1], lu[2]])
    assert report.rejected == [1] and "2-D while the others are 3-D" in \
        report.samples[1].reasons[0]
    assert check_enrollment(list(lu[:2])).ok  # two are enough (with pseudo data, say)


def test_a_sample_far_deeper_than_the_others_is_rejected(shared_data) -> None:
    """u26's third Leap signature spans 2.7x the others' depth (a hand entering the view),
    which loosened the account; its overall size (1.5x) hid it."""
    from capture.datasets import load_dataset

    leap = load_dataset(shared_data / "leap_air_signatures", "leapcsv")
    report = check_enrollment(leap.genuine("u26")[:5])
    assert report.rejected == [2]
    assert "spans 2.7x the others' extent along z (depth)" in report.samples[2].reasons[0]
    assert len(report.samples[2].extent_mm) == 3


def test_report_is_json_able() -> None:
    import json

    d = check_enrollment(fmkit("luduo")[:3]).to_dict()
    assert json.loads(json.dumps(d))["ok"] is True and len(d["samples"]) == 3
