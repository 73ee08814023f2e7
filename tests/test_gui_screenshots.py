"""README's GUI screenshots are current: scripts/make_screenshots.py drives the real window
over real recordings, and the window's structure on each screen (widget classes and their
fixed words, recorded next to the pictures in docs/screenshots/fingerprint.json) must be what
the committed pictures were made from. Pixels differ between machines and fonts; the
structure does not. When this fails, re-make them:

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/make_screenshots.py

(The Experiments screen's minute of computing is left out here: its structure is compared as
the tab stands before a run; tests/test_gui_experiments.py covers the run.)"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import scriptkit

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "make_screenshots.py"
SHOTS = REPO / "docs" / "screenshots"
REMAKE = "re-make them: QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/make_screenshots.py"


def load_script():
    return scriptkit.load_script(SCRIPT)


def test_committed_screenshots_are_those_the_fingerprint_describes() -> None:
    record = json.loads((SHOTS / "fingerprint.json").read_text())
    width, height = (int(v) for v in record["size"].split("x"))
    pictures = sorted(p.stem for p in SHOTS.glob("*.png"))
    assert pictures == sorted(record["screens"]), f"pictures and fingerprints differ: {REMAKE}"
    for name, shot in record["screens"].items():
        png = SHOTS / f"{name}.png"
        assert hashlib.sha256(png.read_bytes()).hexdigest() == shot["sha256"], (
            f"{png.name} is not the picture fingerprint.json was made with: {REMAKE}")
        image = np.asarray(PIL.Image.open(png).convert("RGB"))
        assert image.shape[:2] == (height, width), png.name
    readme = (REPO / "README.md").read_text()
    assert all(f"docs/screenshots/{name}.png" in readme for name in record["screens"])


@pytest.mark.slow  # about a minute: enrolls and logs in through the real window
def test_screenshots_match_the_gui_as_it_is(qtbot, shared_data, tmp_path, capsys) -> None:
    module = load_script()
    record = json.loads((SHOTS / "fingerprint.json").read_text())
    assert module.main([str(tmp_path), "--no-experiment", "--data", str(shared_data),
                        "--size", record["size"]]) == 0
    assert "wrote" in capsys.readouterr().out
    now = json.loads((tmp_path / "fingerprint.json").read_text())
    assert sorted(now["screens"]) == sorted(record["screens"])
    for name, shot in record["screens"].items():
        then, current = shot["structure"], now["screens"][name]["structure"]
        diff = "\n".join(difflib.unified_diff(then, current, "committed", "now", lineterm="",
                                              n=1))
        assert then == current, f"the GUI's {name!r} screen changed; {REMAKE}\n{diff}"
    for png in tmp_path.glob("*.png"):  # painted pictures at the window's size
        image = np.asarray(PIL.Image.open(png).convert("RGB"))
        assert image.shape[1] == int(record["size"].split("x")[0]), png.name
        assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20, png.name
    text = "\n".join(line for shot in now["screens"].values() for line in shot["structure"])
    assert "/tmp" not in text and str(Path.home()) not in text  # no machine's paths
