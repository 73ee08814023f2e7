"""Helpers shared by the store commands (enroll, login, identify, users, delete, replay)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from authapp.services import AuthService, Settings
from authapp.store import EnrollmentStore, default_store_path
from capture.formats import load_recording
from capture.trajectory import Trajectory


def add_store_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="DIR", default=None,
                   help="enrollment store directory (default: $AIRAUTH_STORE or "
                        "./enrollment_data)")


def open_service(args: argparse.Namespace, *, create: bool = False,
                 **changes: object) -> AuthService:
    """The service over ``--store`` (must exist unless ``create``): the store's settings with
    ``changes`` applied."""
    path = Path(args.store) if args.store else default_store_path()
    store = EnrollmentStore(path, create=create)
    return AuthService(store, replace(Settings.from_store(store), **changes))


def read_recording(path: str) -> Trajectory:
    """A recording file in any supported format (``RecordingFormatError`` if unreadable)."""
    return load_recording(path)
