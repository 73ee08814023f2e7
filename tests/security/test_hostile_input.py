"""Issue 14 items 5 and 6 (and issue 15's silently accepted bad input): oversized and crafted
files are refused early, with one line and exit 2; an unexpected failure exits 3 with its
traceback in a log file, never 0 or 1."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from storekit import STORE_KIND, fmkit

from authapp import cli
from authapp.cli import main
from authapp.services import AuthService, Settings
from authapp.storage import keyed
from authapp.store import EnrollmentStore
from capture.formats import load_recording
from capture.formats.native import encode_recording, read_native
from core.errors import RecordingFormatError


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err


@pytest.fixture()
def store_dir(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    with EnrollmentStore(root) as store:
        AuthService(store, Settings(verifier=STORE_KIND)).enroll("luduo", fmkit("luduo")[:4])
    return root


# -- item 5: size is checked before parsing ------------------------------------------------------
def test_a_huge_csv_is_refused_from_its_size(tmp_path: Path, capsys) -> None:
    big = tmp_path / "big.csv"
    header = b"frame_id,index_x_coor,index_y_coor,index_z_coor,palm_x_coor,palm_y_coor,palm_z_coor\n"
    with open(big, "wb") as fh:
        fh.write(header)
        fh.truncate(324 * 2**20)  # 324 MB (sparse), as in the issue
    tracemalloc.start()
    t0 = time.perf_counter()
    code, _, err = _run(capsys, "info", str(big))
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    _one_line_error(code, err, "324 MiB", "larger than any recording")
    assert elapsed < 2.0 and peak < 20 * 2**20, (elapsed, peak)


def test_too_many_rows_are_refused_while_streaming(tmp_path: Path, shared_data: Path) -> None:
    rows = (shared_data / "svc2004_task1" / "U1S1.TXT").read_text().splitlines()[1:]
    long = tmp_path / "U1S1.TXT"
    n = 150_000
    long.write_text(f"{n}\n" + "\n".join((rows * (n // len(rows) + 1))[:n]) + "\n")
    assert long.stat().st_size < 8 * 2**20  # small file, too many rows
    tracemalloc.start()
    with pytest.raises(RecordingFormatError, match="more than 100000"):
        load_recording(long)
    assert tracemalloc.get_traced_memory()[1] < 40 * 2**20
    tracemalloc.stop()


def _npz_with(path: Path, traj, extra: dict[str, tuple[int, ...]] | None = None,
              members: int = 0) -> None:
    """A valid native recording plus unused members: big ones written in chunks (zeros
    compress to almost nothing) and/or many tiny ones."""
    path.write_bytes(encode_recording(traj))
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, shape in (extra or {}).items():
            hdr = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                hdr, {"descr": "<f8", "fortran_order": False, "shape": shape})
            with zf.open(name + ".npy", "w", force_zip64=True) as fh:
                fh.write(hdr.getvalue())
                chunk = bytes(2**20)
                for _ in range(int(np.prod(shape)) * 8 // len(chunk)):
                    fh.write(chunk)
        for i in range(members):
            zf.writestr(f"x{i}.npy", b"")


def test_unused_big_member_is_never_read(tmp_path: Path) -> None:
    t = fmkit("luduo")[0]
    p = tmp_path / "big_member.npz"
    _npz_with(p, t, {"unused": (2**25,)})  # a 256 MiB member the format does not define
    assert p.stat().st_size < 2 * 2**20
    tracemalloc.start()
    back = read_native(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.array_equal(back.positions, t.positions) and peak < 20 * 2**20, peak


def test_a_defined_member_that_is_too_big_is_refused_from_its_header(tmp_path: Path) -> None:
    t = fmkit("luduo")[0]
    p = tmp_path / "big_t.npz"
    p.write_bytes(encode_recording(t))
    raw = io.BytesIO(p.read_bytes())
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "t.npy":
                dst.writestr(info, src.read(info))
        hdr = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            hdr, {"descr": "<f8", "fortran_order": False, "shape": (2**27,)})
        with dst.open("t.npy", "w", force_zip64=True) as fh:
            fh.write(hdr.getvalue())
            for _ in range(2**27 * 8 // 2**20):
                fh.write(bytes(2**20))
    p.write_bytes(out.getvalue())
    t0 = time.perf_counter()
    with pytest.raises(RecordingFormatError, match="too large"):
        read_native(p)
    assert time.perf_counter() - t0 < 1.0


def test_many_members_are_refused_before_the_directory_is_parsed(tmp_path: Path) -> None:
    p = tmp_path / "many.npz"
    _npz_with(p, fmkit("luduo")[0], members=5000)
    t0 = time.perf_counter()
    with pytest.raises(RecordingFormatError, match="too many members"):
        read_native(p)
    assert time.perf_counter() - t0 < 0.5


# -- item 6: crafted files --------------------------------------------------------------------
def _native_with_header(path: Path, header_bytes: bytes, **arrays: np.ndarray) -> Path:
    buf = io.BytesIO()
    np.savez(buf, header=np.frombuffer(header_bytes, np.uint8), **arrays)
    path.write_bytes(buf.getvalue())
    return path


def test_crafted_recordings_are_one_line_errors(tmp_path: Path, capsys,
                                                shared_data: Path) -> None:
    t = np.arange(20.0) * 0.01
    pos = np.cumsum(np.ones((20, 3)), axis=0)
    ok_header = {"format": "airauth-recording", "version": 1, "channels": [], "meta": {}}
    svc_text = (shared_data / "svc2004_task1" / "U1S1.TXT").read_text().splitlines()
    cases = {
        "nested header": _native_with_header(
            tmp_path / "nested.npz", b"[" * 100_000 + b"]" * 100_000, t=t, positions=pos),
        "complex positions": _native_with_header(
            tmp_path / "complex.npz", json.dumps(ok_header).encode(), t=t,
            positions=pos.astype(np.complex128) + 1j),
        "5000-digit point count": tmp_path / "U1S1.TXT",
        "5000-digit value": tmp_path / "U1S2.TXT",
    }
    cases["5000-digit point count"].write_text("9" * 5000 + "\n" + "\n".join(svc_text[1:]))
    bad_row = svc_text[2].split()
    bad_row[0] = "9" * 5000
    cases["5000-digit value"].write_text("\n".join(svc_text[:2] + [" ".join(bad_row)]
                                                   + svc_text[3:]))
    for what, path in cases.items():
        code, _, err = _run(capsys, "info", str(path))
        _one_line_error(code, err)
        assert str(path.name) in err, what


def test_nan_gaps_are_bridged_only_when_short_and_said_so(tmp_path: Path, shared_data: Path,
                                                          capsys) -> None:
    """Issue 15: a Leap CSV with 496 of 548 rows NaN was accepted with 52 frames."""
    src = shared_data / "leap_air_signatures" / "u01" / "1.csv"
    lines = src.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    cols = header.split(",")
    x = cols.index("index_x_coor")

    def with_nan(keep: set[int], name: str) -> Path:
        out = []
        for i, row in enumerate(rows):
            f = row.split(",")
            if i not in keep:
                f[x] = "nan"
            out.append(",".join(f))
        p = tmp_path / name
        p.write_text("\n".join([header, *out]) + "\n")
        return p

    n = len(rows)
    mostly_lost = with_nan(set(range(n // 2 - 26, n // 2 + 26)), "mostly.csv")
    code, _, err = _run(capsys, "info", str(mostly_lost))
    _one_line_error(code, err, f"tracking was lost in {n - 52} of {n} frames")
    long_gap = with_nan(set(range(n)) - set(range(100, 140)), "gap.csv")
    code, _, err = _run(capsys, "info", str(long_gap))
    _one_line_error(code, err, "lost for 40 frames", "frames 101-140")
    short = with_nan(set(range(n)) - set(range(100, 105)) - set(range(200, 203)), "short.csv")
    code, out, _ = _run(capsys, "info", str(short))
    assert code == 0 and "gaps:          2 short tracking gap(s), 8 frame(s), interpolated" in out
    assert len(load_recording(short)) == n - 8


def test_crafted_store_contents_are_one_line_errors(store_dir: Path, capsys,
                                                    fmkit_dir: Path) -> None:
    login = ["login", "luduo", str(fmkit_dir / "luduo_luduo_07.txt"), "--store", str(store_dir)]
    # a fingerprint blob of odd size (written behind AirAuth's back, even with a valid key)
    with EnrollmentStore(store_dir) as store, store.db.write() as c:
        row = c.execute("SELECT id, user_key, source, ref, created, rows, cols, version "
                        "FROM fingerprints LIMIT 1").fetchone()
        blob = b"\x00" * 13
        mac = keyed.fp_mac(store.db.key, row["user_key"], row["source"], row["ref"],
                           row["created"], row["rows"], row["cols"], row["version"], blob)
        c.execute("UPDATE fingerprints SET data = ?, description = NULL, mac = ? WHERE id = ?",
                  (blob, mac, row["id"]))
    code, _, err = _run(capsys, *login)
    _one_line_error(code, err, "damaged")
    # verifier_params={"bogus": 1}: refused on write, and on read when written directly
    code, _, err = _run(capsys, "settings", "verifier_params", '{"bogus": 1}',
                        "--store", str(store_dir))
    _one_line_error(code, err, "verifier_params")
    with EnrollmentStore(store_dir) as store, store.db.write() as c:
        v = '{"bogus": 1}'
        c.execute("INSERT INTO settings (key, value, mac) VALUES ('verifier_params', ?, ?)",
                  (v, keyed.setting_mac(store.db.key, "verifier_params", v)))
    code, _, err = _run(capsys, "enroll", "new", *[str(fmkit_dir / f"luduo_jisuanji_0{i}.txt")
                                                   for i in range(1, 5)],
                        "--store", str(store_dir))
    _one_line_error(code, err, "verifier_params")
    # a dropped table
    conn = sqlite3.connect(store_dir / "store.sqlite3")
    conn.execute("DELETE FROM settings")
    conn.execute("DROP TABLE attempts")
    conn.commit()
    conn.close()
    code, _, err = _run(capsys, "users", "--store", str(store_dir))
    _one_line_error(code, err, "attempts")


def test_read_only_database_and_failing_clean_up(store_dir: Path, capsys, fmkit_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """(Tests run as root, which ignores file modes: the read-only database is opened
    read-only, and the clean-up's permission error is injected.)"""
    import sqlite3 as sq

    real_connect = sq.connect

    def read_only(db, *a, **k):
        return real_connect(f"file:{db}?mode=ro", *a, uri=True, **k)

    monkeypatch.setattr("authapp.storage.database.sqlite3.connect", read_only)
    code, _, err = _run(capsys, "login", "luduo", str(fmkit_dir / "luduo_luduo_07.txt"),
                        "--store", str(store_dir))
    _one_line_error(code, err, "store database")
    monkeypatch.setattr("authapp.storage.database.sqlite3.connect", real_connect)
    (store_dir / "tmp" / "junk").write_text("x")

    def no_permission(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", no_permission)
    code, out, err = _run(capsys, "users", "--store", str(store_dir))
    assert code == 0 and "luduo" in out, err


def test_an_internal_error_exits_3_with_its_traceback_in_the_log(
        tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, fmkit_dir: Path) -> None:
    log = tmp_path / "authapp.log"
    monkeypatch.setenv(cli.LOG_ENV, str(log))

    def boom(*_a, **_k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("authapp.commands.info.describe", boom)
    code, out, err = _run(capsys, "info", str(fmkit_dir / "luduo_luduo_01.txt"))
    assert code == 3 and out == "" and len(err.strip().splitlines()) == 1
    assert "internal error (ZeroDivisionError: a bug)" in err and str(log) in err
    assert "Traceback" in log.read_text() and "boom" in log.read_text()
    assert os.stat(log).st_mode & 0o777 == 0o600
    code, _, err = _run(capsys, "-v", "info", str(fmkit_dir / "luduo_luduo_01.txt"))
    assert code == 3 and "Traceback" in err and "ZeroDivisionError" in err
