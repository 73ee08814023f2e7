"""Helpers shared by the store commands (enroll, login, identify, users, delete, replay, ...)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when used: the CLI's start-up loads only what a command needs
    from authapp.service_results import VerifyResult
    from authapp.services import AuthService
    from authapp.services.actor import Actor
    from capture.trajectory import Trajectory


def add_store_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="DIR", default=None,
                   help="enrollment store directory (default: $AIRAUTH_STORE or "
                        "./enrollment_data)")


def store_path(args: argparse.Namespace) -> Path:
    """The store ``--store`` names, else the default (``$AIRAUTH_STORE`` or
    ``./enrollment_data``)."""
    from authapp.storage.layout import default_store_path

    return Path(args.store) if args.store else default_store_path()


def add_authority_arguments(p: argparse.ArgumentParser, action: str) -> None:
    """``--proof FILE FILE`` / ``--admin``: what an action on someone's account needs."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--proof", metavar="FILE", nargs="+",
                       help=f"two fresh recordings of the user that each pass their login "
                            f"and differ as genuine writings do, to {action} their own "
                            "account (each counts as a login attempt)")
    group.add_argument("--admin", action="store_true",
                       help=f"{action} as the store's administrator (recorded in the audit "
                            "log)")


def open_service(args: argparse.Namespace, *, create: bool = False,
                 flags: Mapping[str, str] | None = None) -> AuthService:
    """The service over ``--store`` (must exist unless ``create``): the store's settings with
    ``flags`` ({store setting name: the text given}, e.g. ``enroll --pseudo``) over them,
    each parsed and checked as ``authapp settings`` does, before a store is made."""
    from authapp.services import AuthService, Settings
    from authapp.settings_schema import parse
    from authapp.store import EnrollmentStore

    values = {name: parse(name, text) for name, text in (flags or {}).items()}
    store = EnrollmentStore(store_path(args), create=create)
    try:
        service = AuthService(store, Settings.from_store(store).with_values(values))
    except BaseException:
        store.close()
        raise
    opened = getattr(args, "on_open", None)  # the login service's hook (``authapp.resident``)
    if opened is not None:
        opened(service)
    return service


def forward_to_service(args: argparse.Namespace, command: str, fields: dict[str, object]
                       ) -> int | None:
    """Run ``command`` in the store's login service when one runs (``authapp serve``): its
    exit status, having printed its answer; None to run it here (no service, or this is the
    service running it). File arguments in ``fields`` are made absolute first."""
    if getattr(args, "served", False):
        return None
    import os

    from authapp import resident_wire

    out = {k: os.path.abspath(v) if k == "file" else v for k, v in fields.items()}
    out.update(verbose=bool(getattr(args, "verbose", False)),
               quiet=bool(getattr(args, "quiet", False)))
    return resident_wire.forward(command, out, store_path(args))


def open_local_service(args: argparse.Namespace) -> AuthService:
    """``open_service`` for a login or identification answered in this process: its template
    adaptation waits until the answer is out (``after_answer``). Inside the login service
    (``args.served``) the service queues it itself."""
    service = open_service(args)
    if not getattr(args, "served", False):
        service.deferred = []
    return service


def after_answer(args: argparse.Namespace, service: AuthService) -> None:
    """What a login or identification run in its own process does once its answer is
    printed: the template adaptation it queued, then, with the store setting
    ``login_service`` (on by default), start the store's login service in the background,
    so that the next ones answer from a warm process instead of paying the start-up
    again. Nothing inside the login service (it does its own work after answering)."""
    if getattr(args, "served", False):
        return
    import sys

    from authapp import resident_wire
    from authapp.services.adaptation import run_deferred

    sys.stdout.flush()  # the person waits for the answer, not for the refit
    run_deferred(service)
    if service.settings.login_service:
        resident_wire.start_service(store_path(args), service.settings.service_idle_s)


def read_recording(path: str) -> Trajectory:
    """A recording file in any supported format (``RecordingFormatError`` if unreadable)."""
    from capture.formats import load_recording

    return load_recording(path)


def actor(args: argparse.Namespace, user: str | None = None) -> Actor:
    """Who runs the command, as the service's ``Actor``: the administrator (``--admin``), else
    ``user`` with their ``--proof`` files (read before anything is recorded), if any. The
    service decides what they may do."""
    from authapp.services.actor import Actor

    if getattr(args, "admin", False):
        return Actor.admin()
    files = getattr(args, "proof", None)
    if isinstance(files, str):
        files = [files]
    return Actor.user(user, proof=[read_recording(f) for f in files] if files else None)


def verbose(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "verbose", False))


def score_lines(r: VerifyResult) -> list[str]:
    """A scored login's table (``service_results.score_rows``, as the GUI shows it) as
    aligned text lines; none for a login that was not scored (locked, replay)."""
    from authapp.service_results import score_rows

    rows = score_rows(r)
    if not rows:
        return []
    width = max(len(label) for label, _ in rows)
    lines = [f"  {label:<{width}}  {value:>9}" for label, value in rows[:3]]
    if rows[3:]:
        lines.append("the score is the sum of these parts (on the threshold's scale):")
        lines += [f"  {label:<{width}}  {value:>9}" for label, value in rows[3:]]
    return ["scores (higher = more genuine):"] + lines
