"""What an experiment produces, typed: ``Results`` is results.json.

results.json is one flat JSON object: the run's description (``Description``, from
``run_description.describe``), the figures (``authapp.harness.figures.Figures``, from
``evaluation.evaluate``), then "timing", "calibration" and, for adaptive runs, "adaptation".
``Results.to_json`` writes exactly that text and ``Results.from_json`` reads it back; the
header of scores.csv holds the same object without the figures (``run_part``), which
``authapp evaluate`` reads back (``from_dict``) and completes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from authapp.harness.figures import Figures, MethodTiming
from authapp.harness.records import Record, field_key, optional

D = dataclass(frozen=True, kw_only=True)


@D
class Protocol(Record):
    """How the identities were split and tested, in the protocol's own words."""

    folds: int | None
    folds_chosen: str | None
    fold_seed: int | None
    fold_of: Mapping[str, int]
    scheme: str | None
    background_for: Mapping[str, bool]
    split: str | None
    references: str | None
    adaptation: str | None
    thresholds: str | None
    eer: str | None


@D
class PseudoSetup(Record):
    mode: str
    generators: tuple[str, ...]


@D
class SkippedIdentity(Record):
    identity: str
    genuine_samples: int
    reason: str


@D
class Description(Record):
    """What was run: the parts of results.json that are not figures, timing or
    calibration (``run_description.describe``)."""

    dataset: str
    data_dir: str
    format: str | None
    references: int
    seeds: tuple[int, ...]
    security: str | None
    protocol: Protocol
    pseudo: PseudoSetup
    method_params: Mapping[str, Mapping[str, Any]]
    skipped: tuple[SkippedIdentity, ...]
    skipped_files: tuple[str, ...]
    versions: Mapping[str, str]


@D
class Timing(Record):
    """Seconds: the run's wall time, the generators' and per method (``per_method``)."""

    wall_s: float | None
    jobs: int | None
    cluster: str | None
    generator_fit_s: Mapping[str, float]
    generate_s: Mapping[str, float]
    per_method: Mapping[str, MethodTiming] | None = optional()


@D
class CalibrationInfo(Record):
    """results.json's "calibration": the thresholds' source (``calibration_pass``); for
    uncalibrated runs only ``source`` "none" and a ``note``."""

    requested: str | None = optional()
    source: str
    security: str | None = optional()
    guard_far: float | None = optional()
    forgery_far: float | None = optional()
    cohort: bool | None = optional()
    shipped_background: str | None = optional()
    variants: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = optional()
    note: str | None = optional()

    @property
    def calibrated(self) -> bool:
        return self.source not in (None, "none")


@D
class AdaptationPoint(Record):
    frr: float | None
    frr_same: float | None
    frr_later: float | None
    far_random: float | None
    far_skilled: float | None


@D
class AdaptationOutcome(Record):
    """One variant's operating point without and with template adaptation."""

    without: AdaptationPoint
    with_: AdaptationPoint = field_key("with")
    adapted_per_account: float | None


@D
class Adaptation(Record):
    policy: Mapping[str, Any]
    variants: Mapping[str, AdaptationOutcome]


RUN_KEYS = ("timing", "calibration", "adaptation")


@D
class Results(Record):
    """results.json. ``figures`` is None only while a scores.csv header is read back."""

    description: Description
    figures: Figures | None = None
    timing: Timing
    calibration: CalibrationInfo
    adaptation: Adaptation | None = None

    def as_dict(self) -> dict[str, Any]:
        out = self.description.as_dict()
        if self.figures is not None:
            out.update(self.figures.as_dict())
        out.update(self.run_part(description=False))
        return out

    def run_part(self, description: bool = True) -> dict[str, Any]:
        """Everything but the figures (scores.csv's header keeps it), in results.json's
        order."""
        out = self.description.as_dict() if description else {}
        out["timing"] = self.timing.as_dict()
        out["calibration"] = self.calibration.as_dict()
        if self.adaptation is not None:
            out["adaptation"] = self.adaptation.as_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Results:
        figure_keys = {f.name for f in fields(Figures)}
        return cls(
            description=Description.from_dict(data),
            figures=Figures.from_dict(data) if figure_keys & set(data) else None,
            timing=Timing.from_dict(data.get("timing") or {}),
            calibration=CalibrationInfo.from_dict(data.get("calibration") or {}),
            adaptation=(Adaptation.from_dict(data["adaptation"])
                        if data.get("adaptation") is not None else None))

    def to_json(self) -> str:
        """results.json's text."""
        return json.dumps(self.as_dict(), indent=2, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Results:
        return cls.from_dict(json.loads(text))

    # the parts the tables and the report read most
    @property
    def protocol(self) -> Protocol:
        return self.description.protocol

    @property
    def scored(self) -> Figures:
        """The figures (an error before evaluation has filled them in)."""
        if self.figures is None:
            raise ValueError("these results have no figures yet (scores not evaluated)")
        return self.figures
