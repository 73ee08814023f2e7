"""Are two experiment runs the same, timings aside? (issue 25's "same scores" check)

    .venv/bin/python scripts/compare_runs.py BEFORE_OUT AFTER_OUT

Each argument is an ``authapp experiment --out`` folder (or a folder of such folders, compared
by name). Compares scores.csv row by row and its JSON header, and results.json, leaving out
only the wall and CPU times (``TIMING_KEYS``), which differ between any two runs. Prints one
line per run and every difference by its path; exits 1 when anything else differs.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from authapp.harness.scores import HEADER_PREFIX

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _readme_time import measured_time

TIMING_KEYS = frozenset({"fit_s", "score_s", "cpu_s", "wall_s", "generator_fit_s", "generate_s"})
"""Seconds measured while running: the only fields two identical runs may disagree on."""


def without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def differences(a: Any, b: Any, path: str = "") -> Iterator[str]:
    """Paths where ``a`` and ``b`` differ (NaN equals NaN: both runs wrote the same thing)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                yield f"{path}/{key}: only in {'after' if key in b else 'before'}"
            else:
                yield from differences(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from differences(x, y, f"{path}[{i}]")
    elif a != b and not (isinstance(a, float) and isinstance(b, float)
                         and math.isnan(a) and math.isnan(b)):
        yield f"{path}: {a!r} vs {b!r}"


def read_scores(path: Path) -> tuple[Any, list[list[str]]]:
    """(header JSON without timings, rows) of a scores.csv."""
    text = path.read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    header = json.loads(first.removeprefix(HEADER_PREFIX))
    return without_timings(header), list(csv.reader(io.StringIO(rest)))


def compare_run(before: Path, after: Path) -> list[str]:
    problems: list[str] = []
    head_a, rows_a = read_scores(before / "scores.csv")
    head_b, rows_b = read_scores(after / "scores.csv")
    problems += [f"scores.csv header{d}" for d in differences(head_a, head_b)]
    same_rows = sum(x == y for x, y in zip(rows_a, rows_b, strict=False))
    if len(rows_a) != len(rows_b) or same_rows != len(rows_a):
        problems.append(f"scores.csv rows: {same_rows} of {len(rows_a)} / {len(rows_b)} identical")
    res_a = without_timings(json.loads((before / "results.json").read_text(encoding="utf-8")))
    res_b = without_timings(json.loads((after / "results.json").read_text(encoding="utf-8")))
    result_diffs = [f"results.json{d}" for d in differences(res_a, res_b)]
    data_rows = max(len(rows_a) - 1, 0)  # the column names are the first row
    verdict = "differs" if result_diffs else "identical"
    print(f"{after.name}: {max(same_rows - 1, 0)} of {data_rows} score rows identical; "
          f"results.json {verdict} (timings left out)")
    return problems + result_diffs


def runs(folder: Path) -> dict[str, Path]:
    if (folder / "scores.csv").exists():
        return {folder.name: folder}
    return {p.name: p for p in sorted(folder.iterdir()) if (p / "scores.csv").exists()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog=measured_time(__file__))
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args(argv)
    a, b = runs(args.before), runs(args.after)
    if len(a) == 1 and len(b) == 1:
        pairs = [(next(iter(a.values())), next(iter(b.values())))]
    else:
        pairs = [(a[name], b[name]) for name in sorted(set(a) & set(b))]
        for name in sorted(set(a) ^ set(b)):
            print(f"{name}: only in {'after' if name in b else 'before'}")
    if not pairs:
        print("no run to compare (no scores.csv found)", file=sys.stderr)
        return 2
    problems = [p for before, after in pairs for p in compare_run(before, after)]
    for p in problems[:50]:
        print("  differs:", p)
    if len(problems) > 50:
        print(f"  ... and {len(problems) - 50} more")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
