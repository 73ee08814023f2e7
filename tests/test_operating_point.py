"""Operating point, worst accounts and open-set identification on hand-made score tables."""

from __future__ import annotations

import numpy as np
import pytest

from authapp.harness.operating_point import identification, operating_point
from authapp.harness.runner import Trial


def trial(ident: str, others: list[str], gen: list[float], rand: dict[str, list[float]],
          skilled: list[float] = (), seed: int = 0, refused: str | None = None,
          levels: dict[str, float] | None = None) -> Trial:
    """An account of ``ident``: its genuine attempts are ``<ident>/g<k>``, other people's
    samples ``<other>/s<k>``; decision values given (threshold 0)."""
    files = [f"{ident}/g{k}" for k in range(len(gen))]
    who = [ident] * len(gen)
    dec = list(gen)
    for o in others:
        files += [f"{o}/s{k}" for k in range(len(rand[o]))]
        who += [o] * len(rand[o])
        dec += rand[o]
    files += [f"forgery{k}" for k in range(len(skilled))]
    who += ["forger"] * len(skilled)
    dec += list(skilled)
    types = np.array(["genuine"] * len(gen) + ["random"] * (len(dec) - len(gen) - len(skilled))
                     + ["skilled"] * len(skilled))
    d = np.array(dec, dtype=float)
    return Trial("m", seed, files, who, types, d + 1.0, 1.0, d, 0.0, 0.0, 0.0, [], fold=0,
                 refused=refused, level_thresholds={k: 1.0 + v for k, v in (levels or {}).items()})


def test_rates_at_the_accounts_thresholds_and_the_worst_accounts() -> None:
    a = trial("a", ["b"], [1.0, 2.0, -1.0, 0.5], {"b": [-3.0] * 9 + [0.0]}, [0.2, -0.2],
              levels={"high": 1.0})
    b = trial("b", ["a"], [1.0, 1.0], {"a": [-2.0] * 10}, [-1.0, -1.0])
    refused = trial("c", [], [], {}, refused="too few usable samples")
    op = operating_point([("a", a), ("b", b), ("c", refused)])
    assert op["frr"] == pytest.approx(1 / 6) and op["errors_genuine"] == 1
    assert op["far_random"] == pytest.approx(1 / 20) and op["n_random"] == 20
    assert op["far_skilled"] == pytest.approx(1 / 4)
    assert op["accounts"] == 2 and op["failure_to_enroll"] == pytest.approx(1 / 3)
    assert op["refused"] == [{"identity": "c", "seed": 0, "reason": "too few usable samples"}]
    assert op["accounts_far_over_5pct"] == pytest.approx(0.5)  # a accepts 10 % of b
    assert [w["identity"] for w in op["worst_far_random"]] == ["a", "b"]
    assert op["worst_far_random"][0]["far_random"] == pytest.approx(0.1)
    assert op["worst_frr"][0] == {"identity": "a", "seed": 0, "frr": 0.25, "far_random": 0.1,
                                  "far_skilled": 0.5}
    strict = operating_point([("a", a)], level="high")  # threshold one unit higher
    assert strict["frr"] == pytest.approx(2 / 4) and strict["far_random"] == 0.0


def account(owner: str, people: list[str], lenient: bool = False) -> Trial:
    """``owner``'s account: samples s0-s3 of everyone, s0-s1 of the owner are references.
    It accepts the owner's s2, s3 (+1) and rejects the rest (-1); a ``lenient`` account also
    accepts every other person's s0 (+0.5)."""
    files, who, types, dec = [], [], [], []
    for p in people:
        for k in range(4):
            if p == owner and k < 2:
                continue
            files.append(f"{p}/s{k}")
            who.append(p)
            types.append("genuine" if p == owner else "random")
            dec.append(1.0 if p == owner else (0.5 if lenient and k == 0 else -1.0))
    d = np.array(dec)
    return Trial("m", 0, files, who, np.array(types), d, 0.0, d, 0.0, 0.0, 0.0, [], fold=0)


def test_identification_names_enrolled_people_and_rejects_the_others() -> None:
    people = ["p1", "p2", "p3", "p4"]
    fold_of = {p: 0 for p in people}
    trials = {p: [account(p, people, lenient=(p == "p2"))] for p in people}
    r = identification(trials, "m", fold_of, seed=0)
    enrolled = sorted(np.array(people)[np.random.default_rng(0).permutation(4)][:2])
    assert r["enrolled_probes"] == 2 * 2 and r["never_enrolled_probes"] == 2 * 4
    if "p2" in enrolled:  # the lenient account names each never-enrolled person's s0
        assert r["never_enrolled_rejected"] == pytest.approx(6 / 8)
    else:
        assert r["never_enrolled_rejected"] == 1.0
    assert r["enrolled_identified_correctly"] == 1.0


def test_identification_needs_every_pair_scored() -> None:
    people = ["p1", "p2"]
    trials = {p: [account(p, [p])] for p in people}  # no account saw the other's samples
    assert identification(trials, "m", {"p1": 0, "p2": 0}) is None


def test_identification_raises_calibrated_thresholds_with_the_number_of_accounts() -> None:
    """Every account lets in every stranger's s0 by a margin of 0.5 over its login threshold;
    a search among N = 2 accounts asks the threshold of FAR / 2 (here 0.6 higher: the
    calibration's thresholds rise 2 per decade of FAR between normal and high), so it names
    none of them, while the owners (margin 1) are still named."""
    people = ["p1", "p2", "p3", "p4"]
    fold_of = {p: 0 for p in people}
    trials = {p: [account(p, people, lenient=True)] for p in people}
    plain = identification(trials, "m", fold_of, seed=0)
    assert plain["never_enrolled_rejected"] == pytest.approx(6 / 8)
    for ts in trials.values():
        ts[0].calibration_thresholds = {"low": 0.0, "normal": 1.0, "high": 3.0}
        ts[0].security = "normal"
        ts[0].level_thresholds = {lv: 0.0 for lv in ("low", "normal", "high")}
    r = identification(trials, "m", fold_of, seed=0)
    assert r["enrolled_accounts"] == [2, 2]
    assert r["never_enrolled_rejected"] == 1.0 and r["enrolled_identified_correctly"] == 1.0
    assert identification(trials, "m", fold_of, seed=0, level="high") == r
    # the low level's threshold for 1 % / 2 lies 0.3 above it: the strangers' 0.5 passes
    low = identification(trials, "m", fold_of, seed=0, level="low")
    assert low["never_enrolled_rejected"] == pytest.approx(6 / 8)
