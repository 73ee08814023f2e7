"""Datasets: identities, genuine samples and forgeries from each format; skipped files listed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capture.datasets import UnknownIdentityError, load_dataset
from capture.formats import load_recording, save_recording
from capture.trajectory import Label
from core.errors import AirAuthError, RecordingFormatError


@pytest.fixture(scope="module")
def leap_ds(shared_data: Path):
    return load_dataset(shared_data / "leap_air_signatures", "leapcsv")


@pytest.fixture(scope="module")
def svc_ds(shared_data: Path):
    return load_dataset(shared_data / "svc2004_task1", "svc2004")


def test_fmkit_dataset(fmkit_dir: Path) -> None:
    ds = load_dataset(fmkit_dir, "fmkit")
    assert ds.name == "fmkit_leap"
    assert ds.identities == ["fmcode_fmcode", "fmhash_fmhash", "luduo_jisuanji", "luduo_luduo"]
    samples = ds.genuine("luduo_luduo")
    assert [s.meta.extra["sample"] for s in samples] == list(range(1, 11))
    assert all(s.meta.label is Label.GENUINE and s.meta.user == "luduo" for s in samples)
    assert ds.forgeries("luduo_luduo") == []
    assert not ds.has_forgeries
    # files not named <user>_<content>_<nn>.txt are listed, not silently dropped; LICENSE ignored
    skipped = sorted(p.name for p, _ in ds.skipped)
    assert skipped == ["Chinese_client0_word0", "English_client0_word0"]
    assert all("identity unknown" in reason for _, reason in ds.skipped)
    assert len(ds) == 22


def test_leapcsv_dataset(leap_ds) -> None:
    assert len(leap_ds.identities) == 50
    assert leap_ds.identities[:3] == ["u01", "u02", "u04"]
    assert leap_ds.skipped == []
    assert len(leap_ds) == 513
    u16 = leap_ds.genuine("u16")  # 12 recordings: numeric, not lexicographic, order
    assert [s.meta.extra["sample"] for s in u16] == list(range(1, 13))
    assert all(s.meta.user == "u16" for s in u16)
    assert leap_ds.forgeries("u16") == [] and not leap_ds.has_forgeries


def test_svc2004_dataset(svc_ds) -> None:
    assert svc_ds.identities == [f"U{i}" for i in range(1, 21)]
    assert svc_ds.has_forgeries
    for identity in ("U1", "U20"):
        gen, forg = svc_ds.genuine(identity), svc_ds.forgeries(identity)
        assert [s.meta.extra["sample"] for s in gen] == list(range(1, 21))
        assert [s.meta.extra["sample"] for s in forg] == list(range(21, 41))
        assert all(s.meta.label is Label.GENUINE for s in gen)
        assert all(s.meta.label is Label.SKILLED_FORGERY and s.meta.user == identity for s in forg)


def test_auto_format_matches_explicit(shared_data: Path, svc_ds) -> None:
    auto = load_dataset(shared_data / "svc2004_task1")
    assert auto.identities == svc_ds.identities
    a, b = auto.genuine("U7")[3], svc_ds.genuine("U7")[3]
    np.testing.assert_array_equal(a.positions, b.positions)


def test_unknown_identity(svc_ds) -> None:
    with pytest.raises(UnknownIdentityError, match="no identity 'U99'"):
        svc_ds.genuine("U99")
    with pytest.raises(AirAuthError):
        svc_ds.forgeries("nobody")


def test_native_dataset_with_bad_files(tmp_path: Path, shared_data: Path) -> None:
    src = shared_data / "svc2004_task2"
    for name in ("U2S1.TXT", "U2S2.TXT", "U2S10.TXT", "U2S21.TXT"):
        save_recording(load_recording(src / name), tmp_path / f"{name}.npz")
    fm = load_recording(shared_data / "fmkit_leap" / "luduo_luduo_02.txt")
    sub = tmp_path / "more"
    sub.mkdir()
    save_recording(fm, sub / "luduo.npz")
    save_recording(fm.with_meta(label=Label.UNKNOWN), sub / "unlabelled.npz")
    save_recording(fm.with_meta(user=""), sub / "nobody.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "README.md").write_text("notes")

    ds = load_dataset(tmp_path, "native")
    assert ds.identities == ["luduo_luduo", "U2"]  # natural, case-insensitive order
    assert [s.meta.extra["sample"] for s in ds.genuine("U2")] == [1, 2, 10]
    assert [s.meta.extra["sample"] for s in ds.forgeries("U2")] == [21]
    assert ds.has_forgeries
    reasons = {p.name: r for p, r in ds.skipped}
    assert set(reasons) == {"broken.npz", "unlabelled.npz", "nobody.npz"}
    assert "corrupt" in reasons["broken.npz"]
    assert "unknown" in reasons["unlabelled.npz"]
    assert "no user" in reasons["nobody.npz"]


def test_forgeries_without_genuine_are_skipped(tmp_path: Path, shared_data: Path) -> None:
    src = shared_data / "svc2004_task1"
    for name in ("U3S1.TXT", "U4S22.TXT"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    ds = load_dataset(tmp_path, "svc2004")
    assert ds.identities == ["U3"]
    assert [(p.name, r) for p, r in ds.skipped] == [
        ("U4S22.TXT", "forgery of an identity without genuine samples")
    ]


def test_bad_dataset_arguments(tmp_path: Path) -> None:
    with pytest.raises(RecordingFormatError, match="not a folder"):
        load_dataset(tmp_path / "missing", "fmkit")
    with pytest.raises(RecordingFormatError, match="unknown dataset format"):
        load_dataset(tmp_path, "csv")
    empty = load_dataset(tmp_path, None)
    assert empty.identities == [] and len(empty) == 0
