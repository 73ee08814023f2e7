"""The login service (``authapp serve``): same answers as a login process, and safe to talk to.

Attacks written first: a crafted request (wrong protocol, unknown command, extra fields, a
relative path, garbage, an oversized length), a socket file someone else owns, a service
that takes the request and dies, a second service on the same store, a stale socket, logins
raced at the service, and an administrator's settings change while it runs.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from authapp import resident_wire
from authapp.cli import main
from authapp.resident import LoginService, ServiceError, parse_request
from authapp.store import EnrollmentStore

REPO = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory, fmkit_dir: Path) -> Path:
    """A store with luduo enrolled with the product defaults (made once, copied per test)."""
    store = tmp_path_factory.mktemp("service") / "store"
    files = [str(fmkit_dir / f"luduo_luduo_{i:02d}.txt") for i in range(1, 6)]
    assert main(["enroll", "luduo", *files, "--store", str(store)]) == 0
    assert main(["settings", "max_failures", "0", "--store", str(store)]) == 0
    return store


@pytest.fixture()
def store(enrolled: Path, tmp_path: Path) -> Path:
    out = tmp_path / "store"
    shutil.copytree(enrolled, out)
    return out


@pytest.fixture()
def serving(store: Path) -> Iterator[LoginService]:
    """The login service of ``store`` in a thread of this process."""
    service = LoginService(store)
    ready = threading.Event()
    failed: list[BaseException] = []

    def target() -> None:
        try:
            service.serve(lambda _: ready.set())
        except BaseException as exc:  # noqa: BLE001 - reported by the test, not lost in a thread
            failed.append(exc)
            ready.set()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    assert ready.wait(120) and not failed, failed
    yield service
    service.stop()
    thread.join(30)
    assert not thread.is_alive() and not failed


def luduo(fmkit_dir: Path, i: int, writer: str = "luduo") -> str:
    return str(fmkit_dir / f"luduo_{writer}_{i:02d}.txt")


def attempts(store: Path) -> list[tuple[str, str]]:
    """The account's login attempts (not the "reset" rows a refit writes)."""
    with EnrollmentStore(store) as s:
        return [(a.user_key, a.outcome) for a in s.attempts("luduo") if a.outcome != "reset"]


