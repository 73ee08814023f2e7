"""Everything an experiment writes: results.json, scores.csv, ROC/DET/histogram plots, an
HTML report and the terminal table.

Plots use matplotlib's Agg backend (no display needed) and label rates in percent as the field
does; the DET plot uses normal-deviate (probit) axes. report.html embeds the plots, so the page
alone can be mailed; the PNGs are written beside it too.

The first table is the operating point -- what users get at the product's own thresholds --
and the EER (one ideal global offset, chosen after the fact) comes next to it, not first.
"""

from __future__ import annotations

import base64
import string
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from authapp.harness.evaluation import ExperimentResult
from authapp.harness.plots import plot_det, plot_histograms, plot_roc
from authapp.harness.protocol import IMPOSTOR_TYPES
from authapp.harness.results import Results
from authapp.harness.tables import (
    CALIBRATION_HEADER,
    CALIBRATION_NOTE,
    IDENT_HEADER,
    OPERATING_HEADER,
    TABLE_HEADER,
    align,
    background_summary,
    calibration_rows,
    format_operating_table,
    format_pseudo_table,
    format_table,
    identification_rows,
    operating_header,
    operating_rows,
    pct,
    pseudo_rows,
    summary_text,
    table_rows,
    threshold_note,
    worst_rows,
)
from authapp.textsafe import html_text
from capture.formats._text import natural_key
from core.files import atomic_write

__all__ = ["FILES", "IDENT_HEADER", "OPERATING_HEADER", "TABLE_HEADER", "Results", "align",
           "format_operating_table", "format_pseudo_table", "format_table",
           "identification_rows", "operating_rows", "pseudo_rows", "render_html",
           "summary_text", "table_rows", "threshold_note", "write_report", "write_results_json"]

FILES = {
    "results": "results.json",
    "scores": "scores.csv",
    "roc": "roc.png",
    "det": "det.png",
    "histograms": "histograms.png",
    "html": "report.html",
}

# -- files ----------------------------------------------------------------------------------
def write_results_json(results: Results, path: Path) -> None:
    atomic_write(path, results.to_json())


# -- HTML -----------------------------------------------------------------------------------
REPORT_TEMPLATE = Path(__file__).resolve().parent / "templates" / "report.html"
"""The page around the sections (title, style); ``string.Template`` fields $title, $body."""


