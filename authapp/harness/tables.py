"""The experiment's tables as rows of strings, for the terminal and for report.html.

The compact default table leads with the operating point (what users get at the product's
own thresholds); the EER (one ideal global offset chosen after the fact) comes beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authapp.harness.figures import MethodSummary, SummaryByKind
from authapp.harness.protocol import IMPOSTOR_TYPES

if TYPE_CHECKING:
    from authapp.harness.results import Results


def pct(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}"


def bits(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def calibration_rows(results: Results) -> list[list[str]]:
    """[method, impostors, Cllr, minCllr, Cllr - minCllr] for calibrated methods (bits)."""
    rows = []
    for name, by_kind in results.scored.methods.items():
        for kind in IMPOSTOR_TYPES:
            s = by_kind.of(kind)
            if s is None or s.cllr is None:
                continue
            rows.append([name, kind, bits(s.cllr), bits(s.min_cllr),
                         bits(s.cllr - s.min_cllr)])
    return rows


CALIBRATION_HEADER = ["method", "impostors", "Cllr", "minCllr", "calibration loss"]
CALIBRATION_NOTE = ("Cllr: cost of the calibrated scores read as log-likelihood ratios, in bits "
                    "(0 perfect, 1 = no information, above 1 misleading); minCllr: the same "
                    "after the best monotone recalibration of these very scores (PAV), i.e. "
                    "discrimination alone; the difference is what the calibration loses on "
                    "these people.")


def table_rows(results: Results) -> list[list[str]]:
    """[method, impostors, EER %, its 95 % interval, AUC, FAR %, FRR %, FRR@FAR1 %, FRR@FAR0.1 %, rec. %,
    per-user EER %, per-trial EER %, Cllr, minCllr, genuine n, impostor n] per method and
    impostor type (Cllr / minCllr in bits, calibrated models only)."""
    rows = []
    for name, by_kind in results.scored.methods.items():
        for kind in IMPOSTOR_TYPES:
            s = by_kind.of(kind)
            if s is None:
                continue
            ci = s.eer_ci
            rows.append([name, kind, pct(s.eer),
                         "-" if ci is None else f"{100 * ci[0]:.2f}-{100 * ci[1]:.2f}",
                         f"{s.auc:.4f}", pct(s.far),
                         pct(s.frr), pct(s.frr_at_far_1pct),
                         pct(s.frr_at_far_0_1pct), pct(s.recognition_rate),
                         pct(s.eer_user_mean), pct(s.eer_trial_mean),
                         bits(s.cllr), bits(s.min_cllr),
                         str(s.n_genuine),
                         str(s.n_impostor)])
    return rows


TABLE_HEADER = ["method", "impostors", "EER %", "EER 95% CI", "AUC", "FAR %", "FRR %", "FRR@FAR1%",
                "FRR@FAR0.1%", "recog. %", "user EER %", "trial EER %", "Cllr", "minCllr",
                "n gen", "n imp"]


def format_table(results: Results) -> str:
    """The full method x impostor-type table as aligned text (``--wide``)."""
    return align([TABLE_HEADER] + table_rows(results))


OPERATING_HEADER = ["method", "FRR %", "FAR %", "skilled FAR %", "EER %", "skilled EER %",
                    "accts >5%", "FTE %"]


def _eer_cell(summary: MethodSummary | None) -> str:
    if not summary:
        return "-"
    ci = summary.eer_ci
    text = pct(summary.eer)
    return text if ci is None else f"{text} [{100 * ci[0]:.1f}-{100 * ci[1]:.1f}]"


def operating_rows(results: Results) -> list[list[str]]:
    """Per method: FRR, random FAR, skilled FAR at the product's thresholds, the pooled EERs
    with their 95 % intervals, the share of accounts with FAR > 5 % and failures to enroll."""
    rows = []
    ops = results.scored.operating_point
    for name, by_kind in results.scored.methods.items():
        op = ops.get(name)
        if op is None:
            rows.append([name, "-", "-", "-", _eer_cell(by_kind.random),
                         _eer_cell(by_kind.skilled), "-", "-"])
            continue
        frr = pct(op.frr)
        if op.n_genuine_later:  # sessions: the later-session FRR, same-session beside
            frr = f"{frr} ({pct(op.frr_same)})"
        rows.append([name, frr, pct(op.far_random),
                     pct(op.far_skilled), _eer_cell(by_kind.random),
                     _eer_cell(by_kind.skilled), pct(op.accounts_far_over_5pct, 1),
                     pct(op.failure_to_enroll, 1)])
    return rows


def operating_header(results: Results) -> list[str]:
    """``OPERATING_HEADER``; with sessions the FRR column is the later-session FRR."""
    header = list(OPERATING_HEADER)
    if any(op.n_genuine_later for op in results.scored.operating_point.values()):
        header[1] = "FRR % later (same session)"
    return header


def format_operating_table(results: Results) -> str:
    """The compact default table (fits 100 columns): operating point first, then EER."""
    return align([operating_header(results)] + operating_rows(results), left=1)


def threshold_note(results: Results) -> str:
    """One sentence saying whose thresholds the operating point is at."""
    cal = results.calibration
    if not cal.calibrated:
        return ("Thresholds: each verifier's own per-user threshold -- a research "
                "configuration, not what the product ships.")
    where = {"dev": "learned on the other fold(s), never on the people tested",
             "shipped": "shipped with the package (learned offline on other people)"}.get(
        cal.source, f"from {cal.source}")
    return (f"Thresholds: the product's, security level '{cal.security}' with a "
            f"writer-independent calibration {where}"
            + ("" if cal.cohort else ", no cohort (like a store's first user)") + ".")


def worst_rows(results: Results, key: str) -> list[list[str]]:
    """The worst accounts of every method by ``key`` (far_random, far_skilled or frr)."""
    rows = []
    for name, op in results.scored.operating_point.items():
        for a in op.worst(key):
            rows.append([name, str(a.identity), str(a.seed), pct(a.far_random),
                         pct(a.far_skilled), pct(a.frr)])
    return rows


def identification_rows(results: Results) -> list[list[str]]:
    rows = []
    for name, r in results.scored.identification.items():
        if r:
            rows.append([name, pct(r.never_enrolled_rejected),
                         str(r.never_enrolled_probes),
                         pct(r.enrolled_identified_correctly), str(r.enrolled_probes)])
    return rows


IDENT_HEADER = ["method", "never-enrolled rejected %", "probes", "enrolled named correctly %",
                "probes"]


def split_variant(name: str) -> tuple[str, str | None]:
    base, plus, gen = name.partition("+")
    return base, (gen if plus else None)


def pseudo_rows(results: Results) -> tuple[list[str], list[list[str]]]:
    """Per method and impostor type: EER without pseudo data and with each generator, the
    change in percentage points (negative = pseudo data helps) and its bootstrap interval
    (from results.json's ``pseudo_effect``). Empty when the run had no pseudo variants."""
    methods = results.scored.methods
    gens: list[str] = []
    bases: list[str] = []
    for name in methods:
        base, gen = split_variant(name)
        if base not in bases:
            bases.append(base)
        if gen is not None and gen not in gens:
            gens.append(gen)
    if not gens:
        return [], []
    effects = results.scored.pseudo_effect.changes
    header = ["method", "impostors", "EER % without"]
    for g in gens:
        header += [f"EER % +{g}", f"change +{g} (pp)", f"95 % CI +{g} (pp)"]
    rows = []
    for base in bases:
        for kind in IMPOSTOR_TYPES:
            off = _summary(methods.get(base), kind)
            ons = [_summary(methods.get(f"{base}+{g}"), kind) for g in gens]
            if off is None and all(s is None for s in ons):
                continue
            row = [base, kind, pct(off.eer if off else None)]
            for g, s in zip(gens, ons):
                row.append(pct(s.eer if s else None))
                row.append("-" if not (s and off) else f"{100 * (s.eer - off.eer):+.2f}")
                change = effects.get(f"{base}+{g}")
                effect = change.of(kind) if change else None
                row.append("-" if not effect else
                           "[{:+.2f}, {:+.2f}]".format(*(100 * c for c in effect.ci)))
            rows.append(row)
    return header, rows


def summary_text(results: Results, wide: bool = False) -> str:
    """What ``authapp experiment`` / ``evaluate`` print: whose thresholds, the table (compact
    unless ``wide``), identification, the pseudo-data comparison and what was skipped."""
    out = [threshold_note(results),
           format_table(results) if wide else format_operating_table(results)]
    ident = identification_rows(results)
    if ident:
        out += ["", "Identification (half of each fold enrolled):",
                align([IDENT_HEADER] + ident, left=1)]
    cal_rows = calibration_rows(results)
    if cal_rows and not wide:
        out += ["", "Calibration (bits; lower is better):",
                align([CALIBRATION_HEADER] + cal_rows)]
    pseudo_table = format_pseudo_table(results)
    if pseudo_table:
        out += ["", "EER with and without pseudo data (change in percentage points):",
                pseudo_table]
    skipped = results.description.skipped
    if skipped:
        out.append(f"skipped {len(skipped)} identit{'y' if len(skipped) == 1 else 'ies'}: "
                   + ", ".join(f"{s.identity} ({s.genuine_samples} samples)"
                               for s in skipped))
    if results.description.skipped_files:
        out.append(f"skipped {len(results.description.skipped_files)} unreadable file(s): "
                   "see results.json")
    return "\n".join(out)


def _summary(by_kind: SummaryByKind | None, kind: str) -> MethodSummary | None:
    return by_kind.of(kind) if by_kind is not None else None


def format_pseudo_table(results: Results) -> str:
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


def background_summary(results: Results) -> str:
    """One sentence on which people a verifier or generator learned from."""
    proto = results.protocol
    folds = proto.folds
    users = [m for m, v in (proto.background_for or {}).items() if v]
    gens = results.description.pseudo.generators
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
    if results.calibration.calibrated:
        text += (" Calibrated models: the cohort is the first K samples of each other-fold "
                 "identity (as a store's other users), never training data; the calibration "
                 "of fold f is learned on the other folds' accounts.")
    else:
        text += f" Background used as negatives by: {who}."
    if gens:
        text += (f" Pseudo-data generators ({', '.join(gens)}) were fitted once per fold on "
                 "that fold's background only.")
    return text

