"""How long a script takes, as README measured it: the one helper every script's ``--help``
uses (``scripts/usage.sh --time`` reads README's table, so no script states a time itself).

A module, not a script: scripts import it (``from _readme_time import measured_time``)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def measured_time(script: str) -> str:
    """``"Time: ..."`` for ``script`` (its ``__file__``), from README via ``usage.sh``."""
    path = Path(script)
    usage = path.with_name("usage.sh")
    proc = subprocess.run(["bash", str(usage), "--time", path.name],
                          capture_output=True, text=True, check=False)
    return "Time: " + (proc.stdout.strip() or "see README.md")