def raw_request(store: Path, payload: bytes) -> dict | None:
    """Send ``payload`` as one framed message (or as is, when it is not JSON) and read the
    answer (None if the service closed the connection without one)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(resident_wire.socket_path(store)))
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        try:
            return resident_wire.receive(sock)
        except (ConnectionError, ValueError):
            return None


def framed(message: object) -> bytes:
    data = json.dumps(message).encode()
    return struct.pack(">I", len(data)) + data


# -- same answers as a process ------------------------------------------------------------------
def test_answers_exactly_as_the_command_in_its_own_process(
        enrolled: Path, store: Path, serving: LoginService, tmp_path: Path,
        fmkit_dir: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = tmp_path / "alone"
    shutil.copytree(enrolled, alone)
    cases = [("login", "luduo", luduo(fmkit_dir, 6)),        # accepted
             ("login", "luduo", luduo(fmkit_dir, 6)),        # the same recording: a replay
             ("login", "luduo", luduo(fmkit_dir, 7, "jisuanji")),  # someone else's writing
             ("login", "nobody", luduo(fmkit_dir, 8)),       # unknown user: an error
             ("login", "luduo", str(tmp_path / "missing.txt")),
             ("identify", luduo(fmkit_dir, 9)),
             ("identify", str(fmkit_dir / "fmcode_fmcode_01.txt"))]
    served, own = [], []
    for case in cases:
        served.append(run(capsys, *case, "--store", str(store)))
        monkeypatch.setenv(resident_wire.NO_SERVICE_ENV, "1")
        own.append(run(capsys, *case, "--store", str(alone)))
        monkeypatch.delenv(resident_wire.NO_SERVICE_ENV)
    for s, o in zip(served, own):
        assert s[0] == o[0]
        assert s[1].replace(str(store), "S").split("at 20")[0] == \
            o[1].replace(str(alone), "S").split("at 20")[0]
        assert s[2].replace(str(store), "S") == o[2].replace(str(alone), "S")
    assert [c for c, _, _ in served] == [0, 1, 1, 2, 2, 0, 1]
    assert attempts(store) == attempts(alone)  # recorded alike (no second record)


def test_the_command_uses_the_service_when_it_runs(store: Path, serving: LoginService,
                                                   fmkit_dir: Path,
                                                   capsys: pytest.CaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict] = []
    real = LoginService.run

    def spy(self: LoginService, command: str, fields: dict, services: list) -> dict:
        seen.append(fields)
        return real(self, command, fields, services)

    monkeypatch.setattr(LoginService, "run", spy)
    monkeypatch.chdir(fmkit_dir)  # a relative file name is made absolute for the service
    code, out, _ = run(capsys, "login", "luduo", "luduo_luduo_06.txt", "--store", str(store))
    assert code == 0 and out.startswith("accepted")
    assert seen == [{"user": "luduo", "file": luduo(fmkit_dir, 6), "verbose": False,
                     "quiet": False}]


def test_adapts_after_answering_and_prepares_the_next_login(
        store: Path, serving: LoginService, fmkit_dir: Path,
        capsys: pytest.CaptureFixture) -> None:
    from authapp import guard

    code, _, _ = run(capsys, "login", "luduo", luduo(fmkit_dir, 6), "--store", str(store))
    assert code == 0
    code, out, _ = run(capsys, "adaptation", "luduo", "--store", str(store))
    deadline = time.monotonic() + 120  # the answer came first; the refit follows it
    while "1 adapted" not in out and time.monotonic() < deadline:
        time.sleep(0.2)
        code, out, _ = run(capsys, "adaptation", "luduo", "--store", str(store))
    assert "1 adapted from logins" in out
    with EnrollmentStore(store) as s:
        info = s.get_user("luduo")
        audit = [e.event for e in s.audit_log("luduo") if e.event == "adapt"]
        deadline = time.monotonic() + 60
        key = (str(s.path), info.key, info.model_id, info.model_sha256, info.n_recordings)
        while key not in guard._STORED_SETS and time.monotonic() < deadline:
            time.sleep(0.1)
    assert audit == ["adapt"]
    assert key in guard._STORED_SETS  # the adapted account's samples, prepared meanwhile


def test_queued_adaptation_is_dropped_when_the_account_changed(
        store: Path, fmkit_dir: Path) -> None:
    from authapp.services import AuthService, adaptation
    from authapp.services.actor import Actor
    from capture.formats import load_recording

    with EnrollmentStore(store) as s:
        service = AuthService(s)
        service.deferred = []
        result = service.verify("luduo", load_recording(luduo(fmkit_dir, 6)))
        assert result.accepted and not result.adapted and len(service.deferred) == 1
        recs = [load_recording(luduo(fmkit_dir, i)) for i in range(1, 6)]
        AuthService(s).enroll("luduo", recs, re_enroll=True, actor=Actor.admin())
        before = s.get_user("luduo").model_id
        service.deferred[0]()  # the account was re-enrolled since: nothing happens
        assert s.get_user("luduo").model_id == before
        assert adaptation.split_recordings(s.get_user("luduo"),
                                           s.load_recordings("luduo"))[1] == []


# -- attacks -------------------------------------------------------------------------------------
@pytest.mark.parametrize("payload", [
    framed({"protocol": 2, "command": "login", "args": {}}),
    framed({"protocol": 1, "command": "enroll", "args": {"user": "x", "file": "/x"}}),
    framed({"protocol": 1, "command": "login",
            "args": {"user": "luduo", "file": "/x", "verbose": False, "quiet": False,
                     "store": "/elsewhere"}}),
    framed({"protocol": 1, "command": "login",
            "args": {"user": "luduo", "file": "relative.txt", "verbose": False,
                     "quiet": False}}),
    framed({"protocol": 1, "command": "login",
            "args": {"user": 7, "file": "/x", "verbose": False, "quiet": False}}),
    framed({"protocol": 1, "command": "identify",
            "args": {"file": "/x", "top": 0, "verbose": False, "quiet": False}}),
    framed([1, 2, 3]),
    struct.pack(">I", 10) + b"not json!!",
    struct.pack(">I", resident_wire.MAX_MESSAGE + 1) + b"x" * 64,
    b"\x00\x00",
])
def test_crafted_requests_are_refused_and_the_service_goes_on(
        store: Path, serving: LoginService, fmkit_dir: Path, payload: bytes,
        capsys: pytest.CaptureFixture) -> None:
    answer = raw_request(store, payload)
    assert answer is None or (answer["exit"] == 2 and "login service" in answer["stderr"])
    assert attempts(store) == []  # nothing was decided or recorded
    code, out, _ = run(capsys, "login", "luduo", luduo(fmkit_dir, 6), "--store", str(store))
    assert code == 0 and out.startswith("accepted")


def test_parse_request_takes_exactly_the_two_commands() -> None:
    ok = {"protocol": 1, "command": "identify",
          "args": {"file": "/a", "top": 3, "verbose": True, "quiet": False}}
    assert parse_request(ok) == ("identify", ok["args"])
    with pytest.raises(ValueError, match="verbose"):
        parse_request({**ok, "args": {**ok["args"], "verbose": 1}})  # an int is not a bool


def test_socket_is_the_owners_alone(store: Path, serving: LoginService) -> None:
    mode = resident_wire.socket_path(store).lstat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_a_socket_of_another_user_is_not_trusted(store: Path, serving: LoginService,
                                                 fmkit_dir: Path,
                                                 capsys: pytest.CaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone else's service (or socket file) must not answer this user's login: the
    command runs the login itself."""
    someone_else = os.getuid() + 4242
    monkeypatch.setattr(resident_wire.os, "getuid", lambda: someone_else)
    assert resident_wire.connect(store) is None
    called: list[str] = []
    monkeypatch.setattr(LoginService, "run", lambda *a: called.append("x"))
    code, out, _ = run(capsys, "login", "luduo", luduo(fmkit_dir, 6), "--store", str(store))
    assert code == 0 and out.startswith("accepted") and called == []


