"""``authapp info`` and ``authapp convert`` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from authapp.cli import main
from capture.formats import load_recording
from capture.trajectory import Label


def _fields(out: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def test_info_fmkit(fmkit_dir: Path, capsys) -> None:
    path = fmkit_dir / "luduo_luduo_01.txt"
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    f = _fields(out)
    traj = load_recording(path)
    assert f["format"] == "fmkit"
    assert f["user"] == "luduo" and f["content"] == "luduo" and f["label"] == "genuine"
    assert f["device"] == "leap-motion (FMKit)"
    assert f["source"] == str(path)
    assert f["frames"] == str(len(traj))
    assert f["duration"] == f"{traj.duration:.3f} s"
    assert f["sampling rate"] == f"{traj.sampling_rate:.1f} Hz"
    assert f["dims"] == "3"
    assert f["channels"] == "palm 3, confidence 1"
    assert "bounding box (mm)" in out
    lo, hi = traj.bounding_box()
    for i, axis in enumerate("xyz"):
        parts = f[axis].split()
        assert abs(float(parts[0]) - lo[i]) < 0.01 and abs(float(parts[2]) - hi[i]) < 0.01


def test_info_svc_is_2d_in_tablet_units(shared_data: Path, capsys) -> None:
    assert (
        main(["info", str(shared_data / "svc2004_task1" / "U5S30.TXT"), "--format", "svc2004"]) == 0
    )
    out = capsys.readouterr().out
    f = _fields(out)
    assert f["label"] == "skilled_forgery" and f["user"] == "U5" and f["dims"] == "2"
    assert "bounding box (tablet)" in out and "  z:" not in out


@pytest.mark.parametrize("content", [b"", b"hello world\n", b"PK\x03\x04garbage"])
def test_info_bad_file_exits_2_with_one_line(tmp_path: Path, capsys, content: bytes) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_bytes(content)
    assert main(["info", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert err.startswith("authapp info: error:") and "\n" not in err
    assert "Traceback" not in err


def test_info_missing_file_and_wrong_format(tmp_path: Path, fmkit_dir: Path, capsys) -> None:
    assert main(["info", str(tmp_path / "nope.npz")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["info", str(fmkit_dir / "luduo_luduo_01.txt"), "--format", "leapcsv"]) == 2
    assert "not a Leap CSV" in capsys.readouterr().err


def test_convert_round_trip_with_overrides(tmp_path: Path, shared_data: Path, capsys) -> None:
    src = shared_data / "leap_air_signatures" / "u05" / "4.csv"
    out = tmp_path / "u05_4.npz"
    rc = main(
        [
            "convert",
            str(src),
            str(out),
            "--user",
            "alice",
            "--content",
            "sig",
            "--label",
            "impostor",
        ]
    )
    assert rc == 0
    assert "leapcsv -> native" in capsys.readouterr().out
    original, converted = load_recording(src), load_recording(out)
    np.testing.assert_array_equal(original.t, converted.t)
    np.testing.assert_array_equal(original.positions, converted.positions)
    np.testing.assert_array_equal(original.channels["palm"], converted.channels["palm"])
    assert (converted.meta.user, converted.meta.content) == ("alice", "sig")
    assert converted.meta.label is Label.IMPOSTOR
    assert converted.meta.source == str(src)
    assert converted.meta.extra == original.meta.extra
    assert [p.name for p in tmp_path.iterdir()] == ["u05_4.npz"]  # no temp files left

    assert main(["info", str(out)]) == 0
    f = _fields(capsys.readouterr().out)
    assert f["format"] == "native" and f["user"] == "alice" and f["label"] == "impostor"


def test_convert_keeps_meta_without_overrides(tmp_path: Path, shared_data: Path) -> None:
    src = shared_data / "svc2004_task2" / "U9S33.TXT"
    out = tmp_path / "x.npz"
    assert main(["convert", str(src), str(out), "--format", "svc2004"]) == 0
    traj = load_recording(out)
    assert traj.meta == load_recording(src).meta
    assert set(traj.channels) == {"pen_down", "azimuth", "altitude", "pressure"}


def test_convert_refuses_to_overwrite(tmp_path: Path, fmkit_dir: Path, capsys) -> None:
    out = tmp_path / "out.npz"
    out.write_bytes(b"precious")
    src = fmkit_dir / "fmcode_fmcode_01.txt"
    assert main(["convert", str(src), str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"
    assert main(["convert", str(src), str(out), "--force"]) == 0
    assert load_recording(out).meta.extra["layout"] == 93


def test_convert_bad_input_writes_nothing(tmp_path: Path, capsys) -> None:
    src = tmp_path / "U1S1.TXT"
    src.write_text("50\n1 2 3 0\n4 5 6 1\n")  # truncated: announces 50 points
    out = tmp_path / "out.npz"
    assert main(["convert", str(src), str(out)]) == 2
    err = capsys.readouterr().err
    assert "announces 50 points" in err
    assert not out.exists()


def test_convert_into_missing_folder(tmp_path: Path, fmkit_dir: Path, capsys) -> None:
    src = fmkit_dir / "luduo_luduo_03.txt"
    assert main(["convert", str(src), str(tmp_path / "no" / "o.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_convert_rejects_bad_label(tmp_path: Path, fmkit_dir: Path) -> None:
    with pytest.raises(SystemExit):  # argparse usage error
        main(
            [
                "convert",
                str(fmkit_dir / "fmcode_fmcode_01.txt"),
                str(tmp_path / "o.npz"),
                "--label",
                "bogus",
            ]
        )
