"""A test double of Ultraleap's ``leap`` module (leapc-python-bindings).

It mirrors the parts of the binding's surface AirAuth uses, with the binding's names:
``Listener`` (``on_event`` dispatching to ``on_connection_event``, ``on_tracking_event``,
``on_device_lost_event``, ... and ``on_error``), ``Connection(poll_timeout=...)`` with
``add_listener`` / ``open(timeout=...)`` (a context manager that runs a polling thread and
raises ``LeapTimeoutError`` when no Connection event arrives in time) / ``set_tracking_mode``,
the enums ``TrackingMode``, ``HandType``, ``EventType``, and event objects whose hands expose
``type``, ``confidence``, ``palm.position`` and ``index.distal.next_joint.x/.y/.z``.

Instead of a service, the polling thread plays a ``Scenario``: a scripted list of events,
optionally with ``threading.Event`` gates that hold the script until the test opens them.
Inject with ``install(monkeypatch, scenario)``, which puts this module in ``sys.modules["leap"]``.
"""

from __future__ import annotations

import enum
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

GATE_LIMIT_S = 10.0
"""A gate never holds the script longer than this: a broken test fails instead of hanging."""


class EventType(enum.Enum):
    EventTypeNone = 0
    Connection = 1
    ConnectionLost = 2
    Device = 3
    DeviceFailure = 4
    Policy = 5
    Tracking = 0x100
    DeviceLost = 0x104


class TrackingMode(enum.Enum):
    Desktop = 0
    HMD = 1
    ScreenTop = 2
    Unknown = 3


class HandType(enum.Enum):
    Left = 0
    Right = 1


class LeapError(Exception):
    pass


class LeapTimeoutError(LeapError):
    pass


class LeapNotConnectedError(LeapError):
    pass


# -- data types --------------------------------------------------------------------------
class Vector:
    def __init__(self, x: float, y: float, z: float) -> None:
        self.x, self.y, self.z = float(x), float(y), float(z)

    def __getitem__(self, idx: int) -> float:
        return (self.x, self.y, self.z)[idx]

    def __iter__(self) -> Iterator[float]:
        return iter((self.x, self.y, self.z))


class Bone:
    def __init__(self, prev_joint: Vector, next_joint: Vector) -> None:
        self.prev_joint = prev_joint
        self.next_joint = next_joint
        self.width = 10.0


class Digit:
    def __init__(self, finger_id: int, tip: Vector) -> None:
        self.finger_id = finger_id
        base = Vector(tip.x, tip.y - 60.0, tip.z)
        self.metacarpal = Bone(base, base)
        self.proximal = Bone(base, base)
        self.intermediate = Bone(base, base)
        self.distal = Bone(base, tip)
        self.is_extended = True

    @property
    def bones(self) -> list[Bone]:
        return [self.metacarpal, self.proximal, self.intermediate, self.distal]


class Palm:
    def __init__(self, position: Vector) -> None:
        self.position = position
        self.stabilized_position = position
        self.velocity = Vector(0, 0, 0)


class Hand:
    def __init__(self, hand_id: int, hand_type: HandType, confidence: float, tip: Vector,
                 palm: Vector) -> None:
        self.id = hand_id
        self.type = hand_type
        self.confidence = confidence
        self.palm = Palm(palm)
        self.index = Digit(1, tip)
        other = Vector(palm.x, palm.y + 50.0, palm.z)
        self.thumb, self.middle, self.ring, self.pinky = (Digit(i, other) for i in (0, 2, 3, 4))

    @property
    def digits(self) -> list[Digit]:
        return [self.thumb, self.index, self.middle, self.ring, self.pinky]


def make_hand(tip: Sequence[float], hand_type: HandType = HandType.Right,
              confidence: float = 1.0, palm: Sequence[float] | None = None,
              hand_id: int = 1) -> Hand:
    """A hand whose index fingertip is at ``tip`` (palm 80 mm lower unless given)."""
    tip_v = Vector(*tip)
    palm_v = Vector(*palm) if palm is not None else Vector(tip_v.x, tip_v.y - 80.0, tip_v.z)
    return Hand(hand_id, hand_type, confidence, tip_v, palm_v)


# -- events ------------------------------------------------------------------------------
class Event:
    _EVENT_TYPE = EventType.EventTypeNone

    @property
    def type(self) -> EventType:
        return self._EVENT_TYPE


class ConnectionEvent(Event):
    _EVENT_TYPE = EventType.Connection


class ConnectionLostEvent(Event):
    _EVENT_TYPE = EventType.ConnectionLost


class DeviceEvent(Event):
    _EVENT_TYPE = EventType.Device


class DeviceLostEvent(Event):
    _EVENT_TYPE = EventType.DeviceLost


class DeviceFailureEvent(Event):
    _EVENT_TYPE = EventType.DeviceFailure


class TrackingEvent(Event):
    _EVENT_TYPE = EventType.Tracking

    def __init__(self, timestamp_us: int, frame_id: int, hands: Sequence[Hand]) -> None:
        self._timestamp = int(timestamp_us)
        self._frame_id = int(frame_id)
        self._hands = list(hands)

    @property
    def timestamp(self) -> int:
        return self._timestamp

    @property
    def tracking_frame_id(self) -> int:
        return self._frame_id

    @property
    def hands(self) -> list[Hand]:
        return list(self._hands)


