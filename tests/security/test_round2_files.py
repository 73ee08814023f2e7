"""Issue 22 items 5 and 7 (files): a small archive that decompresses to gigabytes is refused
from its directory; CSV and HTML outputs escape control characters; recordings are written
owner-only."""

from __future__ import annotations

import io
import json
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from storekit import fmkit

from capture.formats.native import encode_recording, read_native
from core.errors import RecordingFormatError

FRAMES, WIDTH, CHANNELS = 100_000, 64, 32


def _member(zf: zipfile.ZipFile, name: str, shape: tuple[int, ...]) -> None:
    """A zero-filled float64 .npy member written in chunks (it compresses to almost nothing)."""
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        hdr, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zf.open(name + ".npy", "w", force_zip64=True) as fh:
        fh.write(hdr.getvalue())
        chunk = bytes(4 << 20)
        left = int(np.prod(shape)) * 8
        while left > 0:
            fh.write(chunk[:min(left, len(chunk))])
            left -= len(chunk)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The issue's archive: a valid header, 32 channels of 100,000 x 64, each member within
    the per-member limits, 1.6 GB decompressed."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    header = {"format": "airauth-recording", "version": 1, "frames": FRAMES, "dims": 3,
              "channels": [f"c{i}" for i in range(CHANNELS)], "meta": {}}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        text = json.dumps(header).encode()
        buf = io.BytesIO()
        np.save(buf, np.frombuffer(text, dtype=np.uint8))
        zf.writestr("header.npy", buf.getvalue())
        _member(zf, "t", (FRAMES,))
        _member(zf, "positions", (FRAMES, 3))
        for i in range(CHANNELS):
            _member(zf, f"ch{i}", (FRAMES, WIDTH))
    return path


@pytest.mark.slow
def test_decompression_bomb_is_refused_before_reading(bomb: Path, monkeypatch) -> None:
    assert bomb.stat().st_size < 8 * 2**20
    calls = []
    real = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array",
                        lambda fh, **k: calls.append(fh.name) or real(fh, **k))
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(RecordingFormatError, match="decompress"):
        read_native(bomb)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert calls == ["header.npy"] and elapsed < 1.0 and peak < 20 * 2**20, (calls, elapsed, peak)


@pytest.mark.slow
def test_decompression_bomb_login_is_refused(bomb: Path, tmp_path: Path, capsys) -> None:
    """Through the product path: the loader every command uses refuses it in well under a
    second (the CLI's own start-up, importing the verifiers, is not counted), and the CLI
    says why in one line with exit 2."""
    from authapp.cli import main
    from capture.formats import load_recording

    t0 = time.perf_counter()
    with pytest.raises(RecordingFormatError, match="decompress to 1566 MiB"):
        load_recording(bomb)
    assert time.perf_counter() - t0 < 1.0
    code = main(["info", str(bomb)])
    err = capsys.readouterr().err
    assert code == 2 and "decompress" in err and len(err.strip().splitlines()) == 1, err


def _with_members(path: Path, traj, replace: dict[str, np.ndarray]) -> None:
    """``traj`` as a native recording with some members replaced."""
    src = zipfile.ZipFile(io.BytesIO(encode_recording(traj)))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            name = info.filename[:-4]
            if name in replace:
                buf = io.BytesIO()
                np.save(buf, replace[name])
                zf.writestr(info.filename, buf.getvalue())
            else:
                zf.writestr(info.filename, src.read(info.filename))


def test_wide_channel_and_wrong_row_count_are_refused(tmp_path: Path) -> None:
    t = fmkit("luduo")[0]
    assert next(iter(t.channels)) == "palm"
    wide = tmp_path / "wide.npz"
    _with_members(wide, t, {"ch0": np.zeros((len(t), 64))})
    with pytest.raises(RecordingFormatError, match="unusable shape"):
        read_native(wide)
    rows = tmp_path / "rows.npz"
    _with_members(rows, t, {"ch0": np.zeros((len(t) + 5, 3))})
    with pytest.raises(RecordingFormatError, match="unusable shape"):
        read_native(rows)
    ok = tmp_path / "ok.npz"
    _with_members(ok, t, {})
    assert np.array_equal(read_native(ok).positions, t.positions)


def test_container_refuses_an_archive_that_decompresses_too_far(tmp_path: Path) -> None:
    """Models and cached weights use the same container: bounded from the directory too."""
    from capture.container import pack_npz, unpack_npz

    data = pack_npz({"kind": "x"}, {"w": np.zeros((4096, 64))})
    header, arrays = unpack_npz(data, "model", ValueError)
    assert header == {"kind": "x"} and arrays["w"].shape == (4096, 64)
    with pytest.raises(ValueError, match="decompress to 2 MiB"):
        unpack_npz(data, "model", ValueError, max_bytes=1 << 20)


# -- item 7: outputs and files --------------------------------------------------------------------
ESC = "\x1b[31m"


def test_control_characters_are_escaped_in_scores_csv_and_report_html(
        shared_data: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """The issue: raw ESC from identities and file names reached scores.csv and report.html."""
    from authapp.cli import main
    from capture.formats import load_recording, save_recording
    from models import registry

    monkeypatch.setitem(registry.VERIFIERS, "toy", "test_experiment:ToyVerifier")
    data = tmp_path / "data"
    for u in range(1, 4):
        folder = data / f"person{ESC}{u}"
        folder.mkdir(parents=True)
        for k in range(1, 6):
            t = load_recording(shared_data / "svc2004_task1" / f"U{u}S{k}.TXT")
            save_recording(t.with_meta(user=f"U{ESC}{u}"), folder / f"rec{ESC}{k}.npz")
    out = tmp_path / "out"
    code = main(["experiment", str(data), "--format", "native", "--references", "3",
                 "--seed", "1", "--folds", "1", "--methods", "toy", "--calibration", "none",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    for name in ("scores.csv", "report.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert "\x1b" not in text and "\\x1b" in text, name


def test_record_and_convert_write_owner_only_files(fmkit_dir: Path, tmp_path: Path) -> None:
    from authapp.cli import main

    out = tmp_path / "luduo.npz"
    assert main(["convert", str(fmkit_dir / "luduo_luduo_01.txt"), str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    from capture.formats import save_recording

    again = tmp_path / "again.npz"
    save_recording(read_native(out), again)  # what `authapp record` writes with
    assert again.stat().st_mode & 0o777 == 0o600
