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
import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from authapp import metrics
from authapp.experiment import IMPOSTOR_TYPES, ExperimentResult

FILES = {
    "results": "results.json",
    "scores": "scores.csv",
    "roc": "roc.png",
    "det": "det.png",
    "histograms": "histograms.png",
    "html": "report.html",
}
DET_TICKS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 40)  # percent
DET_LIMITS = (0.05, 50.0)  # percent


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _colors(n: int) -> list:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(k % cmap.N) for k in range(n)]


LINESTYLES = ("-", "--", ":", "-.")
LEGEND_INSIDE_MAX = 6  # more curves than this: legend to the right of the axes


def _styles(variants: Sequence[str]) -> dict[str, tuple[Any, str]]:
    """(colour, line style) per variant: one colour per method, one line style per pseudo-data
    generator (solid = without), so "<method>+<generator>" sits next to its method."""
    bases: list[str] = []
    gens: list[str | None] = [None]
    for name in variants:
        base, gen = _split_variant(name)
        if base not in bases:
            bases.append(base)
        if gen not in gens:
            gens.append(gen)
    colors = _colors(len(bases))
    out = {}
    for name in variants:
        base, gen = _split_variant(name)
        out[name] = (colors[bases.index(base)], LINESTYLES[gens.index(gen) % len(LINESTYLES)])
    return out


def _legend(ax, n: int, loc: str) -> None:
    if n > LEGEND_INSIDE_MAX:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, borderaxespad=0)
    else:
        ax.legend(loc=loc, fontsize=8)


def _kinds(result: ExperimentResult) -> list[str]:
    """Impostor types with data (skilled only when the data set has forgeries)."""
    return [k for k in IMPOSTOR_TYPES
            if any(result.decisions(m, k).size for m in result.variants)]


# -- files ----------------------------------------------------------------------------------
def write_results_json(results: Mapping[str, Any], path: Path) -> None:
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# -- plots ----------------------------------------------------------------------------------
def _curve_axes(plt, n: int, n_curves: int, width: float = 6.0):
    if n_curves > LEGEND_INSIDE_MAX:
        width += 2.4  # room for the legend beside each panel
    fig, axes = plt.subplots(1, n, figsize=(width * n, 5.2), squeeze=False, dpi=100)
    return fig, axes[0]


