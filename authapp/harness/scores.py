"""scores.csv: the hand-off between scoring and evaluation, written and read back exactly.

One row per (identity, method variant, seed, attempt) with its type, score, decision value
and threshold (floats written with ``repr``, so they read back bit for bit). A first line
``# airauth-scores {json}`` carries what the rows cannot: each account's thresholds at every
security level, references, samples left out, refused enrollments and timings, the run's
folds, and the parts of results.json that describe the run. From this file alone
``authapp evaluate`` re-derives results.json and the report, as ``bob bio metrics`` does from
a score file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from authapp.harness.evaluation import ExperimentResult, ScoreFacts
from authapp.harness.protocol import ExperimentError
from authapp.harness.results import Results
from authapp.harness.runner import Trial
from authapp.textsafe import printable
from core.files import atomic_write

SCORE_COLUMNS = ("identity", "attempt_file", "type", "method", "seed", "score", "accepted",
                 "decision", "threshold", "attempt_identity")
FORMAT = "airauth-scores"
VERSION = 1
HEADER_PREFIX = "# "
MAX_HEADER_BYTES = 64 << 20


class ScoreFileError(ExperimentError):
    """A file that is not a readable scores.csv of this version."""


def facts_of(result: ExperimentResult) -> ScoreFacts:
    """The run facts evaluation needs, from the result (or its results)."""
    if result.facts is not None:
        return result.facts
    res = result.results
    has_skilled = any(by_kind.skilled for by_kind in res.scored.methods.values())
    return ScoreFacts(list(result.variants), dict(res.protocol.fold_of),
                      bool(has_skilled), res.calibration.calibrated)


def _trial_meta(t: Trial) -> dict[str, Any]:
    return {"method": t.method, "seed": t.seed, "fold": t.fold, "threshold": t.threshold,
            "level_thresholds": t.level_thresholds,
            "calibration_thresholds": t.calibration_thresholds, "security": t.security,
            "reference_files": t.reference_files,
            "left_out": t.left_out, "refused": t.refused, "fit_s": t.fit_s,
            "score_s": t.score_s, "cpu_s": t.cpu_s, "cohort_people": t.cohort_people,
            "sessions": list(t.sessions), "adapted": t.adapted}


def write_scores(result: ExperimentResult, path: Path) -> None:
    """scores.csv of ``result`` (header line + one row per attempt), atomically."""
    facts = facts_of(result)
    run = result.results.run_part() if result.results is not None else {}
    header = {"format": FORMAT, "version": VERSION,
              "facts": {"variants": facts.variants, "fold_of": facts.fold_of,
                        "has_forgeries": facts.has_forgeries, "calibrated": facts.calibrated},
              "trials": {ident: [_trial_meta(t) for t in ts]
                         for ident, ts in result.trials.items()},
              "run": run}
    fh = io.StringIO(newline="")
    fh.write(HEADER_PREFIX + json.dumps(header, allow_nan=True) + "\n")
    w = csv.writer(fh)
    w.writerow(SCORE_COLUMNS)
    for ident, trials in result.trials.items():
        for t in trials:
            for k in range(t.scores.size):
                w.writerow((printable(ident), printable(t.attempt_files[k]), t.types[k],
                            printable(t.method), t.seed, repr(float(t.scores[k])),
                            int(t.decisions[k] >= 0), repr(float(t.decisions[k])),
                            repr(float(t.threshold)), printable(t.attempt_identities[k])))
    atomic_write(path, fh.getvalue())


def _header(first: str, path: Path) -> dict[str, Any]:
    if not first.startswith(HEADER_PREFIX):
        raise ScoreFileError(f"{path} has no airauth-scores header line: not a scores.csv "
                             "written by this version of authapp experiment")
    try:
        header = json.loads(first[len(HEADER_PREFIX):])
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ScoreFileError(f"{path}: the header line is corrupt ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ScoreFileError(f"{path} is not an airauth scores file")
    if header.get("version") != VERSION:
        raise ScoreFileError(f"{path}: scores format version {header.get('version')!r} is "
                             f"not supported (expected {VERSION})")
    return header


def read_scores(path: Path) -> ExperimentResult:
    """The result a scores.csv describes: its trials, facts and run description (the
    figures are left for ``authapp.harness.evaluation.evaluate``)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            first = fh.readline(MAX_HEADER_BYTES)
            header = _header(first, path)
            reader = csv.reader(fh)
            if tuple(next(reader, ())) != SCORE_COLUMNS:
                raise ScoreFileError(f"{path}: unexpected columns (expected "
                                     f"{', '.join(SCORE_COLUMNS)})")
            rows: dict[tuple[str, str, int], list[dict[str, str]]] = {}
            for fields in reader:
                if len(fields) != len(SCORE_COLUMNS):
                    raise ScoreFileError(f"{path}: line {reader.line_num} has {len(fields)} "
                                         f"fields, expected {len(SCORE_COLUMNS)}")
                row = dict(zip(SCORE_COLUMNS, fields))
                rows.setdefault((row["identity"], row["method"], int(row["seed"])),
                                []).append(row)
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        if isinstance(exc, ScoreFileError):
            raise
        raise ScoreFileError(f"{path} cannot be read as scores.csv ({exc})") from None
    try:
        cal = (header.get("run") or {}).get("calibration") or {}
        trials = {ident: [_trial(ident, _with_calibration(m, cal),
                                 rows.get((ident, m["method"], int(m["seed"])), []))
                          for m in metas] for ident, metas in header["trials"].items()}
        f = header["facts"]
        facts = ScoreFacts(list(f["variants"]), {k: int(v) for k, v in f["fold_of"].items()},
                           bool(f["has_forgeries"]), bool(f["calibrated"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ScoreFileError(f"{path}: the header is incomplete ({exc})") from None
    try:
        run = Results.from_dict(header.get("run") or {})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ScoreFileError(f"{path}: the header's run description is incomplete "
                             f"({exc})") from None
    return ExperimentResult(run, trials, facts.variants, facts)


def _with_calibration(meta: Mapping[str, Any], cal: Mapping[str, Any]) -> Mapping[str, Any]:
    """A trial's meta with the calibration's level thresholds and the level: score files
    written before trials carried them have them in the run's calibration section."""
    if "calibration_thresholds" in meta or not meta.get("level_thresholds"):
        return meta
    used = ((cal.get("variants") or {}).get(meta["method"]) or {}).get(str(meta["fold"])) or {}
    return {**meta, "calibration_thresholds": used.get("thresholds") or {},
            "security": cal.get("security")}


def _trial(ident: str, meta: Mapping[str, Any], rows: list[dict[str, str]]) -> Trial:
    scores = np.array([float(r["score"]) for r in rows])
    return Trial(
        method=meta["method"], seed=int(meta["seed"]),
        attempt_files=[r["attempt_file"] for r in rows],
        attempt_identities=[r["attempt_identity"] for r in rows],
        types=np.array([r["type"] for r in rows], dtype=str if rows else "<U1"),
        scores=scores, threshold=float(meta["threshold"]),
        decisions=np.array([float(r["decision"]) for r in rows]), fit_s=float(meta["fit_s"]),
        score_s=float(meta["score_s"]), cpu_s=float(meta["cpu_s"]),
        reference_files=list(meta["reference_files"]), fold=int(meta["fold"]),
        cohort_people=int(meta.get("cohort_people", 0)), left_out=list(meta["left_out"]),
        refused=meta["refused"],
        level_thresholds={k: float(v) for k, v in (meta["level_thresholds"] or {}).items()},
        sessions=[str(x) for x in meta.get("sessions") or []], adapted=meta.get("adapted"),
        calibration_thresholds={k: float(v) for k, v
                                in (meta.get("calibration_thresholds") or {}).items()},
        security=meta.get("security"))
