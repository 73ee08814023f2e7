"""The experiment's plots: ROC, DET (normal-deviate axes) and score histograms, one panel
per impostor type, rates in percent as the field plots them (matplotlib's Agg backend: no
display needed)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from authapp.harness import metrics
from authapp.harness.evaluation import ExperimentResult
from authapp.harness.protocol import IMPOSTOR_TYPES
from authapp.harness.tables import split_variant
from core.files import atomic_write

DET_TICKS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 40)  # percent


DET_LIMITS = (0.05, 50.0)  # percent


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    """Lay out, write all-or-nothing (``core.files.atomic_write``) and close a figure."""
    import io

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    _pyplot().close(fig)
    atomic_write(path, buf.getvalue())


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
        base, gen = split_variant(name)
        if base not in bases:
            bases.append(base)
        if gen not in gens:
            gens.append(gen)
    colors = _colors(len(bases))
    out = {}
    for name in variants:
        base, gen = split_variant(name)
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


def _curve_axes(plt, n: int, n_curves: int, width: float = 6.0):
    if n_curves > LEGEND_INSIDE_MAX:
        width += 2.4  # room for the legend beside each panel
    fig, axes = plt.subplots(1, n, figsize=(width * n, 5.2), squeeze=False, dpi=100)
    return fig, axes[0]


def _curves(result: ExperimentResult, kind: str, styles: dict
            ) -> Iterator[tuple[str, Any, str, np.ndarray, np.ndarray, float]]:
    """(variant, colour, line style, FAR, FRR, EER) of every variant with attempts of both
    kinds: what the ROC and the DET plot draw, each on its own axes."""
    for name in result.variants:
        color, ls = styles[name]
        gen, imp = result.decisions(name, "genuine"), result.decisions(name, kind)
        if not (gen.size and imp.size):
            continue
        _, far, frr = metrics.roc_points(gen, imp)
        yield name, color, ls, far, frr, metrics.eer(gen, imp)


def plot_roc(result: ExperimentResult, path: Path) -> None:
    """ROC per impostor type: genuine accept rate vs false accept rate, in percent."""
    plt = _pyplot()
    kinds = _kinds(result) or ["random"]
    fig, axes = _curve_axes(plt, len(kinds), len(result.variants))
    styles = _styles(result.variants)
    for ax, kind in zip(axes, kinds):
        for name, color, ls, far, frr, e in _curves(result, kind, styles):
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
    _save(fig, path)


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
        for name, color, ls, far, frr, e in _curves(result, kind, styles):
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
    _save(fig, path)


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
        ax.set_xlabel("margin = score - account's threshold (>= 0 accepts)")
        ax.set_ylabel("density", fontsize=8)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(result.variants):]:
        ax.axis("off")
    _save(fig, path)