def test_a_service_that_dies_mid_request_is_an_error_not_a_second_attempt(
        store: Path, fmkit_dir: Path, capsys: pytest.CaptureFixture) -> None:
    path = resident_wire.socket_path(store)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def take_and_die() -> None:
        conn, _ = server.accept()
        resident_wire.receive(conn)
        conn.close()

    thread = threading.Thread(target=take_and_die, daemon=True)
    thread.start()
    try:
        code, _, err = run(capsys, "login", "luduo", luduo(fmkit_dir, 6), "--store",
                           str(store))
    finally:
        thread.join(10)
        server.close()
    assert code == 2 and "stopped answering" in err and "write it again" in err
    assert attempts(store) == []  # this process did not log in a second time


def test_one_service_per_store_and_a_stale_socket_is_replaced(store: Path) -> None:
    first = LoginService(store)
    ready = threading.Event()
    thread = threading.Thread(target=first.serve, args=(lambda _: ready.set(),), daemon=True)
    thread.start()
    assert ready.wait(120)
    try:
        with pytest.raises(ServiceError, match="already runs"):
            LoginService(store).serve()
    finally:
        first.stop()
        thread.join(30)
    path = resident_wire.socket_path(store)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # what a killed service leaves: a socket nobody listens on
    stale.close()
    assert resident_wire.connect(store) is None
    second = LoginService(store, idle_exit_s=0.5)
    second.serve()  # takes the stale socket over, then stops when idle
    assert not path.exists()  # and removes its own socket
    path.write_text("not a socket")
    with pytest.raises(ServiceError, match="not a socket"):
        LoginService(store).serve()