class Listener:
    """Same dispatch as the binding: ``on_event`` calls the method named for the event type."""

    def on_event(self, event: Event) -> None:
        getattr(self, self._EVENT_CALLS[event.type])(event)

    def on_error(self, error: LeapError) -> None:
        pass

    def on_none_event(self, event: Event) -> None:
        pass

    def on_connection_event(self, event: Event) -> None:
        pass

    def on_connection_lost_event(self, event: Event) -> None:
        pass

    def on_device_event(self, event: Event) -> None:
        pass

    def on_device_failure_event(self, event: Event) -> None:
        pass

    def on_policy_event(self, event: Event) -> None:
        pass

    def on_tracking_event(self, event: Event) -> None:
        pass

    def on_device_lost_event(self, event: Event) -> None:
        pass

    _EVENT_CALLS: ClassVar[dict[EventType, str]] = {
        EventType.EventTypeNone: "on_none_event",
        EventType.Connection: "on_connection_event",
        EventType.ConnectionLost: "on_connection_lost_event",
        EventType.Device: "on_device_event",
        EventType.DeviceFailure: "on_device_failure_event",
        EventType.Policy: "on_policy_event",
        EventType.Tracking: "on_tracking_event",
        EventType.DeviceLost: "on_device_lost_event",
    }


# -- the scripted service ----------------------------------------------------------------
@dataclass
class Scenario:
    """What the fake service does once a Connection opens.

    ``events``: played in order on the polling thread; a ``threading.Event`` item is a gate
    (the script waits until the test sets it); a ``LeapError`` item is a failed poll. ``connects=False`` models "service not running":
    the poll loop only reports timeouts, as LeapC does. ``device=False``: no Device event.
    ``connections`` collects every Connection the code under test created.
    """

    events: list[Any] = field(default_factory=list)
    connects: bool = True
    device: bool = True
    connections: list[Connection] = field(default_factory=list)


SCENARIO = Scenario()


def tracking(timestamp_us: int, frame_id: int, *hands: Hand) -> TrackingEvent:
    return TrackingEvent(timestamp_us, frame_id, hands)


class Connection:
    def __init__(self, *, server_namespace: Any = None, multi_device_aware: bool = False,
                 listeners: list[Listener] | None = None, poll_timeout: float = 1,
                 response_timeout: float = 10) -> None:
        self._listeners = list(listeners or [])
        self._poll_timeout = float(poll_timeout)
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self.scenario = SCENARIO
        self.tracking_mode: TrackingMode | None = None
        self.opened = False
        self.closed = False
        self.scenario.connections.append(self)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    @contextmanager
    def open(self, *, auto_poll: bool = True, timeout: float = 10) -> Iterator[Connection]:
        self.opened = True
        self._thread = threading.Thread(target=self._poll_loop, daemon=True)
        self._thread.start()
        if not self._connected.wait(timeout):
            self._stop_thread()
            raise LeapTimeoutError("Did not received expected event in time")
        try:
            yield self
        finally:
            self._stop_thread()
            self.closed = True

    def set_tracking_mode(self, mode: TrackingMode) -> None:
        if not isinstance(mode, TrackingMode):
            raise TypeError(f"not a TrackingMode: {mode!r}")
        self.tracking_mode = mode

    @property
    def thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _stop_thread(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _dispatch(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener.on_event(event)
            except Exception as exc:  # noqa: BLE001 - the binding prints and carries on
                print(f"Caught exception in listener callback: {type(exc)}, {exc}",
                      file=sys.stderr)

    def _idle(self) -> None:
        """Poll with nothing to report: the binding tells listeners about each poll timeout."""
        while not self._stop.wait(min(self._poll_timeout, 0.02)):
            for listener in list(self._listeners):
                listener.on_error(LeapTimeoutError())

    def _poll_loop(self) -> None:
        sc = self.scenario
        if not sc.connects:
            self._idle()
            return
        self._dispatch(ConnectionEvent())
        self._connected.set()
        if sc.device:
            self._dispatch(DeviceEvent())
        for item in sc.events:
            if isinstance(item, threading.Event):
                waited = 0.0
                while not item.wait(0.01):
                    waited += 0.01
                    if self._stop.is_set() or waited > GATE_LIMIT_S:
                        return
                continue
            if self._stop.is_set():
                return
            if isinstance(item, LeapError):  # a failed poll: the binding calls on_error
                for listener in list(self._listeners):
                    listener.on_error(item)
                continue
            self._dispatch(item)
        self._idle()


def install(monkeypatch: Any, scenario: Scenario) -> Scenario:
    """Make ``import leap`` return this double, playing ``scenario``."""
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "SCENARIO", scenario)
    monkeypatch.setitem(sys.modules, "leap", module)
    return scenario


BROKEN_IMPORT_MESSAGE = (
    "Error: Unable to find leapc_cffi dir within directory /usr/lib/ultraleap-hand-tracking-service"
)


def install_broken(monkeypatch: Any, tmp_path: Any) -> None:
    """Make ``import leap`` fail the way the real binding does without the service installed:
    a bare ``Exception`` raised from its ``__init__`` (not ImportError)."""
    pkg = tmp_path / "leap"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(f"raise Exception({BROKEN_IMPORT_MESSAGE!r})\n")
    monkeypatch.delitem(sys.modules, "leap", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
