"""How ``authapp login`` / ``identify`` reach the login service (``authapp serve``), if it runs.

A login process spends most of its time starting: Python, numpy, numba's compiled code, the
replay checks' prepared samples (``authapp.resident``). The login service is one long-running
process per store that keeps all of that loaded, like fprintd for fingerprints; the command
then only forwards its arguments over a Unix socket in the store folder and prints the
answer. Without a service (or with one that does not answer) the command runs in its own
process exactly as before: the service is an accelerator, never a requirement.

Kept import-light (no numpy): it runs at every login's start. Trust goes both ways only to
the same user: the socket file is the store's (mode 0600, in the store's 0700 folder) and
each side checks the other's uid (``SO_PEERCRED``), so nobody else can answer a login or ask
for one.

Messages: a 4-byte big-endian length, then UTF-8 JSON (``MAX_MESSAGE`` bytes at most).
Request ``{"protocol": 1, "command": "login" | "identify", "args": {...}}``; answer
``{"exit": int, "stdout": str, "stderr": str}``: what the command would have printed.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import struct
import sys
from pathlib import Path
from typing import Any

from core.errors import AirAuthError

log = logging.getLogger(__name__)

PROTOCOL = 1
SOCKET_NAME = "service.sock"
MAX_MESSAGE = 1 << 20
CONNECT_TIMEOUT_S = 1.0
"""How long a command waits for the service to take its connection before running itself."""
ANSWER_TIMEOUT_S = 600.0
"""How long a command waits for the answer once the service has its request."""
MAX_SOCKET_PATH = 108
"""Bytes a Unix socket's path may take on Linux (``sun_path``, with its final NUL)."""
COMMANDS = ("login", "identify")
"""What the service answers: the commands a person waits for."""
NO_SERVICE_ENV = "AIRAUTH_NO_SERVICE"
"""Set (to anything but empty) to run every command in its own process."""
NO_START_ENV = "AIRAUTH_NO_SERVICE_START"
"""Set (to anything but empty) so that no command starts a login service by itself (a
running one is still used): test suites, benchmarks timing a login in its own process."""


class ServiceLost(AirAuthError, ConnectionError):
    """The service took the request but no answer came (it stopped or broke the protocol)."""


def socket_path(store: Path) -> Path:
    """Where a store's login service listens."""
    return Path(store) / SOCKET_NAME


def _peer_credentials(sock: socket.socket) -> tuple[int, int, int] | None:
    """(pid, uid, gid) of the process at the other end of a Unix socket, None where the
    platform does not tell (``SO_PEERCRED``)."""
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, opt, struct.calcsize("3i"))
    return struct.unpack("3i", creds)


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket (None where unknown)."""
    creds = _peer_credentials(sock)
    return None if creds is None else creds[1]


def peer_pid(sock: socket.socket) -> int | None:
    """The pid of the process at the other end of a Unix socket (None where unknown): which
    process a store's service is, for whoever must stop it."""
    creds = _peer_credentials(sock)
    return None if creds is None else creds[0]


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, allow_nan=False).encode("utf-8")
    if len(data) > MAX_MESSAGE:
        raise ValueError(f"message of {len(data)} bytes, at most {MAX_MESSAGE}")
    sock.sendall(struct.pack(">I", len(data)) + data)


def receive(sock: socket.socket) -> dict[str, Any]:
    """One message; ``ConnectionError`` / ``ValueError`` when the other side breaks off or
    sends something else."""
    (size,) = struct.unpack(">I", _exactly(sock, 4))
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes, at most {MAX_MESSAGE}")
    message = json.loads(_exactly(sock, size).decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("a message is a JSON object")  # noqa: TRY004 (a protocol error)
    return message


def _exactly(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 65536))
        if not chunk:
            raise ConnectionError("connection closed mid-message")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def connect(store: Path, timeout: float = CONNECT_TIMEOUT_S) -> socket.socket | None:
    """A connection to ``store``'s login service, or None when none runs (or it is not
    this user's, or its socket file is not the store's own kind of file)."""
    path = socket_path(store)
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.getuid():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
        uid = peer_uid(sock)
        if uid is not None and uid != os.getuid():
            sock.close()
            return None
    except OSError:
        sock.close()
        return None
    return sock


def forward(command: str, args: dict[str, Any], store: Path) -> int | None:
    """Run ``command`` in the store's login service and print what it printed; its exit
    status, or None when no service answers (the caller runs the command itself).

    A service that took the request and then broke off raises ``ServiceLost``: the attempt
    may have been recorded, so it is not silently repeated here.
    """
    if os.environ.get(NO_SERVICE_ENV) or command not in COMMANDS:
        return None
    sock = connect(store)
    if sock is None:
        return None
    with sock:
        try:
            send(sock, {"protocol": PROTOCOL, "command": command, "args": args})
        except OSError:
            return None  # not taken: nothing happened there
        sock.settimeout(ANSWER_TIMEOUT_S)
        try:
            answer = receive(sock)
            status, out, err = answer["exit"], answer["stdout"], answer["stderr"]
            if not (isinstance(status, int) and isinstance(out, str) and isinstance(err, str)):
                raise ValueError("malformed answer")  # noqa: TRY004 (a protocol error)
        except (OSError, ValueError, KeyError) as exc:
            raise ServiceLost(f"the login service of {store} stopped answering ({exc}); "
                              "if the attempt was recorded, write it again") from exc
    sys.stdout.write(out)
    sys.stderr.write(err)
    return status


def start_service(store: Path, idle_exit_s: float) -> bool:
    """Start ``authapp serve`` for ``store`` in the background (its own session, no
    terminal, stopping after ``idle_exit_s`` without a request), for the logins that come
    next; whether it was started. A service that finds another already running stops at
    once, so two logins that both start one leave one. Not with ``NO_SERVICE_ENV`` or
    ``NO_START_ENV`` set; a failure to start is logged, never an error: the login it
    follows has been answered."""
    if os.environ.get(NO_SERVICE_ENV) or os.environ.get(NO_START_ENV):
        return False
    store = Path(store).resolve()
    if len(os.fsencode(socket_path(store))) >= MAX_SOCKET_PATH:
        log.info("no login service for %s: its socket path is too long for a Unix socket",
                 store)
        return False  # it could not listen: every login would start one in vain
    import subprocess  # (only here: this module is imported at every login's start)

    command = [sys.executable, "-m", "authapp.cli", "serve", "--store", str(store),
               "--idle-exit", repr(float(idle_exit_s))]
    try:
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    except OSError as exc:
        log.warning("could not start the login service of %s: %s", store, exc)
        return False
    return True
