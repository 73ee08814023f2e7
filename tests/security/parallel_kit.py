"""Child side of the parallel-login tests, run in a forkserver that imported (and warmed up)
AirAuth once, so that each of many login processes starts in milliseconds, not seconds."""

from __future__ import annotations

import numpy as np

from authapp.security import aligned_residual
from authapp.services import AuthService
from authapp.store import EnrollmentStore
from capture.formats import load_recording

_X = np.cumsum(np.ones((64, 3)), axis=0) + np.sin(np.arange(64))[:, None]
aligned_residual(_X, _X * 1.1)  # compiled code loaded once, in the server


def login(store_dir: str, user: str, file: str, barrier, results) -> None:
    """One login, started when every sibling is ready (``barrier``); the outcome goes to
    ``results``."""
    rec = load_recording(file)
    svc = AuthService(EnrollmentStore(store_dir, create=False))
    barrier.wait(timeout=120)
    results.put(svc.verify(user, rec).outcome)
