"""Live Leap Motion frames through Ultraleap's Python binding (``import leap``).

This is the only module that touches the binding, and it imports it lazily in ``start()``:
the rest of AirAuth works without the Ultraleap software installed. The binding calls our
listener on its own polling thread; frames cross to the consumer through a bounded queue, and
device problems (disconnect, service gone, no data) reach the consumer as ``DeviceError``.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

from capture.sources import DEFAULT_FRAME_TIMEOUT, Frame, FrameSource
from core.errors import DeviceError

HAND_PREFERENCES = ("right", "left", "any")
TRACKING_MODES = {"desktop": "Desktop", "hmd": "HMD", "screentop": "ScreenTop"}

INSTALL_HINT = (
    "install Ultraleap's hand-tracking service (Gemini) and its Python binding from "
    "https://github.com/ultraleap/leapc-python-bindings (`pip install -e leapc-python-api`; set "
    "LEAPSDK_INSTALL_LOCATION if the service's SDK is not in its default place). The PyPI package "
    "named 'leap' is unrelated: do not install it. Without a device, replay a recording instead."
)

_STOP = object()
"""Queue sentinel: wakes a blocked consumer when the source stops or fails."""


def import_binding() -> Any:
    """Import Ultraleap's ``leap`` module or raise a DeviceError that says how to install it.

    Without the service's compiled ``leapc_cffi`` the binding raises a bare ``Exception`` at
    import time (not ImportError), so every exception is translated here.
    """
    try:
        import leap
    except Exception as exc:
        raise DeviceError(f"Leap Motion support not installed: {exc}. To record live, "
                          f"{INSTALL_HINT}") from exc
    return leap


def _hand_name(leap: Any, hand_type: Any) -> str:
    if hand_type == leap.HandType.Left:
        return "left"
    if hand_type == leap.HandType.Right:
        return "right"
    return "unknown"


def choose_hand(hands: list[Any], names: list[str], preference: str) -> int | None:
    """Index of the hand to track, or None when there is none.

    The preferred hand type wins when present; otherwise (or with "any") the most confident
    hand. A lone hand of the other type is still used: the service sometimes mislabels a hand
    for a few frames, and dropping those frames would cut a gesture in two.
    """
    if not hands:
        return None
    candidates = list(range(len(hands)))
    if preference != "any":
        preferred = [i for i in candidates if names[i] == preference]
        candidates = preferred or candidates
    return max(candidates, key=lambda i: float(hands[i].confidence))


def _xyz(v: Any) -> tuple[float, float, float]:
    return float(v.x), float(v.y), float(v.z)


def frame_from_event(leap: Any, event: Any, preference: str) -> Frame:
    """Convert a tracking event into a Frame (timestamps: binding microseconds -> seconds)."""
    hands = list(event.hands)
    names = [_hand_name(leap, h.type) for h in hands]
    ts = float(event.timestamp) * 1e-6
    fid = int(event.tracking_frame_id)
    i = choose_hand(hands, names, preference)
    if i is None:
        return Frame(timestamp=ts, tip=None, frame_id=fid)
    hand = hands[i]
    return Frame(
        timestamp=ts,
        tip=_xyz(hand.index.distal.next_joint),
        palm=_xyz(hand.palm.position),
        confidence=float(hand.confidence),
        hand=names[i],
        frame_id=fid,
    )


def _make_listener(leap: Any, source: LeapSource) -> Any:
    """A ``leap.Listener`` subclass instance forwarding events to ``source`` (binding thread)."""

    class _Listener(leap.Listener):  # type: ignore[misc, name-defined]
        def on_connection_event(self, event: Any) -> None:
            source._connected.set()

        def on_connection_lost_event(self, event: Any) -> None:
            source._fail("lost the connection to the Ultraleap hand-tracking service")

        def on_device_event(self, event: Any) -> None:
            source.device_seen_ = True

        def on_device_lost_event(self, event: Any) -> None:
            source._fail("Leap Motion device disconnected")

        def on_device_failure_event(self, event: Any) -> None:
            source._fail("Leap Motion device failure (check the USB connection)")

        def on_tracking_event(self, event: Any) -> None:
            try:
                frame = frame_from_event(leap, event, source.hand)
            except Exception as exc:  # noqa: BLE001 - a malformed event must reach the consumer
                source._fail(f"unreadable tracking event from the Leap binding: {exc}")
                return
            source._push(frame)

        def on_error(self, error: Any) -> None:
            # The polling loop reports a timeout every poll interval while idle: not a failure.
            if "Timeout" not in type(error).__name__:
                source.last_binding_error_ = f"{type(error).__name__}: {error}"

    return _Listener()


class LeapSource(FrameSource):
    """Index-fingertip frames from a Leap Motion controller.

    ``hand``: "right", "left" or "any" (see ``choose_hand``). ``connect_timeout``: seconds to
    wait for the tracking service. ``frame_timeout``: default for ``frames(timeout)``, the
    longest silence tolerated before the device is reported gone. ``queue_size``: frames buffered
    between the binding's thread and the consumer; when full the oldest frame is dropped
    (``dropped_frames_`` counts them) so a slow consumer sees current data.
    """

    device = "leap"

    def __init__(
        self,
        hand: str = "right",
        tracking_mode: str = "desktop",
        connect_timeout: float = 5.0,
        frame_timeout: float = DEFAULT_FRAME_TIMEOUT,
        queue_size: int = 4096,
    ) -> None:
        if hand not in HAND_PREFERENCES:
            raise ValueError(f"hand must be one of {HAND_PREFERENCES}, got {hand!r}")
        if tracking_mode not in TRACKING_MODES:
            raise ValueError(f"tracking_mode must be one of {tuple(TRACKING_MODES)}")
        self.hand = hand
        self.tracking_mode = tracking_mode
        self.connect_timeout = connect_timeout
        self.frame_timeout = frame_timeout
        self.queue_size = queue_size
        self._running = False
        self._stack: contextlib.ExitStack | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Connect to the service and start streaming; DeviceError if that is impossible."""
        if self._running:
            return
        leap = import_binding()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=self.queue_size)
        self._error: DeviceError | None = None
        self._connected = threading.Event()
        self._stopped = threading.Event()
        self.device_seen_ = False
        self.dropped_frames_ = 0
        self.last_binding_error_: str | None = None
        stack = contextlib.ExitStack()
        try:
            conn = leap.Connection()
            conn.add_listener(_make_listener(leap, self))
            stack.enter_context(conn.open(timeout=self.connect_timeout))
            if not self._connected.wait(self.connect_timeout):
                raise DeviceError(self._no_service_message())
            conn.set_tracking_mode(getattr(leap.TrackingMode, TRACKING_MODES[self.tracking_mode]))
        except DeviceError:
            self._stopped.set()
            _close_quietly(stack)
            raise
        except Exception as exc:  # the binding raises LeapError subclasses (Timeout: no service)
            self._stopped.set()
            _close_quietly(stack)
            if "Timeout" in type(exc).__name__:
                raise DeviceError(self._no_service_message()) from exc
            raise DeviceError(f"cannot open the Leap Motion connection: "
                              f"{type(exc).__name__}: {exc}") from exc
        self._stack = stack
        self._running = True

    def _no_service_message(self) -> str:
        return (f"no connection to the Ultraleap hand-tracking service within "
                f"{self.connect_timeout:g} s: is the service installed and running?")

    def stop(self) -> None:
        """Close the connection (joins the binding's polling thread) and wake the consumer."""
        with self._lock:
            stack, self._stack = self._stack, None
            self._running = False
        if stack is None:
            return
        self._stopped.set()
        self._wake()
        _close_quietly(stack)

    # -- called on the binding's thread ---------------------------------------------------
    def _push(self, frame: Frame) -> None:
        if self._stopped.is_set():
            return
        while True:
            try:
                self._queue.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped_frames_ += 1
                except queue.Empty:
                    pass

    def _fail(self, message: str) -> None:
        if self._error is None:
            self._error = DeviceError(message)
        self._wake()

    def _wake(self) -> None:
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            pass  # the consumer checks the flags before every read anyway

    # -- consumer side --------------------------------------------------------------------
    def frames(self, timeout: float | None = None) -> Iterator[Frame]:
        """Yield live frames (tip None when no hand is in view) until ``stop()``.

        Raises DeviceError when the device is lost or nothing arrives for ``timeout`` seconds
        (default ``frame_timeout``).
        """
        if not hasattr(self, "_queue"):
            raise RuntimeError("LeapSource not started: call start() or use it in a with block")
        wait = self.frame_timeout if timeout is None else timeout
        while True:
            if self._error is not None:
                raise self._error
            if self._stopped.is_set():
                return
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                raise DeviceError(self._silence_message(wait)) from None
            if item is _STOP:
                continue  # loop back to the flag checks
            yield item

    def _silence_message(self, wait: float) -> str:
        msg = f"no tracking data from the Leap Motion for {wait:g} s: is the device plugged in?"
        if self.last_binding_error_:
            msg += f" (last binding error: {self.last_binding_error_})"
        return msg


def _close_quietly(stack: contextlib.ExitStack) -> None:
    """Close the connection; a failure while tearing down must not hide the real error."""
    with contextlib.suppress(Exception):
        stack.close()
