"""Per-user calibration of a candidate's displacement: strength in units of the user's spread.

Strength 1.0 is meant to be the spread between two genuine repetitions, 2-3 a clumsy forgery.
Nominal transform sizes cannot mean that for every writer (a tidy writer's repetitions differ
far less than a hasty one's), so displacement transforms are rescaled per user: a candidate at
strength s lies about s times the mean distance between the user's references away from its
parent, measured by DTW on the preprocessed feature sequences the verifiers compare
(``capture.preprocess.feature_sequence``). Measured on SVC2004 before calibration, even
strength-3 jitter/shift/distort candidates were closer to their parent than the user's real
repetitions are to each other: pseudo-impostors "more genuine than genuine", which taught the
SVM to reject real logins. Its own module because two kinds of generator share it: the
candidate generator (``models.pseudo.candidates``) and the mask-and-inpaint generators
(``models.pseudo.inpaint``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from capture.preprocess import FeatureConfig, feature_sequence
from capture.trajectory import Trajectory
from models.dtw import dtw_distance
from models.pseudo.transforms import Rec

FEATURES = FeatureConfig()
_WINDOW = 0.1
_MAX_GAIN = 8.0


def _features(t: np.ndarray, pos: np.ndarray, ch: Mapping[str, np.ndarray]) -> np.ndarray:
    return feature_sequence(Trajectory(t, pos, ch), FEATURES)


def reference_spread(references: Sequence[Trajectory]) -> float | None:
    """Mean DTW distance between the references' feature sequences (None for one sample)."""
    if len(references) < 2:
        return None
    seqs = [feature_sequence(r, FEATURES) for r in references]
    d = [dtw_distance(seqs[i], seqs[j], _WINDOW) for i in range(len(seqs))
         for j in range(i + 1, len(seqs))]
    spread = float(np.mean(d))
    return spread if spread > 0 else None


def calibrate_rec(parent: Trajectory, rec: Rec, target: float, parent_seq: np.ndarray) -> Rec:
    """Rescale the displacement ``rec.pos - parent.positions`` to reach distance ``target``.

    DTW distance grows about linearly with a small displacement's size: one secant step
    from the nominal size, then one correction.
    """
    delta = rec.pos - parent.positions
    gain = 1.0
    for _ in range(2):
        d = dtw_distance(_features(rec.t, parent.positions + gain * delta, rec.ch),
                         parent_seq, _WINDOW)
        if d <= 0:
            break
        gain = float(np.clip(gain * target / d, 0.0, _MAX_GAIN))
    rec.pos = parent.positions + gain * delta
    return rec


def calibrate_displacement(parent: Trajectory, pos: np.ndarray, target: float) -> np.ndarray:
    """Positions ``pos`` (on ``parent``'s frames) whose displacement from ``parent`` is
    rescaled to DTW distance ``target``: the per-user calibration of the candidates, shared
    with the mask-and-inpaint generators."""
    rec = Rec(parent.t.copy(), pos.copy(), dict(parent.channels))
    return calibrate_rec(parent, rec, target, feature_sequence(parent, FEATURES)).pos

