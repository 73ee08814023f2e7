"""A run's finished identities on disk, written as they finish, so ``--resume`` continues a
killed experiment without redoing them.

One file per identity (``<digest>.npz``: the npz + JSON container of ``capture.container``,
written atomically) holds that identity's trials exactly, the member score matrices of
calibrated models included (the calibration pass needs them, and scores.csv does not keep
them); ``run.json`` holds the key of the run (data set fingerprint and every setting that
changes a score), so a resumed run never mixes scores of two different runs. Floats are
stored as float64 arrays, so a resumed run's scores.csv equals an uninterrupted one's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from authapp.harness.data import ExperimentError
from authapp.harness.protocol import Plan
from authapp.harness.runner import Trial
from capture.container import json_default, pack_npz, unpack_npz
from core.files import atomic_write

log = logging.getLogger(__name__)

FORMAT = "airauth-checkpoint"
VERSION = 1
RUN_FILE = "run.json"
ARRAYS = ("scores", "decisions", "raw", "cohort_raw", "forgery_raw")
EXECUTION_ONLY = ("jobs", "cluster")
"""Settings that change how a run is executed, not what it computes: a run may be resumed
with other values."""


class CheckpointError(ExperimentError):
    """A checkpoint folder that does not belong to this run, or cannot be read."""


def run_key(plan: Plan) -> str:
    """A digest of everything that decides the scores: the data set's fingerprint, the
    settings (less ``EXECUTION_ONLY`` ones and weight-cache folders) and the identities."""
    cfg = {k: v for k, v in dataclasses.asdict(plan.config).items()
           if k not in EXECUTION_ONLY}
    cfg["generator_params"] = {g: {k: v for k, v in p.items() if k != "cache_dir"}
                               for g, p in cfg["generator_params"].items()}
    what = {"config": cfg, "data": plan.jobs[0].fingerprint if plan.jobs else None,
            "identities": list(plan.eligible), "fold_of": dict(plan.fold_of)}
    text = json.dumps(what, sort_keys=True, default=json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_name(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32] + ".npz"


def _trial_header(t: Trial) -> dict[str, Any]:
    return {"method": t.method, "seed": t.seed, "attempt_files": t.attempt_files,
            "attempt_identities": t.attempt_identities, "types": [str(x) for x in t.types],
            "threshold": t.threshold, "fit_s": t.fit_s, "score_s": t.score_s,
            "cpu_s": t.cpu_s, "reference_files": t.reference_files, "fold": t.fold,
            "cohort_people": t.cohort_people, "left_out": t.left_out, "refused": t.refused,
            "level_thresholds": t.level_thresholds}


def _trial(header: dict[str, Any], arrays: dict[str, np.ndarray], k: int) -> Trial:
    got = {name: arrays.get(f"{k}.{name}") for name in ARRAYS}
    types = header["types"]
    return Trial(
        method=header["method"], seed=int(header["seed"]),
        attempt_files=list(header["attempt_files"]),
        attempt_identities=list(header["attempt_identities"]),
        types=np.array(types, dtype=str) if types else np.zeros(0, dtype=str),
        scores=got["scores"], threshold=float(header["threshold"]),
        decisions=got["decisions"], fit_s=float(header["fit_s"]),
        score_s=float(header["score_s"]), cpu_s=float(header["cpu_s"]),
        reference_files=list(header["reference_files"]), fold=int(header["fold"]),
        raw=got["raw"], cohort_raw=got["cohort_raw"], forgery_raw=got["forgery_raw"],
        cohort_people=int(header["cohort_people"]), left_out=list(header["left_out"]),
        refused=header["refused"],
        level_thresholds={k: float(v) for k, v in header["level_thresholds"].items()})


class Checkpoint:
    """The checkpoint folder of one run: ``start`` it (fresh or resuming), ``save`` each
    identity as it finishes, ``finish`` (remove it) once the results are written."""

    def __init__(self, folder: str | Path, resume: bool = False) -> None:
        self.folder = Path(folder)
        self.resume = resume
        self.key: str | None = None

    def start(self, plan: Plan) -> dict[str, tuple[list[Trial], dict[str, float]]]:
        """The identities already finished (``resume``; else none, and an old checkpoint in
        the folder is cleared). Raises ``CheckpointError`` when resuming a different run."""
        key = self.key = run_key(plan)
        run_file = self.folder / RUN_FILE
        if not self.resume:
            if run_file.exists():
                log.warning("starting afresh: the unfinished run in %s is discarded (--resume "
                            "continues it)", self.folder)
                shutil.rmtree(self.folder)
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(run_file, json.dumps({"format": FORMAT, "version": VERSION,
                                               "key": key}))
            return {}
        if not run_file.exists():
            raise CheckpointError(f"--resume: no unfinished run in {self.folder} (a finished "
                                  "run removes its checkpoint; run without --resume)")
        try:
            stored = json.loads(run_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"--resume: {run_file} is unreadable ({exc})") from None
        if not isinstance(stored, dict) or stored.get("format") != FORMAT or \
                stored.get("version") != VERSION:
            raise CheckpointError(f"--resume: {run_file} is not a checkpoint of this version")
        if stored.get("key") != key:
            raise CheckpointError(
                f"--resume: the unfinished run in {self.folder} used other data or settings; "
                "resume it with the same command line, or run without --resume to start afresh")
        wanted = {_file_name(ident): ident for ident in plan.eligible}
        done: dict[str, tuple[list[Trial], dict[str, float]]] = {}
        for path in sorted(self.folder.glob("*.npz")):
            ident = wanted.get(path.name)
            if ident is None:
                continue
            header, arrays = unpack_npz(path, "experiment checkpoint", CheckpointError)
            if header.get("key") != key or header.get("identity") != ident:
                raise CheckpointError(f"--resume: {path} belongs to another run")
            trials = [_trial(h, arrays, k) for k, h in enumerate(header["trials"])]
            done[ident] = (trials, {k: float(v) for k, v in header["gen_s"].items()})
        log.info("resuming: %d of %d identities already done", len(done), len(plan.eligible))
        return done

    def save(self, identity: str, trials: list[Trial], gen_s: dict[str, float]) -> None:
        """Record one finished identity (atomically: a kill leaves it whole or absent)."""
        if self.key is None:
            raise RuntimeError("Checkpoint.save before start")
        header = {"format": FORMAT, "version": VERSION, "key": self.key,
                  "identity": identity, "gen_s": gen_s,
                  "trials": [_trial_header(t) for t in trials]}
        arrays = {f"{k}.{name}": np.asarray(getattr(t, name), dtype=np.float64)
                  for k, t in enumerate(trials) for name in ARRAYS
                  if getattr(t, name) is not None}
        atomic_write(self.folder / _file_name(identity), pack_npz(header, arrays))

    def finish(self) -> None:
        """Remove the checkpoint (the run's results are written)."""
        shutil.rmtree(self.folder, ignore_errors=True)
