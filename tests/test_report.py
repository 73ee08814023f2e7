"""The report: files, table, HTML content, and a headless-Chromium screenshot of report.html."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from authapp.harness import report
from authapp.harness.experiment import ExperimentResult, Trial, summarize_result
from authapp.harness.figures import Figures, MethodTiming, PseudoEffect
from authapp.harness.results import (
    CalibrationInfo,
    Description,
    Protocol,
    PseudoSetup,
    Results,
    SkippedIdentity,
    Timing,
)

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]


def synthetic_result() -> ExperimentResult:
    """Two methods, three users, two seeds, random and skilled impostors; known separations."""
    rng = np.random.default_rng(0)
    trials: dict[str, list[Trial]] = {}
    for u in range(3):
        ident = f"user{u}"
        trials[ident] = []
        for seed in (0, 1):
            for name, gap in (("good", 4.0), ("weak", 1.0)):
                types = np.array(["genuine"] * 10 + ["random"] * 40 + ["skilled"] * 10)
                centre = np.select([types == "genuine", types == "random"], [gap, -2 * gap],
                                   -gap / 2)
                dec = rng.normal(centre, 1.0)
                files = [f"{ident}/{k}.csv" for k in range(types.size)]
                trials[ident].append(Trial(name, seed, files, [ident] * types.size, types,
                                           dec + 1.0, 1.0, dec, 0.01, 0.02, 0.03, ["r1", "r2"]))
    result = ExperimentResult(None, trials, ["good", "weak"])
    methods, per_user, per_seed = summarize_result(result, has_forgeries=True)
    result.results = Results(
        description=Description(
            dataset="synthetic", data_dir="/nowhere/synthetic", format="native",
            references=5, seeds=(0, 1), security=None,
            protocol=Protocol(folds=2, folds_chosen="given", fold_seed=0,
                              fold_of={"user0": 0, "user1": 1, "user2": 0},
                              scheme="synthetic scores, no folds", background_for={},
                              split="random", references=None, adaptation="off",
                              thresholds=None, eer=None),
            pseudo=PseudoSetup(mode="off", generators=()), method_params={},
            skipped=(SkippedIdentity(identity="tiny", genuine_samples=2,
                                     reason="2 genuine samples"),),
            skipped_files=(), versions={}),
        figures=Figures(operating_point={}, identification={}, methods=methods,
                        per_user=per_user, per_seed_eer=per_seed,
                        pseudo_effect=PseudoEffect(compared="", interval="", changes={}),
                        identities=tuple(trials), reference_files={}),
        timing=Timing(wall_s=1.5, jobs=1, cluster=None, generator_fit_s={}, generate_s={},
                      per_method={n: MethodTiming(fit_s=0.1, score_s=0.2)
                                  for n in ("good", "weak")}),
        calibration=CalibrationInfo(source="none"))
    return result


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = synthetic_result()
    return out, report.write_report(result, out), result


def test_files_and_json(written):
    _, paths, _ = written
    for kind in ("results", "scores", "roc", "det", "histograms", "html"):
        assert paths[kind].is_file() and paths[kind].stat().st_size > 0, kind
    res = json.loads(paths["results"].read_text())
    assert res["methods"]["good"]["random"]["eer"] < res["methods"]["weak"]["random"]["eer"]
    assert res["methods"]["good"]["skilled"]["n_impostor"] == 3 * 2 * 10
    lines = paths["scores"].read_text().splitlines()
    assert len(lines) == 2 + 3 * 2 * 2 * 60  # the header line, the column names, the rows
    for png in ("roc", "det", "histograms"):
        assert paths[png].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compact_table_fits_100_columns(written):
    _, _, result = written
    text = report.format_operating_table(result.results)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0].split()[:4] == ["method", "FRR", "%", "FAR"]
    good = result.results.scored.methods["good"].random
    assert f"{100 * good.eer:.2f} [" in lines[2]


def test_terminal_table(written):
    _, _, result = written
    text = report.format_table(result.results)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["method", "impostors", "EER", "%"]
    assert len(lines) == 2 + 4  # header, rule, 2 methods x 2 impostor types
    good = result.results.scored.methods["good"].random
    assert f"{100 * good.eer:.2f}" in lines[2]


def test_html_content(written):
    _, paths, result = written
    page = paths["html"].read_text()
    assert page.startswith("<!DOCTYPE html>")
    # the plots are inside the page: report.html alone can be mailed
    import base64

    for name in ("det.png", "roc.png", "histograms.png"):
        inline = base64.b64encode((paths["html"].parent / name).read_bytes()).decode()
        assert f'src="data:image/png;base64,{inline}"' in page, name
    assert 'src="det.png"' not in page
    for internal in ("decision_function", "eer_ci", "issue"):
        assert internal not in page.replace(str(paths["html"].parent), ""), internal
    assert "synthetic scores, no folds" in page and "tiny" in page
    assert "<h2>Background / cohort</h2>" in page and "split into 2 disjoint folds" in page
    assert "With and without pseudo data" not in page  # no pseudo variants in this run
    # per-user rows in natural order
    assert page.index("<td class=\"l\">user0</td>") < page.index("<td class=\"l\">user2</td>")
    weak = result.results.scored.methods["weak"].skilled
    assert f"<td class=\"\">{100 * weak.eer:.2f}</td>" in page


def _screenshot(html: Path, png: Path, tmp: Path, size: str = "1280,2600") -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_chromium.sh (as root) to "
                    "install headless Chromium for the report check")
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}",
           f"--screenshot={png}", f"--window-size={size}", html.resolve().as_uri()]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert png.is_file(), f"chromium wrote no screenshot (rc {proc.returncode}): {proc.stderr}"


def test_report_renders_in_headless_chromium(written, tmp_path):
    _, paths, _ = written
    png = tmp_path / "shot.png"
    _screenshot(paths["html"], png, tmp_path)
    import matplotlib.image

    img = (matplotlib.image.imread(png)[..., :3] * 255).round().astype(np.int32)
    h, w, _ = img.shape
    assert (h, w) == (2600, 1280)
    colours = np.unique(img.reshape(-1, 3) @ np.array([65536, 256, 1]))
    assert colours.size > 500, "screenshot has too few colours: blank or unstyled page"
    # the results table near the top is drawn: its header background (#e8eef5) and dark text
    top = img[: h // 6]
    assert np.any(np.all(top == [0xE8, 0xEE, 0xF5], axis=-1)), "table header not rendered"
    assert np.mean(top.sum(axis=-1) < 200) > 0.002, "no text in the table area"
    # the embedded plots are shown: matplotlib's tab:blue and tab:orange
    # curves appear somewhere on the page
    for rgb in ((31, 119, 180), (255, 127, 14)):
        near = np.all(np.abs(img - np.array(rgb)) <= 6, axis=-1)
        assert near.sum() > 200, f"plot colour {rgb} missing: images not shown"


def test_install_script_exists_and_is_idempotent():
    script = REPO / "scripts" / "install_chromium.sh"
    text = script.read_text()
    assert "scripts/apt_install.sh" in text and " chromium " in text  # apt, only if missing
    if CHROMIUM.exists() and shutil.which("bash"):
        proc = subprocess.run(["bash", str(script)], check=False, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0 and "already installed" in proc.stdout
