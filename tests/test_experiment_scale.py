"""Experiments at scale (issue 24): on a Dask cluster (``--cluster local:2``) and resumed
after a kill (``--resume``) give the same scores.csv as one uninterrupted local run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from authapp.cli import main
from authapp.harness import runner
from authapp.harness.checkpoint import Checkpoint
from authapp.harness.cluster import parse_cluster
from core.errors import AirAuthError

ROOT = Path(__file__).resolve().parents[1]
TIMING_KEYS = ("fit_s", "score_s", "cpu_s")
USERS = 8


@pytest.fixture(scope="module")
def small_dir(shared_data, tmp_path_factory):
    """SVC2004 Task1 recordings of 8 users (7 genuine + 2 skilled forgeries each) in the
    native format: a real, small data set."""
    from capture.formats import load_recording, save_recording

    root = tmp_path_factory.mktemp("small")
    for u in range(1, USERS + 1):
        (root / f"person{u}").mkdir()
        for k, n in enumerate([*range(1, 8), 21, 22]):
            traj = load_recording(shared_data / "svc2004_task1" / f"U{u}S{n}.TXT")
            save_recording(traj, root / f"person{u}" / f"rec{k:02d}.npz")
    return root


def _args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["experiment", str(data), "--format", "native", "--references", "3", "--seeds",
            "2", "--folds", "1", "--methods", "dtw", "--calibration", "none", "--out",
            str(out), "--no-progress", *extra]


def scores_without_timings(path: Path) -> tuple[dict, list[str]]:
    """scores.csv's header (wall and per-trial timings removed: they are measurements, never
    equal between two runs) and its rows, exactly."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0][2:])
    for trials in header["trials"].values():
        for t in trials:
            for k in TIMING_KEYS:
                t.pop(k)
    header["run"].pop("timing", None)
    return header, lines[1:]


@pytest.fixture(scope="module")
def local_run(small_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    assert main(_args(small_dir, out)) == 0
    return scores_without_timings(out / "scores.csv")


@pytest.mark.slow
def test_cluster_gives_the_local_scores(small_dir, local_run, tmp_path, capsys):
    assert main(_args(small_dir, tmp_path, "--cluster", "local:2")) == 0
    assert "--cluster local:2" in capsys.readouterr().out
    header, rows = scores_without_timings(tmp_path / "scores.csv")
    assert rows == local_run[1] and len(rows) > 100
    assert header == local_run[0]
    assert not (tmp_path / "checkpoint").exists()  # removed once the results are written


@pytest.mark.slow
def test_killed_run_resumes_without_redoing_identities(small_dir, local_run, tmp_path,
                                                        monkeypatch):
    ckpt = tmp_path / "checkpoint"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "authapp.cli", *_args(small_dir, tmp_path)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    try:
        while len(list(ckpt.glob("*.npz"))) < USERS // 2:
            assert proc.poll() is None, "the run ended before it could be killed half way"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    done = len(list(ckpt.glob("*.npz")))
    assert USERS // 2 <= done < USERS and not (tmp_path / "scores.csv").exists()
    ran: list[str] = []
    real = runner.evaluate_identity
    monkeypatch.setattr(runner, "evaluate_identity",
                        lambda job: ran.append(job.identity) or real(job))
    assert main(_args(small_dir, tmp_path, "--resume")) == 0
    assert len(ran) == USERS - done  # the finished identities were not run again
    header, rows = scores_without_timings(tmp_path / "scores.csv")
    assert rows == local_run[1]
    assert header == local_run[0]


def test_resume_refuses_another_run(small_dir, tmp_path, capsys):
    assert main(_args(small_dir, tmp_path, "--resume")) == 2  # nothing to resume
    assert "no unfinished run" in capsys.readouterr().err
    ckpt = Checkpoint(tmp_path / "checkpoint")
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "run.json").write_text(json.dumps(
        {"format": "airauth-checkpoint", "version": 1, "key": "0" * 64}))
    assert main(_args(small_dir, tmp_path, "--resume")) == 2
    assert "other data or settings" in capsys.readouterr().err
    assert ckpt.folder.exists()  # nothing destroyed


def test_cluster_addresses(tmp_path):
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://10.0.0.1:8786") == ("tcp://10.0.0.1:8786", None)
    for bad in ("local:0", "local:x", " "):
        with pytest.raises(AirAuthError):
            parse_cluster(bad)
    with pytest.raises(RuntimeError):  # a checkpoint is started (keyed) before it is saved to
        Checkpoint(tmp_path).save("a", [], {})