def test_logins_raced_at_the_service_pass_one_at_a_time(store: Path, serving: LoginService,
                                                        fmkit_dir: Path) -> None:
    """Eight copies of one stolen recording sent at once: exactly one can log in."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "authapp.cli", "login", "luduo", luduo(fmkit_dir, 6),
           "--store", str(store)]
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: subprocess.run(
            cmd, env=env, capture_output=True, check=False, timeout=300).returncode,
            range(8)))
    assert sorted(codes) == [0] + [1] * 7
    assert sorted(o for _, o in attempts(store)) == ["accept"] + ["replay"] * 7


def test_a_settings_change_applies_to_the_next_login(store: Path, serving: LoginService,
                                                     fmkit_dir: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    assert run(capsys, "settings", "max_failures", "1", "--store", str(store))[0] == 0
    code, _, _ = run(capsys, "login", "luduo", luduo(fmkit_dir, 7, "jisuanji"), "--store",
                     str(store))
    assert code == 1
    code, out, _ = run(capsys, "login", "luduo", luduo(fmkit_dir, 6), "--store", str(store))
    assert code == 1 and "locked" in out


def test_serve_command_end_to_end(store: Path, fmkit_dir: Path) -> None:
    """``authapp serve`` as its own process, a login process that uses it, SIGTERM."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "authapp.cli"]
    server = subprocess.Popen([*cli, "serve", "--store", str(store)], env=env,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in server.stderr.readline()
        done = subprocess.run([*cli, "login", "luduo", luduo(fmkit_dir, 6), "--store",
                               str(store)], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        assert done.returncode == 0 and done.stdout.startswith("accepted")
    finally:
        server.terminate()
        server.wait(60)
    assert server.returncode == 0
    assert not resident_wire.socket_path(store).exists()


def test_a_silent_connection_holds_the_service_up_only_briefly(
        store: Path, serving: LoginService, fmkit_dir: Path,
        capsys: pytest.CaptureFixture) -> None:
    """A client that connects and never sends (one request at a time: it must not stall
    everyone's logins for longer than ``REQUEST_TIMEOUT_S``)."""
    from authapp.resident import REQUEST_TIMEOUT_S

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(str(resident_wire.socket_path(store)))
        time.sleep(0.3)  # taken by the service first
        t0 = time.monotonic()
        code, out, _ = run(capsys, "login", "luduo", luduo(fmkit_dir, 6), "--store",
                           str(store))
        waited = time.monotonic() - t0
    assert code == 0 and out.startswith("accepted")
    assert waited < REQUEST_TIMEOUT_S + 60  # the timeout, then the login itself


def test_a_file_that_is_not_a_recording_is_refused_by_the_service(
        store: Path, serving: LoginService, fmkit_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    """A FIFO (which would block whoever opens it) and a symlink to a device, forwarded to
    the service: an error for that request, and the service answers the next one."""
    fifo = tmp_path / "attempt.txt"
    os.mkfifo(fifo)
    link = tmp_path / "zero.txt"
    link.symlink_to("/dev/zero")
    for bad in (fifo, link):
        code, _, err = run(capsys, "login", "luduo", str(bad), "--store", str(store))
        assert code == 2 and "not a file" in err
    assert attempts(store) == []
    code, out, _ = run(capsys, "login", "luduo", luduo(fmkit_dir, 6), "--store", str(store))
    assert code == 0 and out.startswith("accepted")


# -- a login in its own process starts the service (store setting login_service) -----------------
def _peer_pid(store: Path) -> int | None:
    """The pid of the process listening on the store's socket (``SO_PEERCRED``), if any."""
    sock = resident_wire.connect(store)
    if sock is None:
        return None
    with sock:
        return resident_wire.peer_pid(sock)


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie nobody reaped counts: it runs no more)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_login_answers_before_its_adaptation_then_starts_the_service(
        store: Path, fmkit_dir: Path, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from authapp.services import adaptation

    started: list[tuple[Path, float]] = []
    monkeypatch.setattr(resident_wire, "start_service",
                        lambda store, idle: started.append((Path(store), idle)) or True)
    printed_before_refit: list[str] = []
    real = adaptation.maybe_adapt

    def spy(*a: object, **kw: object) -> bool:
        printed_before_refit.append(capsys.readouterr().out)
        return real(*a, **kw)

    monkeypatch.setattr(adaptation, "maybe_adapt", spy)
    code, _, _ = run(capsys, "login", "luduo", luduo(fmkit_dir, 6), "--store", str(store))
    assert code == 0
    assert printed_before_refit and printed_before_refit[0].startswith("accepted")
    with EnrollmentStore(store) as s:  # adapted all the same, before the command returned
        assert [e.event for e in s.audit_log("luduo") if e.event == "adapt"] == ["adapt"]
    assert started == [(store, 1800.0)]

    assert main(["settings", "service_idle_s", "60", "--store", str(store)]) == 0
    run(capsys, "identify", luduo(fmkit_dir, 7), "--store", str(store))
    assert started[-1] == (store, 60.0)
    assert main(["settings", "login_service", "off", "--store", str(store)]) == 0
    run(capsys, "login", "luduo", luduo(fmkit_dir, 8), "--store", str(store))
    run(capsys, "identify", luduo(fmkit_dir, 9), "--store", str(store))
    assert len(started) == 2  # switched off: no more starts


def test_a_forwarded_login_starts_nothing(store: Path, serving: LoginService, fmkit_dir: Path,
                                          capsys: pytest.CaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[object] = []
    monkeypatch.setattr(resident_wire, "start_service", lambda *a: started.append(a))
    code, _, _ = run(capsys, "login", "luduo", luduo(fmkit_dir, 6), "--store", str(store))
    assert code == 0 and started == []


def test_a_login_process_starts_a_service_that_answers_the_next_login_and_stops(
        store: Path, fmkit_dir: Path, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: the first login runs as its own process and leaves a service behind; the
    service answers the next login; a second start on the store does not add one; the
    service stops when its store moves away (its socket with it)."""
    env = {k: v for k, v in os.environ.items() if k not in (
        resident_wire.NO_START_ENV, resident_wire.NO_SERVICE_ENV)}
    env["PYTHONPATH"] = str(REPO)
    cli = [sys.executable, "-m", "authapp.cli"]

    def login(i: int) -> subprocess.CompletedProcess:
        return subprocess.run([*cli, "login", "luduo", luduo(fmkit_dir, i), "--store",
                               str(store)], env=env, capture_output=True, text=True,
                              timeout=300, check=False)

    first = login(6)
    assert first.returncode == 0 and first.stdout.startswith("accepted"), first.stderr
    deadline = time.monotonic() + 120
    pid = _peer_pid(store)
    while pid is None and time.monotonic() < deadline:
        time.sleep(0.2)
        pid = _peer_pid(store)
    assert pid is not None and pid != os.getpid()
    try:
        monkeypatch.delenv(resident_wire.NO_SERVICE_ENV, raising=False)
        capsys.readouterr()
        status = resident_wire.forward("login", {"user": "luduo", "file": luduo(fmkit_dir, 7),
                                                 "verbose": False, "quiet": False}, store)
        assert status == 0 and capsys.readouterr().out.startswith("accepted")
        third = login(8)  # answered by the service too; it starts no second one
        assert third.returncode == 0 and third.stdout.startswith("accepted")
        time.sleep(1.0)
        assert _peer_pid(store) == pid
        with EnrollmentStore(store) as s:
            assert [a.outcome for a in s.attempts("luduo")
                    if a.outcome != "reset"].count("accept") == 3
        store.rename(store.with_name("moved"))  # (the service may still be adapting)
        deadline = time.monotonic() + 60
        while not _gone(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _gone(pid)
    finally:
        if not _gone(pid):
            os.kill(pid, 15)


def test_a_login_during_the_warm_up_is_answered_before_the_warm_up_ends(
        store: Path, fmkit_dir: Path, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry right after the login that started the service must not wait for the
    whole warm-up (compiled code, scikit-learn, 16 users' samples): it runs between steps."""
    done: list[int] = []

    def slow_steps(self: LoginService) -> Iterator:
        for k in range(20):
            yield lambda k=k: (time.sleep(0.25), done.append(k))

    monkeypatch.setattr(LoginService, "_warm_steps", slow_steps)
    service = LoginService(store)
    ready = threading.Event()
    thread = threading.Thread(target=service.serve, args=(lambda _: ready.set(),), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while resident_wire.connect(store) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        code, out, _ = run(capsys, "login", "luduo", luduo(fmkit_dir, 6), "--store", str(store))
        assert code == 0 and out.startswith("accepted")
        answered_after = len(done)
        assert answered_after < 20 and not ready.is_set()  # answered mid-warm-up
        assert ready.wait(60) and done == list(range(20))  # and the warm-up went on
    finally:
        service.stop()
        thread.join(30)


def test_no_service_is_started_where_it_could_not_listen(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """A store so deep that its socket path does not fit a Unix socket: starting a service
    there would fail at every login, so none is started (and nothing is spawned)."""
    monkeypatch.delenv(resident_wire.NO_START_ENV, raising=False)
    monkeypatch.delenv(resident_wire.NO_SERVICE_ENV, raising=False)
    spawned: list[object] = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: spawned.append(a))
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    assert not resident_wire.start_service(deep, 60.0) and spawned == []
    assert resident_wire.start_service(tmp_path / "s", 60.0) and len(spawned) == 1
    assert spawned[0][0][-4:] == ["--store", str((tmp_path / "s").resolve()), "--idle-exit",
                                  "60.0"]