def plot_roc(result: ExperimentResult, path: Path) -> None:
    """ROC per impostor type: genuine accept rate vs false accept rate, in percent."""
    plt = _pyplot()
    kinds = _kinds(result) or ["random"]
    fig, axes = _curve_axes(plt, len(kinds), len(result.variants))
    styles = _styles(result.variants)
    for ax, kind in zip(axes, kinds):
        for name in result.variants:
            color, ls = styles[name]
            gen, imp = result.decisions(name, "genuine"), result.decisions(name, kind)
            if not (gen.size and imp.size):
                continue
            _, far, frr = metrics.roc_points(gen, imp)
            e = metrics.eer(gen, imp)
            ax.plot(100 * far, 100 * (1 - frr), color=color, ls=ls, lw=1.6,
                    label=f"{name} (EER {100 * e:.2f} %)")
        ax.plot([0, 100], [0, 100], color="0.7", lw=0.8, ls=":")
        ax.set_xlim(-1, 101)
        ax.set_ylim(-1, 101)
        ax.set_xlabel("False accept rate FAR (%)")
        ax.set_ylabel("Genuine accept rate 1 - FRR (%)")
        ax.set_title(f"ROC, {kind} impostors")
        ax.grid(True, alpha=0.3)
        _legend(ax, len(result.variants), "lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _probit(p: np.ndarray) -> np.ndarray:
    from scipy.stats import norm

    # zero rates sit just inside the lower axis edge, so a perfect method stays visible
    lo, hi = DET_LIMITS[0] / 100 * 1.08, 1 - 1e-6
    return norm.ppf(np.clip(p, lo, hi))


def plot_det(result: ExperimentResult, path: Path) -> None:
    """DET per impostor type on normal-deviate axes; zero rates are drawn at the axis edge
    (a method with EER 0 shows as an L along the lower and left edges)."""
    plt = _pyplot()
    kinds = _kinds(result) or ["random"]
    fig, axes = _curve_axes(plt, len(kinds), len(result.variants))
    styles = _styles(result.variants)
    ticks = np.array(DET_TICKS) / 100
    lim = _probit(np.array(DET_LIMITS) / 100)
    for ax, kind in zip(axes, kinds):
        perfect = []
        for name in result.variants:
            color, ls = styles[name]
            gen, imp = result.decisions(name, "genuine"), result.decisions(name, kind)
            if not (gen.size and imp.size):
                continue
            _, far, frr = metrics.roc_points(gen, imp)
            e = metrics.eer(gen, imp)
            ax.plot(_probit(far), _probit(frr), color=color, ls=ls, lw=1.6,
                    label=f"{name} (EER {100 * e:.2f} %)")
            ax.plot(_probit(np.array([e])), _probit(np.array([e])), "o", color=color, ms=4)
            if e == 0.0:
                perfect.append(name)
        if perfect:  # their curves hug the axes: say so in words
            ax.text(0.03, 0.05, "no errors at some threshold (EER 0, drawn along the axes):\n"
                    + ", ".join(perfect), transform=ax.transAxes, fontsize=8, va="bottom",
                    bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"})
        ax.plot(lim, lim, color="0.7", lw=0.8, ls=":")
        ax.set_xticks(_probit(ticks), [f"{100 * t:g}" for t in ticks])
        ax.set_yticks(_probit(ticks), [f"{100 * t:g}" for t in ticks])
        ax.set_xlim(*lim)
        ax.set_ylim(*lim)
        ax.set_xlabel("False accept rate FAR (%)")
        ax.set_ylabel("False reject rate FRR (%)")
        ax.set_title(f"DET, {kind} impostors")
        ax.grid(True, alpha=0.3)
        _legend(ax, len(result.variants), "upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_histograms(result: ExperimentResult, path: Path) -> None:
    """Decision-value histograms per method (genuine / random / skilled), threshold at 0."""
    plt = _pyplot()
    n = max(1, len(result.variants))
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False,
                             dpi=100)
    style = {"genuine": "tab:green", "random": "tab:blue", "skilled": "tab:red"}
    for ax, name in zip(axes.ravel(), result.variants):
        data = {k: result.decisions(name, k) for k in ("genuine", "random", "skilled")}
        allv = np.concatenate([v for v in data.values() if v.size] or [np.zeros(1)])
        lo, hi = np.percentile(allv, [0.5, 99.5])
        lo, hi = min(lo, 0.0), max(hi, 0.0)
        if hi - lo < 1e-12:
            lo, hi = lo - 1, hi + 1
        bins = np.linspace(lo, hi, 41)
        for kind, values in data.items():
            if values.size:
                ax.hist(np.clip(values, lo, hi), bins=bins, density=True, alpha=0.45,
                        color=style[kind], label=f"{kind} ({values.size})")
        ax.axvline(0.0, color="k", lw=0.8, ls="--")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("score - user threshold")
        ax.set_ylabel("density", fontsize=8)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(result.variants):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# -- tables ---------------------------------------------------------------------------------
def _pct(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}"


def table_rows(results: Mapping[str, Any]) -> list[list[str]]:
    """[method, impostors, EER %, its 95 % interval, AUC, FAR %, FRR %, FRR@FAR1 %, FRR@FAR0.1 %, rec. %,
    per-user EER %, per-trial EER %, genuine n, impostor n] per method and impostor type."""
    rows = []
    for name, by_kind in results.get("methods", {}).items():
        for kind in IMPOSTOR_TYPES:
            s = by_kind.get(kind)
            if s is None:
                continue
            ci = s.get("eer_ci")
            rows.append([name, kind, _pct(s["eer"]),
                         "-" if ci is None else f"{100 * ci[0]:.2f}-{100 * ci[1]:.2f}",
                         f"{s['auc']:.4f}", _pct(s["far"]),
                         _pct(s["frr"]), _pct(s["frr_at_far_1pct"]),
                         _pct(s["frr_at_far_0_1pct"]), _pct(s["recognition_rate"]),
                         _pct(s.get("eer_user_mean")), _pct(s.get("eer_trial_mean")),
                         str(s["n_genuine"]),
                         str(s["n_impostor"])])
    return rows


TABLE_HEADER = ["method", "impostors", "EER %", "EER 95% CI", "AUC", "FAR %", "FRR %", "FRR@FAR1%",
                "FRR@FAR0.1%", "recog. %", "user EER %", "trial EER %", "n gen",
                "n imp"]


def format_table(results: Mapping[str, Any]) -> str:
    """The full method x impostor-type table as aligned text (``--wide``)."""
    return align([TABLE_HEADER] + table_rows(results))


OPERATING_HEADER = ["method", "FRR %", "FAR %", "skilled FAR %", "EER %", "skilled EER %",
                    "accts >5%", "FTE %"]


def _eer_cell(summary: Mapping[str, Any] | None) -> str:
    if not summary:
        return "-"
    ci = summary.get("eer_ci")
    text = _pct(summary["eer"])
    return text if ci is None else f"{text} [{100 * ci[0]:.1f}-{100 * ci[1]:.1f}]"


def operating_rows(results: Mapping[str, Any]) -> list[list[str]]:
    """Per method: FRR, random FAR, skilled FAR at the product's thresholds, the pooled EERs
    with their 95 % intervals, the share of accounts with FAR > 5 % and failures to enroll."""
    rows = []
    ops = results.get("operating_point") or {}
    for name, by_kind in results.get("methods", {}).items():
        op = ops.get(name) or {}
        rows.append([name, _pct(op.get("frr")), _pct(op.get("far_random")),
                     _pct(op.get("far_skilled")), _eer_cell(by_kind.get("random")),
                     _eer_cell(by_kind.get("skilled")), _pct(op.get("accounts_far_over_5pct"), 1),
                     _pct(op.get("failure_to_enroll"), 1)])
    return rows


def format_operating_table(results: Mapping[str, Any]) -> str:
    """The compact default table (fits 100 columns): operating point first, then EER."""
    return align([OPERATING_HEADER] + operating_rows(results), left=1)


def threshold_note(results: Mapping[str, Any]) -> str:
    """One sentence saying whose thresholds the operating point is at."""
    cal = results.get("calibration") or {}
    if cal.get("source") in (None, "none"):
        return ("Thresholds: each verifier's own per-user threshold -- a research "
                "configuration, not what the product ships.")
    where = {"dev": "learned on the other fold(s), never on the people tested",
             "shipped": "the calibration the package ships"}.get(cal["source"], cal["source"])
    return (f"Thresholds: the product's, security level '{cal.get('security')}' with a "
            f"writer-independent calibration {where}"
            + ("" if cal.get("cohort") else ", no cohort (like a store's first user)") + ".")


def worst_rows(results: Mapping[str, Any], key: str) -> list[list[str]]:
    """The worst accounts of every method by ``key`` (far_random, far_skilled or frr)."""
    rows = []
    for name, op in (results.get("operating_point") or {}).items():
        for a in op.get(f"worst_{key}", []):
            rows.append([name, str(a["identity"]), str(a["seed"]), _pct(a["far_random"]),
                         _pct(a["far_skilled"]), _pct(a["frr"])])
    return rows


def identification_rows(results: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for name, r in (results.get("identification") or {}).items():
        if r:
            rows.append([name, _pct(r["never_enrolled_rejected"]),
                         str(r["never_enrolled_probes"]),
                         _pct(r["enrolled_identified_correctly"]), str(r["enrolled_probes"])])
    return rows


IDENT_HEADER = ["method", "never-enrolled rejected %", "probes", "enrolled named correctly %",
                "probes"]


def _natural(text: str) -> list:
    """Sort key that puts U2 before U10."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", text) if part]


def _split_variant(name: str) -> tuple[str, str | None]:
    base, plus, gen = name.partition("+")
    return base, (gen if plus else None)


def pseudo_rows(results: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Per method and impostor type: EER without pseudo data and with each generator, the
    change in percentage points (negative = pseudo data helps) and its bootstrap interval
    (from results.json's ``pseudo_effect``). Empty when the run had no pseudo variants."""
    methods = results.get("methods", {})
    gens: list[str] = []
    bases: list[str] = []
    for name in methods:
        base, gen = _split_variant(name)
        if base not in bases:
            bases.append(base)
        if gen is not None and gen not in gens:
            gens.append(gen)
    if not gens:
        return [], []
    effects = (results.get("pseudo_effect") or {}).get("changes") or {}
    header = ["method", "impostors", "EER % without"]
    for g in gens:
        header += [f"EER % +{g}", f"change +{g} (pp)", f"95 % CI +{g} (pp)"]
    rows = []
    for base in bases:
        for kind in IMPOSTOR_TYPES:
            off = (methods.get(base) or {}).get(kind)
            ons = [(methods.get(f"{base}+{g}") or {}).get(kind) for g in gens]
            if off is None and all(s is None for s in ons):
                continue
            row = [base, kind, _pct(off["eer"] if off else None)]
            for g, s in zip(gens, ons):
                row.append(_pct(s["eer"] if s else None))
                row.append("-" if not (s and off) else f"{100 * (s['eer'] - off['eer']):+.2f}")
                effect = (effects.get(f"{base}+{g}") or {}).get(kind)
                row.append("-" if not effect else
                           "[{:+.2f}, {:+.2f}]".format(*(100 * c for c in effect["ci"])))
            rows.append(row)
    return header, rows


def summary_text(results: Mapping[str, Any], wide: bool = False) -> str:
    """What ``authapp experiment`` / ``evaluate`` print: whose thresholds, the table (compact
    unless ``wide``), identification, the pseudo-data comparison and what was skipped."""
    out = [threshold_note(results),
           format_table(results) if wide else format_operating_table(results)]
    ident = identification_rows(results)
    if ident:
        out += ["", "Identification (half of each fold enrolled):",
                align([IDENT_HEADER] + ident, left=1)]
    pseudo_table = format_pseudo_table(results)
    if pseudo_table:
        out += ["", "EER with and without pseudo data (change in percentage points):",
                pseudo_table]
    skipped = results.get("skipped") or []
    if skipped:
        out.append(f"skipped {len(skipped)} identit{'y' if len(skipped) == 1 else 'ies'}: "
                   + ", ".join(f"{s['identity']} ({s['genuine_samples']} samples)"
                               for s in skipped))
    if results.get("skipped_files"):
        out.append(f"skipped {len(results['skipped_files'])} unreadable file(s): see "
                   "results.json")
    return "\n".join(out)


def format_pseudo_table(results: Mapping[str, Any]) -> str:
    """The with/without pseudo data comparison as aligned text ('' without pseudo variants)."""
    header, rows = pseudo_rows(results)
    if not rows:
        return ""
    return align([header] + rows)


def align(rows: list[list[str]], left: int = 2) -> str:
    """Rows as aligned text: the first ``left`` columns left-aligned, numbers right-aligned."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        cells = [v.ljust(w) for v, w in zip(r[:left], widths[:left])]
        cells += [v.rjust(w) for v, w in zip(r[left:], widths[left:])]
        lines.append("  ".join(cells))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- HTML -----------------------------------------------------------------------------------
_CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px 32px;
       color: #1d2733; background: #ffffff; max-width: 1400px; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; color: #12355b; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 2px solid #d0d8e2;
     padding-bottom: 4px; color: #12355b; }
p.meta { color: #4a5868; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 12px 0; font-size: 0.92em; }
th, td { padding: 5px 10px; border: 1px solid #cfd7e0; text-align: right; }
th { background: #e8eef5; color: #12355b; }
td.l, th.l { text-align: left; }
tr:nth-child(even) td { background: #f6f8fb; }
td.best { background: #d8f3dc !important; font-weight: bold; }
img { max-width: 100%; border: 1px solid #d0d8e2; margin: 6px 0; }
ul.protocol li { margin-bottom: 4px; }
.small { font-size: 0.85em; color: #4a5868; }
"""


def _table_html(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1,
                best: Mapping[tuple[int, int], bool] | None = None) -> str:
    out = ["<table>", "<tr>" + "".join(
        f"<th class=\"{'l' if c < left else ''}\">{html.escape(h)}</th>"
        for c, h in enumerate(header)) + "</tr>"]
    for r, row in enumerate(rows):
        cells = []
        for c, v in enumerate(row):
            cls = ["l"] if c < left else []
            if best and best.get((r, c)):
                cls.append("best")
            cells.append(f"<td class=\"{' '.join(cls)}\">{html.escape(v)}</td>")
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


def background_summary(results: Mapping[str, Any]) -> str:
    """One sentence on which people a verifier or generator learned from."""
    proto = results.get("protocol", {})
    folds = proto.get("folds")
    users = [m for m, v in (proto.get("background_for") or {}).items() if v]
    gens = (results.get("pseudo") or {}).get("generators") or []
    if folds == 1:
        return ("No background: a single fold, so every other identity is a random impostor "
                "and no verifier or generator learned from other people.")
    if not folds:
        return "Not recorded."
    who = ", ".join(users) if users else "no method"
    text = (f"Identities split into {folds} disjoint folds. For a user in fold f, the "
            f"background (cohort) is the genuine samples of the identities of the other "
            f"folds, and random impostors come only from fold f, so nobody is both for the "
            f"same user.")
    cal = results.get("calibration") or {}
    if cal.get("source") not in (None, "none"):
        text += (" Calibrated models: the cohort is the first K samples of each other-fold "
                 "identity (as a store's other users), never training data; the calibration "
                 "of fold f is learned on the other folds' accounts.")
    else:
        text += f" Background used as negatives by: {who}."
    if gens:
        text += (f" Pseudo-data generators ({', '.join(gens)}) were fitted once per fold on "
                 "that fold's background only.")
    return text


def render_html(results: Mapping[str, Any], images: Mapping[str, str]) -> str:
    """The report page; ``images`` maps a caption to a relative PNG path."""
    title = f"AirAuth impersonation test: {results.get('dataset', '')}"
    rows = table_rows(results)
    proto = results.get("protocol", {})
    timing = results.get("timing", {})
    pseudo = results.get("pseudo", {})
    parts = [
        "<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<p class=\"meta\">"
        f"data: {html.escape(str(results.get('data_dir', '')))} "
        f"(format {html.escape(str(results.get('format') or 'auto'))}) &middot; "
        f"{results.get('references', '?')} references &middot; seeds "
        f"{html.escape(', '.join(str(s) for s in results.get('seeds', [])))} &middot; "
        f"{len(results.get('identities', []))} identities tested &middot; pseudo data: "
        f"{html.escape(str(pseudo.get('mode', 'off')))}"
        + (f" ({html.escape(', '.join(pseudo.get('generators', [])))})"
           if pseudo.get("generators") else "")
        + (f" &middot; wall time {timing['wall_s']:.1f} s with {timing.get('jobs', 1)} job(s)"
           if timing.get("wall_s") is not None else "") + "</p>",
        "<h2>What users get: error rates at the product's thresholds</h2>",
        f"<p>{html.escape(threshold_note(results))}</p>",
        _table_html(OPERATING_HEADER, operating_rows(results)),
        ("<p class=\"small\">Rates in percent. FRR = genuine attempts rejected; FAR = other "
         "people's attempts accepted; skilled FAR = forgeries accepted (ISO/IEC 30107-3's "
         "IAPMR); all at each account's own threshold. EER = equal error rate pooled over "
         "accounts with one global offset chosen after the fact (it measures separability, "
         "not what the product does), with its 95 % interval over bootstrap resamples of the "
         "people. accts &gt;5% = share of accounts accepting more than 5 % of other people; "
         "FTE = enrollments refused by the quality check. With few errors, read the counts: "
         "zero errors in n attempts bounds the rate at 3/n (95 %).</p>"),
    ]
    for key, caption in (("far_random", "accepting other people most often"),
                         ("far_skilled", "accepting forgeries most often"),
                         ("frr", "rejecting their owner most often")):
        wrows = worst_rows(results, key)
        if wrows and any(r[3 if key == "far_random" else 4 if key == "far_skilled" else 5]
                         not in ("-", "0.00") for r in wrows):
            parts += [f"<h3>Worst accounts: {caption}</h3>",
                      _table_html(["method", "identity", "seed", "FAR %", "skilled FAR %",
                                   "FRR %"], wrows, left=2)]
    irows = identification_rows(results)
    if irows:
        parts += ["<h2>Identification (1:N with rejection)</h2>",
                  _table_html(IDENT_HEADER, irows),
                  ("<p class=\"small\">Half of each fold's people enroll, the others never do; "
                  "an attempt names the account with the largest margin over its threshold, "
                  "or no one when no account accepts it.</p>")]
    parts += [
        "<h2>All measures per method and impostor type</h2>",
        _table_html(TABLE_HEADER, rows, left=2, best=_best_eer_cells(rows)),
        ("<p class=\"small\">Rates in percent. FAR / FRR / recognition rate at each account's "
         "own threshold; EER, AUC and FRR@FAR pooled over users and seeds on "
         "score minus the account's threshold; EER 95% CI = interval of the pooled EER over "
         "bootstrap resamples of the enrolled identities; user EER = mean of per-user EERs; "
         "trial EER = mean of the EERs of each (user, seed) trial. Best EER per impostor type "
         "highlighted.</p>"),
    ]
    p_header, p_rows = pseudo_rows(results)
    if p_rows:
        parts += [
            "<h2>With and without pseudo data</h2>",
            _table_html(p_header, p_rows, left=2),
            ("<p class=\"small\">Pooled EER in percent per method without pseudo data and "
             "with each generator's pseudo-genuine / pseudo-impostor samples (made from the K "
             "references only); change in percentage points, negative = pseudo data "
             "helps; 95 % CI = interval of the change over paired bootstrap resamples of the "
             "enrolled identities (an interval that excludes 0 is a change that does not hinge "
             "on a few people).</p>"),
        ]
    parts += ["<h2>Background / cohort</h2>",
              f"<p>{html.escape(background_summary(results))}</p>",
              "<h2>Protocol</h2><ul class=\"protocol\">"]
    for key in ("scheme", "references", "thresholds", "eer"):
        if key in proto:
            parts.append(f"<li>{html.escape(str(proto[key]))}</li>")
    bg = proto.get("background_for")
    if bg and proto.get("folds", 2) != 1:
        parts.append("<li>background data passed as negatives to: "
                     + html.escape(", ".join(m for m, v in bg.items() if v) or "none")
                     + "</li>")
    folds = proto.get("fold_of")
    if folds:
        by_fold: dict[int, list[str]] = {}
        for ident, f in folds.items():
            by_fold.setdefault(int(f), []).append(ident)
        parts.append("<li>folds: " + "; ".join(
            f"{f}: {html.escape(', '.join(ids))}" for f, ids in sorted(by_fold.items()))
            + "</li>")
    parts.append("</ul>")
    parts.append("<h2>Curves and score distributions</h2>")
    for caption, src in images.items():
        parts.append(f"<figure><img src=\"{src}\" alt=\"{html.escape(caption)}\">"
                     f"<figcaption class=\"small\">{html.escape(caption)}</figcaption></figure>")
    per_user = results.get("per_user", {})
    if per_user:
        names = list(per_user)
        kinds = [k for k in IMPOSTOR_TYPES
                 if any(results["methods"].get(n, {}).get(k) for n in names)]
        header = ["identity"] + [f"{n} {k}" for n in names for k in kinds]
        idents = sorted({i for d in per_user.values() for i in d}, key=_natural)
        urows = [[i] + [_pct(per_user[n].get(i, {}).get(k)) for n in names for k in kinds]
                 for i in idents]
        parts += ["<h2>Per-user EER (%)</h2>", _table_html(header, urows)]
    skipped = results.get("skipped", [])
    skipped_files = results.get("skipped_files", [])
    if skipped or skipped_files:
        parts.append("<h2>Skipped</h2><ul>")
        parts += [f"<li>{html.escape(s['identity'])}: {html.escape(s['reason'])}</li>"
                  for s in skipped]
        parts += [f"<li>file: {html.escape(s)}</li>" for s in skipped_files]
        parts.append("</ul>")
    per_method = timing.get("per_method", {})
    if per_method:
        trows = [[n, f"{v['fit_s']:.2f}", f"{v['score_s']:.2f}",
                  f"{v['cpu_s']:.2f}" if "cpu_s" in v else "-"] for n, v in per_method.items()]
        parts += ["<h2>Timing (seconds summed over identities and seeds)</h2>",
                  _table_html(["method", "fit s", "score s", "CPU s"], trows)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _data_uri(png: Path) -> str:
    """The PNG inline, so report.html is one self-contained file."""
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def write_report(result: ExperimentResult, out_dir: Path, scores: bool = True
                 ) -> dict[str, Path]:
    """Write every output file into ``out_dir`` (``scores``: scores.csv too); returns their
    paths by kind."""
    from authapp.scores import write_scores

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
              "Score distributions (score minus the account's threshold; accepted right of 0)":
                  _data_uri(paths["histograms"])}
    write_results_json(result.results, paths["results"])
    tmp = Path(f"{paths['html']}.tmp")
    tmp.write_text(render_html(result.results, images), encoding="utf-8")
    os.replace(tmp, paths["html"])
    return paths
