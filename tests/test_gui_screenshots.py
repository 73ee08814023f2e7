"""scripts/make_screenshots.py, which re-makes README's GUI screenshots, still works: it
drives the real window over real recordings and writes legible PNGs (the Experiments screen,
a minute of computing, is left out here; tests/test_gui_experiments.py covers that tab)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import PIL.Image

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_screenshots.py"


def test_screenshot_script_writes_every_screen(qtbot, shared_data, tmp_path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("make_screenshots", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(tmp_path), "--no-experiment", "--data", str(shared_data)]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == ["draw.png", "enroll.png", "login.png", "users.png"]
    for name in names:
        image = np.asarray(PIL.Image.open(tmp_path / name).convert("RGB"))
        assert image.shape[1] == module.WIDTH and image.shape[0] > 400, name
        assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20, name  # painted, not blank
    assert "wrote" in capsys.readouterr().out
