"""LeapSource against a double of Ultraleap's binding (tests/fakes/leap.py).

Covers the normal stream, no hand, two hands, device disconnected mid-gesture, service not
running, binding not installed, and that no wait can hang (pytest-timeout guards every test).
"""

from __future__ import annotations

import itertools
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fakes import leap as fake
from fakes.leap import HandType, Scenario, install, make_hand, tracking

from capture.leap_adapter import LeapSource
from capture.segmentation import record_gesture
from core.errors import DeviceError

pytestmark = pytest.mark.timeout(30)

REPO = Path(__file__).resolve().parents[1]
DT_US = 9000  # ~111 Hz, like a Leap Motion


def moving_events(n: int, start: int = 0, hand_type: HandType = HandType.Right,
                  speed_mm_s: float = 400.0) -> list[fake.TrackingEvent]:
    """Tracking events of one hand writing loops (radius 30 mm)."""
    out = []
    for i in range(start, start + n):
        a = speed_mm_s / 30.0 * i * DT_US * 1e-6
        tip = (30 * np.cos(a), 200 + 30 * np.sin(a), -10.0)
        out.append(tracking(1_000_000 + i * DT_US, i, make_hand(tip, hand_type, 0.9)))
    return out


def still_events(n: int, start: int) -> list[fake.TrackingEvent]:
    return [tracking(1_000_000 + i * DT_US, i, make_hand((30.0, 200.0, -10.0))) for i in
            range(start, start + n)]


def read(src: LeapSource, n: int, timeout: float = 5.0) -> list:
    return list(itertools.islice(src.frames(timeout=timeout), n))


# -- normal operation ---------------------------------------------------------------------
def test_normal_stream(monkeypatch) -> None:
    events = [tracking(1_000_000 + i * DT_US, i, make_hand((i, 200.0, -i), confidence=0.8))
              for i in range(30)]
    sc = install(monkeypatch, Scenario(events=events))
    with LeapSource(connect_timeout=5) as src:
        assert src.running and src.device_seen_
        frames = read(src, 30)
    assert not src.running
    conn = sc.connections[0]
    assert conn.tracking_mode is fake.TrackingMode.Desktop
    assert conn.closed and not conn.thread_alive
    np.testing.assert_allclose([f.timestamp for f in frames], 1.0 + np.arange(30) * 0.009)
    np.testing.assert_allclose(np.stack([f.tip for f in frames])[:, 0], np.arange(30))
    f = frames[7]
    np.testing.assert_allclose(f.tip, [7, 200, -7])
    np.testing.assert_allclose(f.palm, [7, 120, -7])
    assert f.confidence == pytest.approx(0.8) and f.hand == "right" and f.frame_id == 7


def test_tracking_mode_is_configurable(monkeypatch) -> None:
    sc = install(monkeypatch, Scenario(events=still_events(3, 0)))
    with LeapSource(tracking_mode="hmd"):
        pass
    assert sc.connections[0].tracking_mode is fake.TrackingMode.HMD
    with pytest.raises(ValueError):
        LeapSource(tracking_mode="ceiling")
    with pytest.raises(ValueError):
        LeapSource(hand="both")


def test_no_hand_gives_frames_without_tip(monkeypatch) -> None:
    events = [tracking(1_000_000 + i * DT_US, i) for i in range(10)]
    install(monkeypatch, Scenario(events=events))
    with LeapSource() as src:
        frames = read(src, 10)
    assert len(frames) == 10
    assert all(f.tip is None and f.hand is None and not f.has_hand for f in frames)
    assert frames[3].frame_id == 3 and frames[3].timestamp == pytest.approx(1.027)


LEFT_TIP, RIGHT_TIP = (-100.0, 200.0, 0.0), (100.0, 200.0, 0.0)


