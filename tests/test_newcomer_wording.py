"""What a newcomer reads when they get something slightly wrong (issue 23): a file where a
folder belongs, a bogus method, the store settings README names, identify's candidates, and
the report's calibration name; each says what is the matter in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from authapp.cli import main
from authapp.settings_schema import SPECS


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_file_given_as_experiment_data_or_store_is_called_a_file(
        fmkit_dir: Path, tmp_path: Path, capsys) -> None:
    file = fmkit_dir / "luduo_luduo_01.txt"
    code, _, err = run(capsys, "experiment", str(file), "--out", str(tmp_path / "o"))
    assert code == 2 and "is a file, not a directory" in err and "not found" not in err
    code, _, err = run(capsys, "users", "--store", str(file))
    assert code == 2 and "is not a directory" in err and "enroll a user first" not in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "users", "--store", str(tmp_path / "nothing"))
    assert code == 2 and "no enrollment store" in err  # a missing store still says so


def test_unknown_method_lists_only_methods(fmkit_dir: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "experiment", str(fmkit_dir), "--methods", "dtw,bogus",
                       "--out", str(tmp_path / "o"))
    assert code == 2 and "unknown method 'bogus'" in err
    known = err.split("known:", 1)[1]
    assert "dtw" in known and "fusion" in known and "calibrated" not in known


@pytest.fixture(scope="module")
def store(fmkit_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("wording") / "store"
    files = [str(fmkit_dir / f"luduo_luduo_{i:02d}.txt") for i in range(1, 6)]
    assert main(["enroll", "luduo", *files, "--store", str(path)]) == 0
    return str(path)


def test_settings_lists_every_store_setting_and_shows_one(store: str, capsys) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "settings", "--store", store)
    listed = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and sorted(listed) == sorted(SPECS)  # security, calibration too
    for key, value in (("security", "normal"), ("calibration", "shipped")):
        code, out, _ = run(capsys, "settings", key, "--store", store)
        assert code == 0 and out.split() == [key, value]
    code, out, _ = run(capsys, "settings", "security", "high", "--store", store)
    assert code == 0 and "security = high" in out
    code, out, _ = run(capsys, "settings", "security", "--store", store)
    assert out.split() == ["security", "high"]
    run(capsys, "settings", "security", "default", "--store", store)


def test_identify_top_lists_the_accepting_candidates(store: str, fmkit_dir: Path,
                                                     capsys) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "identify", str(fmkit_dir / "luduo_luduo_06.txt"), "--top", "3",
                       "--store", store)
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("identified as 'luduo'")
    assert lines[1].startswith("candidates that accept it") and lines[2].strip() == "1. luduo"
    assert "margin" not in "\n".join(lines[1:])  # names only; margins with -v
    code, out, _ = run(capsys, "identify", str(fmkit_dir / "luduo_jisuanji_04.txt"), "--top",
                       "3", "--store", store)
    assert code == 1 and "candidates" not in out  # a rejection names nobody


def test_report_header_and_protocol_name_the_same_calibration(fmkit_dir: Path,
                                                              tmp_path: Path, capsys) -> None:
    """FMKit runs as one fold, so the requested "dev" calibration is the shipped one: the
    report's header and its protocol line both say so."""
    out = tmp_path / "exp"
    code, _, err = run(capsys, "experiment", str(fmkit_dir), "--format", "fmkit", "--methods",
                       "dtw", "--seeds", "1", "--no-progress", "--out", str(out))
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["calibration"]["source"] == "shipped"
    assert "(calibration: shipped)" in results["protocol"]["thresholds"]
    html = (out / "report.html").read_text()
    assert "shipped with the package" in html and "(calibration: dev)" not in html
    # the report names scores as the CLI and the GUI do: margin = score - threshold
    assert "margin: score minus the account&#x27;s threshold" in html or \
        "margin: score minus the account's threshold" in html


@pytest.mark.parametrize("flag, setting", [("--pseudo", "pseudo"), ("--verifier", "verifier")])
def test_a_flag_and_the_setting_get_the_same_answer(store: str, fmkit_dir: Path, tmp_path: Path,
                                                    flag: str, setting: str, capsys) -> None:
    """One validator: `authapp settings NAME VALUE` and the enroll flag agree, for a good
    value (`vae-inpaint` used to be refused by one and accepted by the other) and a bad one."""
    files = [str(fmkit_dir / f"luduo_luduo_{i:02d}.txt") for i in range(1, 6)]
    good = {"pseudo": "vae-inpaint", "verifier": "dtw"}[setting]
    other = str(tmp_path / "other")
    code, _, err = run(capsys, "enroll", "x", *files, flag, "bogus", "--store", other)
    code2, _, err2 = run(capsys, "settings", setting, "bogus", "--store", store)
    assert code == code2 == 2 and err.split("error: ")[1] == err2.split("error: ")[1], (err, err2)
    assert not Path(other).exists() or not any(Path(other).glob("users/*"))
    assert run(capsys, "settings", setting, good, "--store", other)[0] == 0
    from authapp.settings_schema import check

    assert check(setting, good) == good
