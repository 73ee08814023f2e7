"""The login service (``authapp serve``): one warm process that answers a store's logins.

A login run as its own process spends about 2-3 s before and after the decision: starting
Python, numba's compiled code, preparing the user's samples for the derived-replay check,
and (for a confident login) refitting the model with the login added (template adaptation,
which imports scikit-learn). The decision itself takes a few hundred ms. This process keeps
everything loaded (imports, compiled code, the prepared samples of ``authapp.guard``, the
identification index) and:

* runs each forwarded ``login`` / ``identify`` (``authapp.resident_wire``) through the very
  command code a process would run (``authapp.cli._run``: same checks, records, audit,
  messages and exit status), one request at a time, so parallel logins are decided one after
  the other exactly as the store's locks order them between processes;
* answers as soon as the decision is recorded, then adapts the account
  (``services.adaptation.adapt_later``, under the user's lock again) and prepares the new
  samples for the next login, while nobody waits;
* re-reads the store's settings for every request (an administrator's change applies to the
  next login) and opens the store afresh each time, so it never decides on stale state.

Only the store's owner can talk to it (``resident_wire``: socket mode 0600 and the peer's
uid checked on both sides). ``SIGTERM`` / ``SIGINT`` stop it and remove its socket.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import logging
import os
import selectors
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from authapp import resident_wire
from authapp.resident_wire import COMMANDS, PROTOCOL, peer_uid, receive, send, socket_path
from authapp.store import EnrollmentStore
from core.errors import AirAuthError

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 5.0
"""How long a connection may take to send its request (one slow client must not hold the
others up for longer)."""
SOCKET_CHECK_S = 5.0
"""How often an idle service checks that its socket file is still there."""
WARM_USERS = 16
"""Users whose samples are prepared at start (the most recently updated; the size of
``authapp.guard``'s cache of prepared samples)."""
_FIELDS: dict[str, dict[str, type]] = {
    "login": {"user": str, "file": str, "verbose": bool, "quiet": bool},
    "identify": {"file": str, "top": int, "verbose": bool, "quiet": bool},
}


def _prepare_samples(store: EnrollmentStore, name: str) -> None:
    """Prepare ``name``'s stored samples for the derived-replay check as the store has them
    now (``authapp.guard``'s cache), so that their next login does not wait for it."""
    from authapp import guard

    if store.has_user(name):
        guard.stored_samples(store, store.get_user(name))


class ServiceError(AirAuthError, RuntimeError):
    """The login service cannot start (another one runs, the socket path is taken)."""


class BadRequest(ValueError):
    """A request that is not one of the two the service answers, well formed."""


def parse_request(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(command, its arguments) of a request, every field checked (``BadRequest``)."""
    if message.get("protocol") != PROTOCOL:
        raise BadRequest(f"protocol {message.get('protocol')!r}, this service speaks "
                         f"{PROTOCOL}")
    command, args = message.get("command"), message.get("args")
    if command not in COMMANDS or not isinstance(args, dict):
        raise BadRequest(f"unknown request {command!r}")
    fields = _FIELDS[command]
    if set(args) != set(fields):
        raise BadRequest(f"{command} takes {sorted(fields)}, got {sorted(args)}")
    for key, kind in fields.items():
        value = args[key]
        if type(value) is not kind or (kind is str and (not value or "\0" in value)):
            raise BadRequest(f"{command}: {key} must be a non-empty {kind.__name__}")
    if command == "identify" and args["top"] < 1:
        raise BadRequest("identify: top must be at least 1")
    if not os.path.isabs(args["file"]):
        raise BadRequest(f"{command}: file must be an absolute path")
    return command, args


class LoginService:
    """Serve ``store``'s logins until stopped (or ``idle_exit_s`` without a request)."""

    def __init__(self, store: Path, idle_exit_s: float | None = None) -> None:
        self.store = Path(store).resolve()
        self.idle_exit_s = idle_exit_s
        self._stop = False
        self._inode = -1

    # -- start and stop ----------------------------------------------------------------------
    def serve(self, ready: Callable[[Path], None] | None = None) -> None:
        """Listen, answer until stopped (``stop``, a signal in the main thread, or
        ``idle_exit_s``), warming up between requests; ``ready(socket path)`` once warm.

        The warm-up runs a step at a time whenever no request waits, so a login that comes
        while the service is still warming up (the retry right after the login that started
        it) is answered at once, never after the whole warm-up."""
        EnrollmentStore(self.store).close()  # a store, readable: StoreError otherwise
        with self._listening() as server:
            main = threading.current_thread() is threading.main_thread()
            previous = {s: signal.signal(s, self._on_signal)
                        for s in (signal.SIGTERM, signal.SIGINT)} if main else {}
            try:
                self._loop(server, self._warm_steps(), ready)
            finally:
                for s, handler in previous.items():
                    signal.signal(s, handler)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop after the request being answered (from a signal handler or another thread)."""
        self._stop = True

    @contextlib.contextmanager
    def _listening(self) -> Iterator[socket.socket]:
        path = socket_path(self.store)
        if os.path.lexists(path):
            existing = resident_wire.connect(self.store)
            if existing is not None:
                existing.close()
                raise ServiceError(f"a login service already runs for {self.store}")
            if not path.is_socket() or path.is_symlink():
                raise ServiceError(f"{path} exists and is not a socket: remove it")
            path.unlink()  # left by a service that was killed
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mask = os.umask(0o177)  # created 0600: the owner's alone
        try:
            server.bind(str(path))
        except OSError as exc:
            server.close()
            raise ServiceError(f"cannot listen on {path}: {exc.strerror or exc}") from exc
        finally:
            os.umask(mask)
        ours = self._inode = path.stat().st_ino
        try:
            server.listen(16)
            yield server
        finally:
            server.close()
            with contextlib.suppress(OSError):
                if path.stat().st_ino == ours:
                    path.unlink()

    def _warm_steps(self) -> Iterator[Callable[[], None]]:
        """The warm-up, one short step at a time: the compiled code (by using it once),
        scikit-learn (adaptation's refit), then the prepared samples of recent users, one
        user per step (a failing step is logged and ends the warm-up)."""
        yield self._warm_code
        yield self._warm_refit
        with EnrollmentStore(self.store) as store:
            users = sorted(store.users(), key=lambda u: u.updated, reverse=True)
        for info in users[:WARM_USERS]:
            yield lambda info=info: self._prepare(info)

    @staticmethod
    def _warm_refit() -> None:
        for name in ("sklearn.base", "sklearn.svm", "sklearn.linear_model"):
            importlib.import_module(name)  # template adaptation's refit

    @staticmethod
    def _warm_code() -> None:
        import numpy as np

        from authapp import security
        from authapp.services import AuthService
        from capture.trajectory import Trajectory

        importlib.import_module("authapp.replay_derived")
        t = np.linspace(0.0, 1.0, 64)
        shape = np.column_stack([np.cos(6 * t), np.sin(4 * t), t]) * 40.0
        security.aligned_residual(security.fingerprint(Trajectory(t, shape)),
                                  security.fingerprint(Trajectory(t, shape * 1.1)))
        AuthService.check_recording(Trajectory(t, shape))

    def _prepare(self, info: Any) -> None:
        with EnrollmentStore(self.store) as store:
            try:
                _prepare_samples(store, info.name)
            except Exception:  # a damaged account is refused at its login
                log.warning("could not prepare %r's samples", info.name, exc_info=True)

    # -- requests ----------------------------------------------------------------------------
    def _loop(self, server: socket.socket, warming: Iterator[Callable[[], None]],
              ready: Callable[[Path], None] | None) -> None:
        last = checked = time.monotonic()
        pending: Iterator[Callable[[], None]] | None = warming
        with selectors.DefaultSelector() as sel:
            sel.register(server, selectors.EVENT_READ)
            while not self._stop:
                if sel.select(timeout=0 if pending is not None else 0.2):
                    conn, _ = server.accept()
                    with conn:
                        self.handle(conn)
                    last = time.monotonic()
                elif pending is not None:  # nobody waits: one more step of the warm-up
                    try:
                        step = next(pending, None)
                        if step is not None:
                            step()
                    except Exception:  # a login does it again, or fails with a reason
                        log.warning("login service: a warm-up step failed", exc_info=True)
                        step = None  # (the generator is done once it raised)
                    if step is None:
                        pending = None
                        if ready is not None:
                            ready(socket_path(self.store))
                    last = time.monotonic()
                elif self.idle_exit_s and time.monotonic() - last > self.idle_exit_s:
                    log.info("login service idle for %.0f s: stopping", self.idle_exit_s)
                    return
                if time.monotonic() - checked > SOCKET_CHECK_S:
                    checked = time.monotonic()
                    if not self._still_listed():
                        log.info("login service: its socket is gone (store moved or "
                                 "removed): stopping")
                        return

    def _still_listed(self) -> bool:
        """Whether the store's socket file is still this service's: nobody can reach a
        service whose socket was removed (with its store, say), so it has nothing to do."""
        try:
            return socket_path(self.store).lstat().st_ino == self._inode
        except OSError:
            return False

    def handle(self, conn: socket.socket) -> None:
        """One connection: check who asks, run the request, answer, then do the work that
        can wait (adaptation, preparing the adapted samples)."""
        uid = peer_uid(conn)
        if uid is not None and uid != os.getuid():
            log.warning("login service: refused a connection from uid %d", uid)
            return
        conn.settimeout(REQUEST_TIMEOUT_S)
        try:
            command, args = parse_request(receive(conn))
        except BadRequest as exc:
            self._answer(conn, {"exit": 2, "stdout": "",
                                "stderr": f"authapp: error: login service: {exc}\n"})
            return
        except (OSError, ValueError) as exc:
            log.warning("login service: unreadable request (%s)", exc)
            return
        services: list[Any] = []
        answer = self.run(command, args, services)
        self._answer(conn, answer)
        self._after(command, args, services)

    def run(self, command: str, fields: dict[str, Any], services: list[Any]) -> dict[str, Any]:
        """Run a checked request through the command's own code; what it printed and its
        exit status (``services``: the services it opened, with their queued work)."""
        from authapp import cli
        from authapp.commands import module_name

        module = importlib.import_module(module_name(command))

        def opened(service: Any) -> None:
            service.deferred = []
            services.append(service)

        args = argparse.Namespace(command=command, store=str(self.store), served=True,
                                  on_open=opened, func=module.run, **fields)
        out, err = io.StringIO(), io.StringIO()
        with (contextlib.redirect_stdout(out), contextlib.redirect_stderr(err),
              cli.stderr_logging(cli.log_level(args))):
            status = cli._run(args, None, args.verbose)
        return {"exit": status, "stdout": out.getvalue(), "stderr": err.getvalue()}

    @staticmethod
    def _answer(conn: socket.socket, answer: dict[str, Any]) -> None:
        try:
            send(conn, answer)
        except OSError as exc:  # the command gave up waiting: the attempt stands
            log.warning("login service: could not answer (%s)", exc)

    def _after(self, command: str, fields: dict[str, Any], services: list[Any]) -> None:
        from authapp.services.adaptation import run_deferred

        for service in services:
            try:
                run_deferred(service)
                if command == "login":
                    _prepare_samples(service.store, fields["user"])
            except Exception:  # the answer stands; the next login redoes it
                log.exception("login service: work after the answer failed")
            finally:
                service.store.close()