@pytest.mark.parametrize(
    "preference, left_conf, right_conf, expected",
    [
        ("right", 0.9, 0.5, RIGHT_TIP),  # the preferred hand wins even if less confident
        ("left", 0.5, 0.9, LEFT_TIP),
        ("any", 0.9, 0.5, LEFT_TIP),  # most confident
        ("any", 0.4, 0.6, RIGHT_TIP),
    ],
)
def test_two_hands_follow_the_preference(monkeypatch, preference, left_conf, right_conf,
                                         expected) -> None:
    both = [make_hand(LEFT_TIP, HandType.Left, left_conf, hand_id=1),
            make_hand(RIGHT_TIP, HandType.Right, right_conf, hand_id=2)]
    install(monkeypatch, Scenario(events=[tracking(1_000_000, 0, *both),
                                          tracking(1_009_000, 1, *reversed(both))]))
    with LeapSource(hand=preference) as src:
        frames = read(src, 2)
    for f in frames:
        np.testing.assert_allclose(f.tip, expected)
        assert f.hand == ("left" if expected == LEFT_TIP else "right")


def test_lone_hand_of_the_other_type_is_still_tracked(monkeypatch) -> None:
    # The service can mislabel a hand for a few frames; dropping them would cut the gesture.
    install(monkeypatch, Scenario(events=[
        tracking(1_000_000, 0, make_hand(LEFT_TIP, HandType.Left, 0.7)),
        tracking(1_009_000, 1, make_hand(RIGHT_TIP, HandType.Right, 0.3),
                 make_hand((0.0, 0.0, 0.0), HandType.Right, 0.9)),
    ]))
    with LeapSource(hand="right") as src:
        a, b = read(src, 2)
    np.testing.assert_allclose(a.tip, LEFT_TIP)
    assert a.hand == "left"
    np.testing.assert_allclose(b.tip, (0.0, 0.0, 0.0))  # two "right" hands: most confident


# -- failures -----------------------------------------------------------------------------
def test_device_disconnected_mid_gesture(monkeypatch) -> None:
    gate = threading.Event()
    sc = install(monkeypatch, Scenario(events=moving_events(20) + [gate, fake.DeviceLostEvent()]))
    src = LeapSource(frame_timeout=10)
    src.start()
    got = []
    t0 = time.monotonic()
    with pytest.raises(DeviceError, match="Leap Motion device disconnected"):
        for f in src.frames():
            got.append(f)
            if len(got) == 20:
                gate.set()
                t0 = time.monotonic()
    assert time.monotonic() - t0 < 5, "the disconnect must reach the consumer promptly"
    assert len(got) == 20
    src.stop()
    assert sc.connections[0].closed and not sc.connections[0].thread_alive


def test_device_lost_while_recording_a_gesture(monkeypatch) -> None:
    sc = install(monkeypatch, Scenario(events=moving_events(120) + [fake.DeviceLostEvent()]))
    with pytest.raises(DeviceError, match="disconnected"):
        record_gesture(LeapSource(frame_timeout=10), timeout=20)
    assert sc.connections[0].closed and not sc.connections[0].thread_alive


def test_connection_to_the_service_lost(monkeypatch) -> None:
    install(monkeypatch, Scenario(events=still_events(5, 0) + [fake.ConnectionLostEvent()]))
    with LeapSource() as src, pytest.raises(DeviceError, match="lost the connection"):
        read(src, 100, timeout=10)


def test_device_failure(monkeypatch) -> None:
    install(monkeypatch, Scenario(events=[fake.DeviceFailureEvent()]))
    with LeapSource() as src, pytest.raises(DeviceError, match="device failure"):
        read(src, 1, timeout=10)


def test_service_not_running_is_a_clear_error_within_the_timeout(monkeypatch) -> None:
    sc = install(monkeypatch, Scenario(connects=False))
    src = LeapSource(connect_timeout=0.2)
    t0 = time.monotonic()
    with pytest.raises(DeviceError, match=r"no connection to the Ultraleap hand-tracking "
                                          r"service within 0\.2 s.*running"):
        src.start()
    assert time.monotonic() - t0 < 3
    assert not src.running
    assert not sc.connections[0].thread_alive
    assert list(src.frames()) == []  # a failed start leaves nothing to wait for


