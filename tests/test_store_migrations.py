"""Frozen store migrations: what an older store upgrades to does not depend on live code.

``authapp.storage.migrations`` holds its own copies of what each schema version computed
(version-1 fingerprints, reading a stored recording, the keyed-checksum layout), so that a
later change to ``authapp.security``, ``authapp.storekey`` or the native recording reader
can never change the result of upgrading a store written by an earlier AirAuth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from storekit import check_consistent, fmkit, make_legacy_store

from authapp.store import SCHEMA_VERSION, EnrollmentStore


def _upgraded_fingerprints(root: Path) -> list[tuple[str, int, np.ndarray]]:
    with EnrollmentStore(root) as st:
        assert st.schema_version == SCHEMA_VERSION
        return [(f.ref, f.version, f.points) for f in st.fingerprints("luduo")]


def _break_live_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every live helper an older migration once called give other results or fail."""
    import authapp.security
    import authapp.storekey
    import capture.formats.native

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("a migration called live code")

    monkeypatch.setattr(authapp.security, "LEGACY_POINTS", 7)
    monkeypatch.setattr(authapp.security, "arc_length_resample",
                        lambda pts, n: np.zeros((n, np.shape(pts)[1])))
    monkeypatch.setattr(authapp.security, "legacy_fingerprint", boom)
    monkeypatch.setattr(authapp.storekey, "mac", boom)
    monkeypatch.setattr(capture.formats.native, "read_native", boom)


@pytest.mark.parametrize("version", [1, 2])
def test_upgrade_does_not_depend_on_live_code(tmp_path: Path, version: int,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The v2 back-fill (from a schema-1 store) and the v3 keyed checksums come out the same
    when the live fingerprint, MAC and recording code change or break; the upgraded store
    then verifies with the live code."""
    recs = list(fmkit("luduo")[:3])
    make_legacy_store(tmp_path / "plain", {"luduo": recs}, version=version)
    make_legacy_store(tmp_path / "patched", {"luduo": recs}, version=version)
    expected = _upgraded_fingerprints(tmp_path / "plain")

    with monkeypatch.context() as m:
        _break_live_code(m)
        with EnrollmentStore(tmp_path / "patched") as st:  # the upgrade itself
            assert st.schema_version == SCHEMA_VERSION
    got = _upgraded_fingerprints(tmp_path / "patched")  # checked with the live MACs

    assert [(ref, v) for ref, v, _ in got] == [(ref, v) for ref, v, _ in expected]
    assert [(ref, v) for ref, v, _ in got] == [
        (f"enrollment sample {i}", 1) for i in (1, 2, 3)]
    for (_, _, a), (_, _, b) in zip(got, expected):
        assert a.shape == (512, recs[0].positions.shape[1]) and a.dtype == np.float32
        assert np.array_equal(a, b)
    check_consistent(tmp_path / "patched", {"luduo"})


def test_frozen_v1_fingerprint_matches_what_replay_detection_compares() -> None:
    """Stored version-1 fingerprints are compared with ``authapp.security.legacy_fingerprint``
    of the login attempt, so the live function must keep computing what schema 2 stored (the
    frozen copy): otherwise a replay of an old enrollment sample would go unnoticed."""
    from authapp.security import legacy_fingerprint
    from authapp.storage.migrations import _v1_fingerprint

    for rec in fmkit("luduo")[:3]:
        assert np.array_equal(_v1_fingerprint(rec.positions), legacy_fingerprint(rec))


def test_migrations_import_no_live_code() -> None:
    """The migrations module imports only stable infrastructure (no scoring, key or
    recording code), so nothing it computes can follow a later change there."""
    import ast

    import authapp.storage.migrations as mig

    tree = ast.parse(Path(mig.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    project = {name for name in imported if name.split(".")[0] in ("authapp", "capture",
                                                                    "models")}
    assert project == {"authapp.storage.errors"}
