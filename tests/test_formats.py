"""Recording I/O: native round trips and damage, the three importers, every shared file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from capture.formats import (
    FORMATS,
    RecordingWriteError,
    detect_format,
    load_recording,
    save_recording,
)
from capture.formats import native as native_mod
from capture.formats.fmkit import read_fmkit, unwrap_counter
from capture.formats.leapcsv import NOMINAL_ROW_PERIOD, read_leapcsv
from capture.formats.svc2004 import read_svc2004
from capture.trajectory import Label, Trajectory, TrajectoryMeta
from core.errors import AirAuthError, RecordingFormatError

RNG = np.random.default_rng(7)


# --------------------------------------------------------------------------- helpers
def make_traj(n: int = 40, dims: int = 3, channels: bool = True) -> Trajectory:
    t = np.cumsum(RNG.uniform(0.005, 0.012, n))
    pos = np.cumsum(RNG.normal(size=(n, dims)), axis=0) * 3.0
    ch = {}
    if channels:
        ch = {"palm": pos[:, :dims] + 40.0, "confidence": RNG.uniform(0, 1, n)}
    meta = TrajectoryMeta(
        user="alice",
        content="alice",
        label=Label.SKILLED_FORGERY,
        device="test-device",
        source="/somewhere/a.txt",
        extra={"sample": 3, "note": "x", "nested": {"k": [1, 2]}},
    )
    return Trajectory(t=t, positions=pos, channels=ch, meta=meta)


def assert_same(a: Trajectory, b: Trajectory) -> None:
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert list(a.channels) == list(b.channels)
    for k in a.channels:
        np.testing.assert_array_equal(a.channels[k], b.channels[k])
    assert a.meta == b.meta


def fmkit_row(ts: int, tip, palm, conf: float = 0.9, valid: int = 1, ncols: int = 133) -> str:
    vals = [0.0] * (ncols - 1)
    vals[0:3] = tip
    vals[6:9] = palm
    vals[-2] = conf
    vals[-1] = valid
    # FMKit style: tabs and spaces around values
    return f"{ts},\t" + ",\t".join(f"{v: 9.4f}" for v in vals[:-1]) + f",\t{int(vals[-1])}"


def write_fmkit(path: Path, ts, valid=None, ncols: int = 133, trailing: str = "\n") -> Path:
    n = len(ts)
    valid = [1] * n if valid is None else valid
    lines = [
        fmkit_row(int(ts[i]), (i, 2.0 * i, -i), (10.0 + i, 20.0, 30.0), 0.5, valid[i], ncols)
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + trailing)
    return path


LEAP_HEADER = (
    "frame_id,index_x_coor,index_y_coor,index_z_coor,palm_x_coor,palm_y_coor,palm_z_coor,"
    "index_x_velocity,index_y_velocity,index_z_velocity,palm_velocity_x,palm_velocity_y,"
    "palm_velocity_z,confidence,hand_grab_angle,hand_grab_strength,armPosition_x,armPosition_y,"
    "armPosition_z,tip_rotation_x,tip_rotation_y,tip_rotation_z,tip_rotation_w,target"
)


def leap_rows(n: int, dt: np.ndarray | float = 0.008375, fid_steps=None):
    """Synthetic Leap CSV rows whose velocities are displacement / true elapsed time."""
    dts = np.full(n - 1, dt) if np.isscalar(dt) else np.asarray(dt)
    t = np.concatenate([[0.0], np.cumsum(dts)])
    pos = np.c_[100 * np.sin(3 * t), 200 + 50 * np.cos(2 * t), -80 + 30 * t]
    vel = np.zeros_like(pos)
    vel[1:] = np.diff(pos, axis=0) / dts[:, None]
    vel[0] = vel[1]
    steps = np.where(np.arange(n - 1) % 5 == 0, 1, 2) if fid_steps is None else fid_steps
    fid = 1000 + np.concatenate([[0], np.cumsum(steps)])
    rows = []
    for i in range(n):
        vals = [fid[i], *pos[i], *(pos[i] + 40), *vel[i], np.nan, np.nan, np.nan, 0.7]
        vals += [2.5, 0.3, -70.0, 200.0, 240.0, -0.1, 0.3, 0.0, 0.9, 1]
        rows.append(",".join(repr(float(v)) if i2 else str(int(v)) for i2, v in enumerate(vals)))
    return t, rows


def write_leap(path: Path, rows, header: str = LEAP_HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def write_svc(path: Path, n: int = 30, task: int = 1, count: int | None = None, times=None):
    times = np.arange(n) * 10 + 5000 if times is None else times
    lines = [str(n if count is None else count)]
    for i in range(n):
        button = [0, 1, 1, 3, 0][i % 5]
        row = [1000 + 7 * i, 2000 + 3 * i, int(times[i]), button]
        if task == 2:
            row += [1500 + i, 700, 400 + i]
        lines.append(" ".join(map(str, row)))
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- native
@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("channels", [True, False])
def test_native_round_trip(tmp_path: Path, dims: int, channels: bool) -> None:
    traj = make_traj(dims=dims, channels=channels)
    path = tmp_path / "rec.npz"
    save_recording(traj, path)
    assert detect_format(path) == "native"
    back = load_recording(path)
    assert_same(traj, back)
    assert back.meta.label is Label.SKILLED_FORGERY
    assert back.meta.extra["nested"] == {"k": [1, 2]}


def test_native_header_is_self_describing(tmp_path: Path) -> None:
    path = tmp_path / "rec.npz"
    save_recording(make_traj(), path)
    with np.load(path, allow_pickle=False) as npz:
        header = json.loads(npz["header"].tobytes().decode())
        assert {"t", "positions", "ch0", "ch1"} <= set(npz.files)
    assert header["format"] == "airauth-recording"
    assert header["version"] == 1
    assert header["channels"] == ["palm", "confidence"]
    assert header["meta"]["user"] == "alice"


def test_native_keeps_channel_order_and_odd_names(tmp_path: Path) -> None:
    base = make_traj(channels=False)
    n = len(base)
    traj = Trajectory(
        base.t, base.positions, {"z/odd name": np.ones(n), "a": np.zeros((n, 2))}, base.meta
    )
    save_recording(traj, tmp_path / "r.npz")
    assert_same(traj, load_recording(tmp_path / "r.npz"))


def test_native_numpy_scalars_in_extra_are_stored(tmp_path: Path) -> None:
    traj = make_traj().with_meta(extra={"n": np.int64(4), "f": np.float32(0.5)})
    save_recording(traj, tmp_path / "r.npz")
    assert load_recording(tmp_path / "r.npz").meta.extra == {"n": 4, "f": 0.5}


def test_native_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "rec.npz"
    first = make_traj()
    save_recording(first, path)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(native_mod.os, "replace", broken_replace)
    with pytest.raises(RecordingWriteError, match="No space left"):
        save_recording(make_traj(n=60), path)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.npz"]
    assert_same(first, load_recording(path))  # the old recording is intact


def test_native_unserialisable_meta_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "rec.npz"
    traj = make_traj().with_meta(extra={"obj": object()})
    with pytest.raises(AirAuthError, match="metadata"):
        save_recording(traj, path)
    assert list(tmp_path.iterdir()) == []


def test_native_save_into_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(RecordingWriteError, match="does not exist"):
        save_recording(make_traj(), tmp_path / "nope" / "rec.npz")


def test_native_saved_file_is_private(tmp_path: Path) -> None:
    """Recordings are biometric data: written 0600 whatever the umask (issue 22)."""
    path = tmp_path / "rec.npz"
    save_recording(make_traj(), path)
    assert path.stat().st_mode & 0o777 == 0o600


def test_native_truncated_at_any_length_is_a_clear_error(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    save_recording(make_traj(), good)
    data = good.read_bytes()
    cuts = sorted(
        {
            1,
            4,
            10,
            30,
            100,
            len(data) // 4,
            len(data) // 2,
            len(data) - 100,
            len(data) - 22,
            len(data) - 1,
        }
    )
    for cut in cuts:
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(RecordingFormatError):
            load_recording(bad)


def test_native_corrupt_bytes_are_detected_or_harmless(tmp_path: Path) -> None:
    """Flipping any byte either fails with RecordingFormatError or changes nothing that matters
    (zip timestamps and the like): never another exception, never silently different data."""
    traj = make_traj()
    good = tmp_path / "good.npz"
    save_recording(traj, good)
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"
    detected = 0
    for pos in range(4, len(data), max(1, len(data) // 150)):
        corrupt = bytearray(data)
        corrupt[pos] ^= 0xFF
        bad.write_bytes(bytes(corrupt))
        try:
            back = load_recording(bad, format="native")
        except RecordingFormatError:
            detected += 1
            continue
        assert_same(traj, back)
    assert detected > 100


def _write_npz(path: Path, header: dict | None, **arrays) -> Path:
    payload = dict(arrays)
    if header is not None:
        payload["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **payload)
    path.write_bytes(buf.getvalue())
    return path


def _valid_header(**changes) -> dict:
    h = {
        "format": "airauth-recording",
        "version": 1,
        "frames": 10,
        "dims": 3,
        "channels": [],
        "meta": TrajectoryMeta().to_dict(),
    }
    h.update(changes)
    return h


def test_native_wrong_version(tmp_path: Path) -> None:
    p = _write_npz(
        tmp_path / "v2.npz",
        _valid_header(version=2),
        t=np.arange(10.0),
        positions=np.zeros((10, 3)),
    )
    with pytest.raises(RecordingFormatError, match="version 2 is not supported"):
        load_recording(p)


def test_native_not_a_recording_npz(tmp_path: Path) -> None:
    p = _write_npz(tmp_path / "other.npz", None, a=np.arange(3), b=np.ones(2))
    with pytest.raises(RecordingFormatError, match="not an AirAuth recording"):
        load_recording(p)
    p2 = _write_npz(
        tmp_path / "model.npz",
        _valid_header(format="airauth-verifier"),
        t=np.arange(10.0),
        positions=np.zeros((10, 3)),
    )
    with pytest.raises(RecordingFormatError, match="not an AirAuth recording"):
        load_recording(p2)


def test_native_nan_inside(tmp_path: Path) -> None:
    pos = np.zeros((10, 3))
    pos[4, 1] = np.nan
    p = _write_npz(tmp_path / "nan.npz", _valid_header(), t=np.arange(10.0), positions=pos)
    with pytest.raises(RecordingFormatError, match="NaN"):
        load_recording(p)


def test_native_inconsistent_contents(tmp_path: Path) -> None:
    p = _write_npz(
        tmp_path / "a.npz",
        _valid_header(channels=["palm"]),
        t=np.arange(10.0),
        positions=np.zeros((10, 3)),
    )
    with pytest.raises(RecordingFormatError, match="missing arrays"):
        load_recording(p)
    p = _write_npz(
        tmp_path / "b.npz", _valid_header(frames=11), t=np.arange(10.0), positions=np.zeros((10, 3))
    )
    with pytest.raises(RecordingFormatError, match="11 frames|unusable shape"):
        load_recording(p)
    p = _write_npz(
        tmp_path / "c.npz", _valid_header(), t=np.arange(10.0), positions=np.zeros((9, 3))
    )
    with pytest.raises(RecordingFormatError, match="lengths must match|unusable shape"):
        load_recording(p)
    p = _write_npz(
        tmp_path / "d.npz",
        _valid_header(meta={"label": "bogus"}),
        t=np.arange(10.0),
        positions=np.zeros((10, 3)),
    )
    with pytest.raises(RecordingFormatError, match="label"):
        load_recording(p)
    p = tmp_path / "e.npz"
    p.write_bytes(b"")
    with pytest.raises(RecordingFormatError):
        load_recording(p, format="native")


def test_native_refuses_pickled_objects(tmp_path: Path) -> None:
    buf = io.BytesIO()
    np.savez(
        buf,
        header=np.frombuffer(json.dumps(_valid_header()).encode(), dtype=np.uint8),
        t=np.array([object()] * 10),
        positions=np.zeros((10, 3)),
    )
    p = tmp_path / "pickle.npz"
    p.write_bytes(buf.getvalue())
    with pytest.raises(RecordingFormatError):
        load_recording(p)


def test_not_recordings(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\nworld\n")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)))
    for p, pattern in [
        (text, "unrecognised"),
        (empty, "empty"),
        (binary, "binary"),
        (tmp_path / "missing.npz", "no such file"),
        (tmp_path, "not a file"),
    ]:
        with pytest.raises(RecordingFormatError, match=pattern):
            load_recording(p)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"1,2\xff\n")
    with pytest.raises(RecordingFormatError, match="not a text file"):
        read_fmkit(latin)
    with pytest.raises(RecordingFormatError, match="unknown recording format"):
        load_recording(text, format="bogus")
    assert FORMATS == ("native", "fmkit", "leapcsv", "svc2004")


# --------------------------------------------------------------------------- fmkit
def test_fmkit_basic(tmp_path: Path) -> None:
    ts = 1_000_000 + np.arange(20) * 9000
    p = write_fmkit(tmp_path / "bob_hello_07.txt", ts)
    assert detect_format(p) == "fmkit"
    tr = load_recording(p)
    assert (tr.meta.user, tr.meta.content, tr.meta.label) == ("bob", "hello", Label.GENUINE)
    assert tr.meta.device == "leap-motion (FMKit)"
    assert tr.meta.extra["sample"] == 7 and tr.meta.extra["layout"] == 133
    assert tr.meta.source == str(p)
    np.testing.assert_allclose(tr.t, np.arange(20) * 0.009)
    np.testing.assert_allclose(tr.positions[3], [3, 6, -3])
    np.testing.assert_allclose(tr.channels["palm"][3], [13, 20, 30])
    np.testing.assert_allclose(tr.channels["confidence"], 0.5)


def test_fmkit_older_93_column_layout(tmp_path: Path) -> None:
    p = write_fmkit(tmp_path / "x_y_01.txt", 500 + np.arange(12) * 8673, ncols=93)
    tr = read_fmkit(p)
    assert tr.meta.extra["layout"] == 93
    assert len(tr) == 12


def test_fmkit_counter_wraparound(tmp_path: Path) -> None:
    ts = (2**32 - 5 * 9000 + np.arange(12) * 9000) % 2**32
    assert ts.min() < ts[0]  # really wraps
    tr = read_fmkit(write_fmkit(tmp_path / "w_w_01.txt", ts))
    np.testing.assert_allclose(np.diff(tr.t), 0.009)
    np.testing.assert_array_equal(unwrap_counter(np.array([2**32 - 1, 3])), [2**32 - 1, 2**32 + 3])


def test_fmkit_epoch_timestamps_are_not_unwrapped(tmp_path: Path) -> None:
    ts = 1574493388501476 + np.arange(10) * 9040
    tr = read_fmkit(write_fmkit(tmp_path / "English_client0_word0", ts))
    np.testing.assert_allclose(np.diff(tr.t), 0.00904)
    assert tr.meta.user == "" and tr.meta.label is Label.GENUINE


def test_fmkit_drops_lost_hand_and_stale_frames(tmp_path: Path) -> None:
    ts = list(1000 + np.arange(20) * 9000)
    ts[10] = ts[9]  # duplicate time
    ts[15] = ts[13]  # time going back
    valid = [1] * 20
    valid[2] = valid[3] = valid[18] = 0
    tr = read_fmkit(write_fmkit(tmp_path / "a_b_01.txt", ts, valid))
    assert len(tr) == 15
    assert tr.meta.extra["dropped_invalid"] == 3
    assert tr.meta.extra["dropped_nonincreasing"] == 2


def test_fmkit_all_frames_invalid(tmp_path: Path) -> None:
    p = write_fmkit(tmp_path / "a_b_01.txt", 1000 + np.arange(20) * 9000, [0] * 20)
    with pytest.raises(RecordingFormatError, match="never tracked"):
        read_fmkit(p)


def test_fmkit_too_few_valid_frames(tmp_path: Path) -> None:
    p = write_fmkit(tmp_path / "a_b_01.txt", 1000 + np.arange(20) * 9000, [1] * 5 + [0] * 15)
    with pytest.raises(RecordingFormatError, match="only 5 usable frames"):
        read_fmkit(p)


def test_fmkit_trailing_blank_lines_ok_garbage_is_not(tmp_path: Path) -> None:
    p = write_fmkit(tmp_path / "a_b_01.txt", 1000 + np.arange(10) * 9000, trailing="\n\n  \n")
    assert len(read_fmkit(p)) == 10
    lines = p.read_text().splitlines()
    lines.insert(4, "this is not a frame")
    p.write_text("\n".join(lines))
    with pytest.raises(RecordingFormatError, match="line 5"):
        read_fmkit(p)
    lines[4] = "# a comment"
    p.write_text("\n".join(lines))
    with pytest.raises(RecordingFormatError, match="line 5"):
        read_fmkit(p)


def test_fmkit_bad_layouts(tmp_path: Path) -> None:
    p = tmp_path / "a_b_01.txt"
    p.write_text("\n".join(",".join(["1.0"] * 50) for _ in range(10)))
    with pytest.raises(RecordingFormatError, match="50 columns"):
        read_fmkit(p)
    p = write_fmkit(tmp_path / "c_d_01.txt", 1000 + np.arange(10) * 9000)
    p.write_text(p.read_text().replace(",\t1\n", ",\t2\n", 1))
    with pytest.raises(RecordingFormatError, match="valid flag"):
        read_fmkit(p)


def test_fmkit_truncated(tmp_path: Path) -> None:
    data = write_fmkit(tmp_path / "a_b_01.txt", 1000 + np.arange(30) * 9000).read_bytes()
    for frac in (0.1, 0.33, 0.5, 0.77, 0.99):
        p = tmp_path / f"cut_{frac}_01.txt"
        cut = int(len(data) * frac)
        if data[cut - 1 : cut] == b"\n":
            cut -= 3
        p.write_bytes(data[:cut])
        with pytest.raises(RecordingFormatError):
            read_fmkit(p)


# --------------------------------------------------------------------------- leapcsv
def test_leapcsv_time_from_velocities(tmp_path: Path) -> None:
    dts = 0.008375 + RNG.normal(0, 0.00001, 59)
    true_t, rows = leap_rows(60, dts)
    p = write_leap(tmp_path / "u07" / "3.csv", rows)
    assert detect_format(p) == "leapcsv"
    tr = load_recording(p)
    np.testing.assert_allclose(tr.t, true_t, atol=1e-6)
    assert tr.meta.extra["time_from"] == "velocity"
    assert (tr.meta.user, tr.meta.label, tr.meta.extra["sample"]) == ("u07", Label.GENUINE, 3)
    assert tr.meta.device == "leap-motion (Ultraleap)"
    assert tr.channels["palm"].shape == (60, 3)
    np.testing.assert_allclose(tr.channels["confidence"], 0.7)
    np.testing.assert_allclose(tr.meta.extra["row_period_s"], 0.008375, rtol=1e-3)


def test_leapcsv_gap_uses_frame_id_period(tmp_path: Path) -> None:
    steps = np.full(39, 2)
    steps[20] = 100  # tracking gap: 100 frame ids
    _, rows = leap_rows(40, 0.008, fid_steps=steps)
    # the recorder's velocity after a gap refers to an unrecorded frame: break it
    parts = rows[21].split(",")
    parts[7:10] = ["1.0", "-3.0", "7.0"]
    rows[21] = ",".join(parts)
    tr = read_leapcsv(write_leap(tmp_path / "u01" / "1.csv", rows))
    gap = tr.t[21] - tr.t[20]
    np.testing.assert_allclose(gap, 100 * 0.004, rtol=1e-6)  # 100 ids x (8 ms / 2 ids)
    assert tr.meta.extra["rows_timed_by_velocity"] == 38


def test_leapcsv_without_velocities_uses_nominal_rate(tmp_path: Path) -> None:
    _, rows = leap_rows(20)
    header = "frame_id,index_x_coor,index_y_coor,index_z_coor,palm_x_coor,palm_y_coor,palm_z_coor"
    rows = [",".join(r.split(",")[:7]) for r in rows]
    tr = read_leapcsv(write_leap(tmp_path / "u02" / "1.csv", rows, header))
    assert tr.meta.extra["time_from"] == "nominal"
    assert "confidence" not in tr.channels
    np.testing.assert_allclose(np.median(np.diff(tr.t)), NOMINAL_ROW_PERIOD)


def test_leapcsv_duplicate_and_backward_frame_ids(tmp_path: Path) -> None:
    _, rows = leap_rows(30)
    rows.insert(10, rows[9])  # duplicate frame id
    rows.insert(20, rows[5])  # an old frame out of order
    tr = read_leapcsv(write_leap(tmp_path / "u03" / "2.csv", rows))
    assert len(tr) == 30
    assert tr.meta.extra["dropped_nonincreasing"] == 2


def test_leapcsv_rows_without_position_are_dropped(tmp_path: Path) -> None:
    _, rows = leap_rows(30)
    parts = rows[7].split(",")
    parts[1] = "nan"
    rows[7] = ",".join(parts)
    tr = read_leapcsv(write_leap(tmp_path / "u03" / "2.csv", rows))
    assert len(tr) == 29 and tr.meta.extra["dropped_nonfinite"] == 1


def test_leapcsv_short_header_only_truncated_and_garbage(tmp_path: Path) -> None:
    _, rows = leap_rows(30)
    with pytest.raises(RecordingFormatError, match="at least 8"):
        read_leapcsv(write_leap(tmp_path / "u1" / "short.csv", rows[:5]))
    p = tmp_path / "u1" / "hdr.csv"
    p.write_text(LEAP_HEADER + "\n")
    with pytest.raises(RecordingFormatError, match="no frames"):
        read_leapcsv(p)
    data = write_leap(tmp_path / "u1" / "full.csv", rows).read_bytes()
    for frac in (0.3, 0.6, 0.95):
        cut = int(len(data) * frac)
        p = tmp_path / "u1" / f"cut{frac}.csv"
        p.write_bytes(data[:cut] if data[cut - 1 : cut] != b"\n" else data[: cut - 5])
        with pytest.raises(RecordingFormatError, match="malformed"):
            read_leapcsv(p)
    with pytest.raises(RecordingFormatError, match="line 4"):
        read_leapcsv(write_leap(tmp_path / "u1" / "g.csv", rows[:2] + ["a,b"] + rows[2:]))
    with pytest.raises(RecordingFormatError, match="lacks columns"):
        read_leapcsv(write_leap(tmp_path / "u1" / "h.csv", rows, "frame_id,index_x_coor"))


# --------------------------------------------------------------------------- svc2004
@pytest.mark.parametrize("task", [1, 2])
def test_svc2004_basic(tmp_path: Path, task: int) -> None:
    p = write_svc(tmp_path / "U3S25.TXT", task=task)
    assert detect_format(p) == "svc2004"
    tr = load_recording(p)
    assert tr.dims == 2
    assert (tr.meta.user, tr.meta.label) == ("U3", Label.SKILLED_FORGERY)
    assert tr.meta.extra["task"] == task and tr.meta.extra["units"] == "tablet"
    assert "tablet units" in tr.meta.device
    np.testing.assert_allclose(tr.sampling_rate, 100.0)
    np.testing.assert_array_equal(tr.channels["pen_down"][:5], [0, 1, 1, 1, 0])
    assert ("pressure" in tr.channels) == (task == 2)
    np.testing.assert_allclose(tr.positions[2], [1014, 2006])


def test_svc2004_labels_from_name(tmp_path: Path) -> None:
    assert read_svc2004(write_svc(tmp_path / "U12S20.TXT")).meta.label is Label.GENUINE
    assert read_svc2004(write_svc(tmp_path / "u1s1.txt")).meta.user == "U1"
    assert read_svc2004(write_svc(tmp_path / "sig.txt")).meta.label is Label.UNKNOWN


def test_svc2004_repairs_repeated_and_backward_times(tmp_path: Path) -> None:
    times = np.arange(30) * 10 + 5000
    times[10] = times[9]  # repeated
    times[20:] -= 18  # clock steps back 8 ms, then goes on
    tr = read_svc2004(write_svc(tmp_path / "U1S1.TXT", times=times))
    assert len(tr) == 30  # no sample lost
    assert tr.meta.extra["time_repairs"] == 2
    np.testing.assert_allclose(np.diff(tr.t)[[9, 19]], 0.010)


def test_svc2004_count_line_checked(tmp_path: Path) -> None:
    with pytest.raises(RecordingFormatError, match="announces 40 points but the file holds 30"):
        read_svc2004(write_svc(tmp_path / "U1S1.TXT", count=40))
    p = write_svc(tmp_path / "U1S2.TXT")
    p.write_text("thirty\n" + p.read_text().split("\n", 1)[1])
    with pytest.raises(RecordingFormatError, match="number of points"):
        read_svc2004(p)
    p.write_text("30\n")
    with pytest.raises(RecordingFormatError, match="no data"):
        read_svc2004(p)


def test_svc2004_truncated_and_garbage(tmp_path: Path) -> None:
    data = write_svc(tmp_path / "U1S3.TXT", task=2).read_bytes()
    for frac in (0.2, 0.5, 0.9):
        p = tmp_path / f"U1S{int(frac * 10)}.TXT"
        p.write_bytes(data[: int(len(data) * frac)])
        with pytest.raises(RecordingFormatError):
            read_svc2004(p)
    p = write_svc(tmp_path / "U1S4.TXT")
    lines = p.read_text().splitlines()
    lines[6] = "1 2 x 4"
    p.write_text("\n".join(lines))
    with pytest.raises(RecordingFormatError, match="line 7"):
        read_svc2004(p)


# --------------------------------------------------------------------------- real data
def _real_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


EXPECTED = {
    # folder: (format, dims, sampling-rate range in Hz)
    "fmkit_leap": ("fmkit", 3, (105.0, 120.0)),
    "leap_air_signatures": ("leapcsv", 3, (110.0, 130.0)),
    "svc2004_task1": ("svc2004", 2, (99.0, 101.0)),
    "svc2004_task2": ("svc2004", 2, (99.0, 101.0)),
}


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_every_shared_recording_loads(shared_data: Path, folder: str) -> None:
    fmt, dims, (lo, hi) = EXPECTED[folder]
    files = _real_files(shared_data / folder)
    loaded = 0
    for path in files:
        if path.name.startswith("LICENSE"):
            with pytest.raises(RecordingFormatError):
                load_recording(path)
            continue
        assert detect_format(path) == fmt, path
        tr = load_recording(path)
        assert tr.dims == dims
        assert len(tr) >= 80, path
        assert 0.5 < tr.duration < 20, path
        assert lo <= tr.sampling_rate <= hi, (path, tr.sampling_rate)
        assert tr.meta.source == str(path)
        extent = np.ptp(tr.positions, axis=0)
        assert np.all(extent > (10 if dims == 3 else 100)), path  # something was written
        if fmt == "svc2004":
            sample = int(path.stem.upper().split("S")[1])
            expected = Label.GENUINE if sample <= 20 else Label.SKILLED_FORGERY
            assert tr.meta.label is expected
            assert tr.meta.user == path.name.upper().split("S")[0]
        if fmt == "leapcsv":
            assert tr.meta.user == path.parent.name
            assert tr.meta.extra["time_from"] == "velocity"
        loaded += 1
    counts = {
        "fmkit_leap": 24,
        "leap_air_signatures": 513,
        "svc2004_task1": 800,
        "svc2004_task2": 800,
    }
    assert loaded == counts[folder]


def test_real_fmkit_names_and_layouts(fmkit_dir: Path) -> None:
    tr = load_recording(fmkit_dir / "luduo_jisuanji_03.txt")
    assert (tr.meta.user, tr.meta.content, tr.meta.extra["sample"]) == ("luduo", "jisuanji", 3)
    assert read_fmkit(fmkit_dir / "fmcode_fmcode_01.txt").meta.extra["layout"] == 93
    # the real luduo recordings sit in the 32-bit counter range
    assert read_fmkit(fmkit_dir / "luduo_luduo_10.txt").meta.extra["dropped_invalid"] == 0


def test_real_leapcsv_row_period_is_consistent(shared_data: Path) -> None:
    """The velocity-derived row period agrees across people (one tracker, one rate)."""
    folder = shared_data / "leap_air_signatures"
    periods = [
        read_leapcsv(folder / u / "1.csv").meta.extra["row_period_s"]
        for u in ("u01", "u17", "u50", "u62", "u71")
    ]
    assert np.ptp(periods) < 5e-5
    assert 0.0080 < np.median(periods) < 0.0087


def test_real_svc2004_task2_keeps_pen_channels(shared_data: Path) -> None:
    tr = load_recording(shared_data / "svc2004_task2" / "U1S1.TXT")
    assert set(tr.channels) == {"pen_down", "azimuth", "altitude", "pressure"}
    assert set(np.unique(tr.channels["pen_down"])) <= {0.0, 1.0}