def test_no_device_streaming_is_reported_not_waited_for(monkeypatch) -> None:
    install(monkeypatch, Scenario(events=[], device=False))
    with LeapSource() as src:
        t0 = time.monotonic()
        with pytest.raises(DeviceError, match="no tracking data .* 0.2 s.*plugged in"):
            read(src, 1, timeout=0.2)
        assert time.monotonic() - t0 < 3


def test_binding_errors_are_named_when_the_stream_goes_silent(monkeypatch) -> None:
    install(monkeypatch, Scenario(events=[fake.LeapNotConnectedError("socket closed")]))
    with LeapSource() as src, pytest.raises(
        DeviceError, match=r"no tracking data .*last binding error: LeapNotConnectedError"
    ):
        read(src, 1, timeout=0.2)


def test_binding_not_installed(monkeypatch, tmp_path) -> None:
    fake.install_broken(monkeypatch, tmp_path)
    with pytest.raises(Exception) as raw:  # what the binding itself does: a bare Exception
        import leap  # noqa: F401
    assert type(raw.value) is Exception
    with pytest.raises(DeviceError) as err:
        LeapSource().start()
    msg = str(err.value)
    assert msg.startswith("Leap Motion support not installed")
    assert fake.BROKEN_IMPORT_MESSAGE in msg
    assert "leapc-python-bindings" in msg and "'leap' is unrelated" in msg


def test_malformed_event_is_a_device_error_not_a_silent_hang(monkeypatch) -> None:
    broken = make_hand((0.0, 0.0, 0.0))
    del broken.index
    install(monkeypatch, Scenario(events=[tracking(1_000_000, 0, broken)]))
    with LeapSource() as src, pytest.raises(DeviceError, match="unreadable tracking event"):
        read(src, 1, timeout=10)


# -- lifetime and threading ---------------------------------------------------------------
def test_stop_from_another_thread_ends_iteration_cleanly(monkeypatch) -> None:
    install(monkeypatch, Scenario(events=still_events(5, 0)))  # then silence
    src = LeapSource()
    src.start()
    got: list = []
    errors: list = []

    def consume() -> None:
        try:
            for f in src.frames(timeout=20):
                got.append(f)  # noqa: PERF402 - the main thread watches it grow
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=consume)
    worker.start()
    deadline = time.monotonic() + 10
    while len(got) < 5 and time.monotonic() < deadline:  # consumer now blocks on silence
        time.sleep(0.005)
    src.stop()
    worker.join(timeout=5)
    assert not worker.is_alive(), "stop() did not wake the blocked consumer"
    assert errors == [] and len(got) == 5


def test_bounded_queue_keeps_the_newest_frames(monkeypatch) -> None:
    install(monkeypatch, Scenario(events=still_events(50, 0)))
    src = LeapSource(queue_size=5)
    src.start()
    deadline = time.monotonic() + 10
    while src.dropped_frames_ < 45 and time.monotonic() < deadline:
        time.sleep(0.005)
    frames = read(src, 5)
    src.stop()
    assert src.dropped_frames_ == 45
    assert [f.frame_id for f in frames] == [45, 46, 47, 48, 49]


def test_lifetime_edge_cases(monkeypatch) -> None:
    sc = install(monkeypatch, Scenario(events=still_events(3, 0)))
    src = LeapSource()
    with pytest.raises(RuntimeError, match="not started"):
        next(src.frames())
    src.stop()  # stopping a source that never started is harmless
    src.start()
    src.start()  # already running: no second connection
    assert len(sc.connections) == 1
    src.stop()
    src.stop()
    assert list(src.frames()) == []  # stopped: ends at once


def test_the_binding_is_imported_lazily_and_only_by_the_adapter(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "leap", raising=False)
    import authapp.commands.record  # noqa: F401
    import capture.leap_adapter  # noqa: F401

    assert "leap" not in sys.modules
    pattern = re.compile(r"^\s*(import leap\b|from leap\b)", re.MULTILINE)
    offenders = [
        str(p.relative_to(REPO))
        for pkg in ("core", "capture", "models", "authapp")
        for p in (REPO / pkg).rglob("*.py")
        if pattern.search(p.read_text(encoding="utf-8")) and p.name != "leap_adapter.py"
    ]
    assert offenders == []
