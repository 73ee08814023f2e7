"""``authapp record``: live (with the fake Ultraleap binding) and ``--replay`` paths."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from fakes import leap as fake
from fakes.clock import FakeClock
from fakes.leap import HandType, Scenario, install, make_hand, tracking

import authapp.commands.record as record_cmd
from authapp.cli import main
from capture.formats import load_recording, save_recording
from capture.formats.fmkit import read_fmkit
from capture.sources import ReplaySource
from capture.trajectory import Trajectory

pytestmark = pytest.mark.timeout(60)

DT_US = 9000


def writing_session(hands_for=lambda tip: [make_hand(tip)]) -> list:
    """0.45 s still, ~1.35 s writing loops, 0.9 s still: one gesture as a live stream."""
    events, i = [], 0
    tip = np.array([30.0, 200.0, -10.0])
    for phase, n in (("still", 50), ("write", 150), ("still", 100)):
        for _ in range(n):
            if phase == "write":
                a = 400.0 / 30.0 * i * DT_US * 1e-6
                tip = np.array([30 * np.cos(a), 200 + 30 * np.sin(a), -10.0])
            events.append(tracking(5_000_000 + i * DT_US, i, *hands_for(tuple(tip))))
            i += 1
    return events


def test_record_live(monkeypatch, tmp_path, capsys) -> None:
    sc = install(monkeypatch, Scenario(events=writing_session()))
    out = tmp_path / "g.npz"
    rc = main(["record", str(out), "--user", "alice", "--content", "alice", "--timeout", "20"])
    assert rc == 0, capsys.readouterr().err
    assert "write now" in capsys.readouterr().err
    traj = load_recording(out)
    assert traj.meta.user == "alice" and traj.meta.content == "alice"
    assert traj.meta.device == "leap" and traj.meta.source == "live"
    assert traj.meta.extra["hand"] == "right" and traj.meta.extra["hand_preference"] == "right"
    assert abs(traj.duration - 150 * DT_US * 1e-6) < 0.2
    assert set(traj.channels) == {"palm", "confidence"}
    assert sc.connections[0].closed and not sc.connections[0].thread_alive


def test_record_live_two_hands_uses_the_chosen_hand(monkeypatch, tmp_path) -> None:
    def both(tip):
        still_left = make_hand((-150.0, 180.0, 0.0), HandType.Left, 0.95, hand_id=1)
        return [still_left, make_hand(tip, HandType.Right, 0.6, hand_id=2)]

    install(monkeypatch, Scenario(events=writing_session(both)))
    out = tmp_path / "g.npz"
    assert main(["record", str(out), "--hand", "right", "--timeout", "20"]) == 0
    traj = load_recording(out)
    assert traj.meta.extra["hand"] == "right"
    assert traj.positions[:, 0].min() > -40  # the still left hand at x=-150 never shows up


def test_record_without_the_binding_exits_2_with_the_install_message(monkeypatch, tmp_path,
                                                                    capsys) -> None:
    fake.install_broken(monkeypatch, tmp_path)
    out = tmp_path / "g.npz"
    assert main(["record", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("authapp record: error: Leap Motion support not installed")
    assert "Traceback" not in err
    assert not out.exists()


def test_record_with_the_service_down_exits_2(monkeypatch, tmp_path, capsys) -> None:
    install(monkeypatch, Scenario(connects=False))
    assert main(["record", str(tmp_path / "g.npz"), "--connect-timeout", "0.2"]) == 2
    assert "no connection to the Ultraleap hand-tracking service" in capsys.readouterr().err


def test_record_replay_of_a_real_recording(fmkit_dir, tmp_path, capsys) -> None:
    src = fmkit_dir / "luduo_luduo_04.txt"
    out = tmp_path / "g.npz"
    assert main(["record", str(out), "--replay", str(src), "--user", "someone"]) == 0
    assert "wrote" in capsys.readouterr().out
    raw = read_fmkit(src)
    traj = load_recording(out)
    assert len(traj) < len(raw) and traj.duration < raw.duration - 0.3
    assert traj.meta.user == "someone" and traj.meta.content == "luduo"
    assert traj.meta.source == str(src) and traj.meta.extra["replayed_from"] == str(src)
    assert traj.meta.device == raw.meta.device
    # every recorded frame is a frame of the original, unchanged
    i0 = int(np.argmin(np.linalg.norm(raw.positions - traj.positions[0], axis=1)))
    np.testing.assert_array_equal(raw.positions[i0:i0 + len(traj)], traj.positions)


def test_record_replay_realtime_uses_the_paced_source(monkeypatch, fmkit_dir, tmp_path) -> None:
    clock = FakeClock()
    monkeypatch.setattr(record_cmd, "ReplaySource",
                        functools.partial(ReplaySource, clock=clock, sleep=clock.sleep))
    src = fmkit_dir / "luduo_luduo_04.txt"
    assert main(["record", str(tmp_path / "g.npz"), "--replay", str(src), "--realtime"]) == 0
    assert clock.now - clock.start > 2.0  # paced by the recording's timestamps (fake clock)


def test_record_replay_without_a_gesture(tmp_path, capsys) -> None:
    t = np.arange(200) / 100.0
    still = Trajectory(t=t, positions=np.tile([0.0, 200.0, 0.0], (200, 1)))
    src = tmp_path / "still.npz"
    save_recording(still, src)
    assert main(["record", str(tmp_path / "g.npz"), "--replay", str(src)]) == 2
    assert "no writing gesture detected" in capsys.readouterr().err


def test_record_argument_errors(fmkit_dir, tmp_path, capsys) -> None:
    src = fmkit_dir / "luduo_luduo_04.txt"
    out = tmp_path / "g.npz"
    out.write_bytes(b"keep me")
    assert main(["record", str(out), "--replay", str(src)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main(["record", str(out), "--replay", str(src), "--force"]) == 0
    assert main(["record", str(tmp_path / "x.npz"), "--realtime"]) == 2
    assert "--realtime only applies to --replay" in capsys.readouterr().err
    assert main(["record", str(tmp_path / "x.npz"), "--replay", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["record", str(tmp_path / "x.npz"), "--timeout", "0"]) == 2


def test_record_checks_the_sample_against_an_enrolled_user(fmkit_dir, tmp_path, capsys) -> None:
    store = tmp_path / "store"
    enroll = [str(fmkit_dir / f"luduo_luduo_0{i}.txt") for i in range(1, 6)]
    assert main(["enroll", "luduo", *enroll, "--store", str(store)]) == 0
    capsys.readouterr()
    common = ["--store", str(store), "--user", "luduo", "--replay"]
    assert main(["record", str(tmp_path / "a.npz"), *common,
                 str(fmkit_dir / "luduo_luduo_07.txt")]) == 0
    assert "consistent with luduo's 5 enrolled samples" in capsys.readouterr().out
    assert main(["record", str(tmp_path / "b.npz"), *common,
                 str(fmkit_dir / "luduo_jisuanji_01.txt")]) == 0
    out = capsys.readouterr().out
    assert "does not fit luduo's enrolled samples" in out and "shape differs" in out
    assert (tmp_path / "b.npz").is_file()  # the recording itself is still written
    # an unknown user or a missing --user fails before anything is recorded
    for extra in (["--user", "bob"], []):
        out_file = tmp_path / f"c{len(extra)}.npz"
        assert main(["record", str(out_file), "--store", str(store), *extra, "--replay",
                     str(fmkit_dir / "luduo_luduo_07.txt")]) == 2
        assert not out_file.exists()
        assert "error" in capsys.readouterr().err