def _table_html(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1,
                best: Mapping[tuple[int, int], bool] | None = None) -> str:
    out = ["<table>", "<tr>" + "".join(
        f"<th class=\"{'l' if c < left else ''}\">{html_text(h)}</th>"
        for c, h in enumerate(header)) + "</tr>"]
    for r, row in enumerate(rows):
        cells = []
        for c, v in enumerate(row):
            cls = ["l"] if c < left else []
            if best and best.get((r, c)):
                cls.append("best")
            cells.append(f"<td class=\"{' '.join(cls)}\">{html_text(v)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _best_eer_cells(rows: list[list[str]]) -> dict[tuple[int, int], bool]:
    """Mark the lowest EER per impostor type."""
    best: dict[tuple[int, int], bool] = {}
    for kind in IMPOSTOR_TYPES:
        idx = [k for k, r in enumerate(rows) if r[1] == kind and r[2] != "-"]
        if idx:
            low = min(float(rows[k][2]) for k in idx)
            for k in idx:
                if float(rows[k][2]) == low:
                    best[(k, 2)] = True
    return best


def _meta_section(results: Results) -> list[str]:
    """The run in one line: data, protocol, pseudo data and wall time."""
    timing, run = results.timing, results.description
    pseudo = run.pseudo
    return [
        "<p class=\"meta\">"
        f"data: {html_text(str(run.data_dir))} "
        f"(format {html_text(str(run.format or 'auto'))}) &middot; "
        f"{run.references} references &middot; seeds "
        f"{html_text(', '.join(str(s) for s in run.seeds))} &middot; "
        f"{len(results.scored.identities)} identities tested &middot; pseudo data: "
        f"{html_text(str(pseudo.mode))}"
        + (f" ({html_text(', '.join(pseudo.generators))})" if pseudo.generators else "")
        + (f" &middot; wall time {timing.wall_s:.1f} s with {timing.jobs} job(s)"
           if timing.wall_s is not None else "") + "</p>"]


def _operating_section(results: Results) -> list[str]:
    """First what users get: the error rates at the product's own thresholds."""
    return [
        "<h2>What users get: error rates at the product's thresholds</h2>",
        f"<p>{html_text(threshold_note(results))}</p>",
        _table_html(operating_header(results), operating_rows(results)),
        ("<p class=\"small\">Rates in percent. FRR = genuine attempts rejected; FAR = other "
         "people's attempts accepted; skilled FAR = forgeries accepted (ISO/IEC 30107-3's "
         "IAPMR); all at each account's own threshold. EER = equal error rate pooled over "
         "accounts with one global offset chosen after the fact (it measures separability, "
         "not what the product does), with its 95 % interval over bootstrap resamples of the "
         "people. accts &gt;5% = share of accounts accepting more than 5 % of other people; "
         "FTE = enrollments refused by the quality check. With few errors, read the counts: "
         "zero errors in n attempts bounds the rate at 3/n (95 %).</p>"),
    ]


WORST_COLUMN = {"far_random": 3, "far_skilled": 4, "frr": 5}
"""The column of ``worst_rows`` that holds each rate."""


def _worst_accounts_section(results: Results) -> list[str]:
    """The accounts behind the averages, only where some account has an error."""
    parts: list[str] = []
    for key, caption in (("far_random", "accepting other people most often"),
                         ("far_skilled", "accepting forgeries most often"),
                         ("frr", "rejecting their owner most often")):
        wrows = worst_rows(results, key)
        if wrows and any(r[WORST_COLUMN[key]] not in ("-", "0.00") for r in wrows):
            parts += [f"<h3>Worst accounts: {caption}</h3>",
                      _table_html(["method", "identity", "seed", "FAR %", "skilled FAR %",
                                   "FRR %"], wrows, left=2)]
    return parts


def _identification_section(results: Results) -> list[str]:
    irows = identification_rows(results)
    if not irows:
        return []
    return ["<h2>Identification (1:N with rejection)</h2>",
            _table_html(IDENT_HEADER, irows),
            ("<p class=\"small\">Half of each fold's people enroll, the others never do; "
             "an attempt names the account with the largest margin over its threshold, "
             "or no one when no account accepts it.</p>")]


def _calibration_section(results: Results) -> list[str]:
    crows = calibration_rows(results)
    if not crows:
        return []
    return ["<h2>Calibration: can the scores be read as likelihood ratios?</h2>",
            _table_html(CALIBRATION_HEADER, crows, left=2),
            f"<p class=\"small\">{html_text(CALIBRATION_NOTE)}</p>"]


def _measures_section(results: Results) -> list[str]:
    rows = table_rows(results)
    return [
        "<h2>All measures per method and impostor type</h2>",
        _table_html(TABLE_HEADER, rows, left=2, best=_best_eer_cells(rows)),
        ("<p class=\"small\">Rates in percent. FAR / FRR / recognition rate at each account's "
         "own threshold; EER, AUC and FRR@FAR pooled over users and seeds on "
         "score minus the account's threshold; EER 95% CI = interval of the pooled EER over "
         "bootstrap resamples of the enrolled identities; user EER = mean of per-user EERs; "
         "trial EER = mean of the EERs of each (user, seed) trial. Best EER per impostor type "
         "highlighted.</p>"),
    ]


def _pseudo_section(results: Results) -> list[str]:
    p_header, p_rows = pseudo_rows(results)
    if not p_rows:
        return []
    return [
        "<h2>With and without pseudo data</h2>",
        _table_html(p_header, p_rows, left=2),
        ("<p class=\"small\">Pooled EER in percent per method without pseudo data and "
         "with each generator's pseudo-genuine / pseudo-impostor samples (made from the K "
         "references only); change in percentage points, negative = pseudo data "
         "helps; 95 % CI = interval of the change over paired bootstrap resamples of the "
         "enrolled identities (an interval that excludes 0 is a change that does not hinge "
         "on a few people).</p>"),
    ]


def _background_section(results: Results) -> list[str]:
    return ["<h2>Background / cohort</h2>", f"<p>{html_text(background_summary(results))}</p>"]


def _protocol_section(results: Results) -> list[str]:
    proto = results.protocol
    parts = ["<h2>Protocol</h2><ul class=\"protocol\">"]
    for text in (proto.scheme, proto.references, proto.thresholds, proto.eer):
        if text is not None:
            parts.append(f"<li>{html_text(str(text))}</li>")
    bg = proto.background_for
    if bg and proto.folds != 1:
        parts.append("<li>background data passed as negatives to: "
                     + html_text(", ".join(m for m, v in bg.items() if v) or "none")
                     + "</li>")
    folds = proto.fold_of
    if folds:
        by_fold: dict[int, list[str]] = {}
        for ident, f in folds.items():
            by_fold.setdefault(int(f), []).append(ident)
        parts.append("<li>folds: " + "; ".join(
            f"{f}: {html_text(', '.join(ids))}" for f, ids in sorted(by_fold.items()))
            + "</li>")
    parts.append("</ul>")
    return parts


def _figures_section(images: Mapping[str, str]) -> list[str]:
    parts = ["<h2>Curves and score distributions</h2>"]
    for caption, src in images.items():
        parts.append(f"<figure><img src=\"{src}\" alt=\"{html_text(caption)}\">"
                     f"<figcaption class=\"small\">{html_text(caption)}</figcaption></figure>")
    return parts


def _per_user_section(results: Results) -> list[str]:
    per_user = results.scored.per_user
    if not per_user:
        return []
    names = list(per_user)
    methods = results.scored.methods
    kinds = [k for k in IMPOSTOR_TYPES
             if any(n in methods and methods[n].of(k) for n in names)]
    header = ["identity"] + [f"{n} {k}" for n in names for k in kinds]
    idents = sorted({i for d in per_user.values() for i in d}, key=natural_key)
    urows = [[i] + [pct(getattr(per_user[n].get(i), k, None)) for n in names for k in kinds]
             for i in idents]
    return ["<h2>Per-user EER (%)</h2>", _table_html(header, urows)]


def _skipped_section(results: Results) -> list[str]:
    skipped = results.description.skipped
    skipped_files = results.description.skipped_files
    if not (skipped or skipped_files):
        return []
    return (["<h2>Skipped</h2><ul>"]
            + [f"<li>{html_text(s.identity)}: {html_text(s.reason)}</li>"
               for s in skipped]
            + [f"<li>file: {html_text(s)}</li>" for s in skipped_files]
            + ["</ul>"])


def _timing_section(results: Results) -> list[str]:
    per_method = results.timing.per_method
    if not per_method:
        return []
    trows = [[n, f"{v.fit_s:.2f}", f"{v.score_s:.2f}",
              f"{v.cpu_s:.2f}" if v.cpu_s is not None else "-"] for n, v in per_method.items()]
    return ["<h2>Timing (seconds summed over identities and seeds)</h2>",
            _table_html(["method", "fit s", "score s", "CPU s"], trows)]


SECTIONS: tuple[Callable[[Results], list[str]], ...] = (
    _meta_section, _operating_section, _worst_accounts_section, _identification_section,
    _calibration_section, _measures_section, _pseudo_section, _background_section,
    _protocol_section)
"""The report's sections before its figures, in page order; each renders one part of
results.json, so a new section is one function and one entry here."""

AFTER_FIGURES: tuple[Callable[[Results], list[str]], ...] = (
    _per_user_section, _skipped_section, _timing_section)


def render_html(results: Results, images: Mapping[str, str]) -> str:
    """The report page; ``images`` maps a caption to a relative PNG path."""
    title = f"AirAuth impersonation test: {results.description.dataset}"
    parts = [p for section in SECTIONS for p in section(results)]
    parts += _figures_section(images)
    parts += [p for section in AFTER_FIGURES for p in section(results)]
    page = string.Template(REPORT_TEMPLATE.read_text(encoding="utf-8"))
    return page.substitute(title=html_text(title), body="\n".join(parts))


def _data_uri(png: Path) -> str:
    """The PNG inline, so report.html is one self-contained file."""
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def write_report(result: ExperimentResult, out_dir: Path, scores: bool = True
                 ) -> dict[str, Path]:
    """Write every output file into ``out_dir`` (``scores``: scores.csv too); returns their
    paths by kind."""
    from authapp.harness.scores import write_scores

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / v for k, v in FILES.items()}
    if scores:
        write_scores(result, paths["scores"])
    plot_roc(result, paths["roc"])
    plot_det(result, paths["det"])
    plot_histograms(result, paths["histograms"])
    images = {"DET curves (normal-deviate axes)": _data_uri(paths["det"]),
              "ROC curves": _data_uri(paths["roc"]),
              "Score distributions (margin: score minus the account's threshold; >= 0 accepts)":
                  _data_uri(paths["histograms"])}
    write_results_json(result.results, paths["results"])
    atomic_write(paths["html"], render_html(result.results, images))
    return paths
