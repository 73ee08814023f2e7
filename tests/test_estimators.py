"""Verifiers, generators and detectors are scikit-learn estimators (issue 16).

``clone`` / ``get_params`` / ``set_params`` work as in scikit-learn, constructors do no work,
unknown or invalid parameters are the product's ``ParameterError`` (exit status 2 from the CLI),
and the fusion's members are estimator objects that it clones rather than fits in place.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from authapp.cli import main
from capture.trajectory import Trajectory, TrajectoryMeta
from models.base import ParameterError
from models.dtw_verifier import DTWVerifier
from models.fusion import FusionVerifier
from models.pseudo import GENERATORS, make_generator
from models.registry import VERIFIERS, make_verifier
from models.svm import SVMVerifier


def _traj(rng: np.random.Generator, user: str, k: int) -> Trajectory:
    t = np.linspace(0, 2 * np.pi, 80)
    pts = 50 * np.column_stack([np.sin(t * (1 + (user == "b"))), np.cos(t), 0.1 * t])
    pts = pts + rng.normal(0, 1.0, pts.shape)
    return Trajectory(t / 4, pts, meta=TrajectoryMeta(user=user, source=f"{user}{k}"))


@pytest.mark.parametrize("name", sorted(VERIFIERS))
def test_every_verifier_clones_to_the_same_parameters(name):
    v = make_verifier(name)
    c = clone(v)
    assert c is not v and type(c) is type(v)
    assert c.get_params(deep=False).keys() == v.get_params(deep=False).keys()
    assert not hasattr(c, "threshold_")  # a clone is unfitted


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_every_generator_clones_to_the_same_parameters(name):
    g = make_generator(name)
    assert clone(g).get_params(deep=False) == g.get_params(deep=False)


@pytest.mark.parametrize("name", sorted(VERIFIERS))
def test_unknown_parameter_is_a_parameter_error(name):
    with pytest.raises(ParameterError, match="no_such_param"):
        make_verifier(name, no_such_param=1)
    with pytest.raises(ParameterError):
        make_verifier(name).set_params(no_such_param=1)


def test_invalid_value_is_refused_at_fit_not_in_the_constructor():
    rng = np.random.default_rng(0)
    refs = [_traj(rng, "a", k) for k in range(4)]
    bad = DTWVerifier(min_weight=7.0)  # the constructor stores it as given
    assert bad.min_weight == 7.0
    with pytest.raises(ParameterError, match="min_weight"):
        bad.fit(refs)


def test_fusion_clones_its_members_and_takes_nested_parameters():
    rng = np.random.default_rng(1)
    refs = [_traj(rng, "a", k) for k in range(5)]
    others = [_traj(rng, "b", k) for k in range(5)]
    dtw = DTWVerifier()
    fusion = FusionVerifier(members=[("dtw", dtw), ("svm", SVMVerifier())])
    fusion.fit(refs)
    assert not hasattr(dtw, "threshold_"), "the given member object must stay unfitted"
    params = fusion.get_params()
    assert params["dtw"] is dtw and "dtw__min_weight" in params
    fusion.set_params(dtw__min_weight=0.5)
    assert fusion.get_params()["dtw__min_weight"] == 0.5
    twin = clone(fusion).fit(refs)
    np.testing.assert_allclose(twin.score_samples(refs + others),
                               clone(twin).fit(refs).score_samples(refs + others))


def test_cli_reports_a_bad_parameter_as_exit_2(tmp_path, capsys, fmkit_dir):
    rc = main(["experiment", str(fmkit_dir), "--format", "fmkit", "--methods", "dtw",
               "--seeds", "1", "--param", "dtw.no_such_param=1", "--out", str(tmp_path),
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "no_such_param" in err and "Traceback" not in err


def test_cli_passes_generator_parameters_and_refuses_unknown_ones(tmp_path, capsys, fmkit_dir):
    """``--param GENERATOR.NAME=JSON`` reaches the pseudo-data generator (here refused as
    unknown before anything is trained); a name that is neither a method nor a generator is
    refused with the same exit status."""
    rc = main(["experiment", str(fmkit_dir), "--format", "fmkit", "--methods", "dtw",
               "--seeds", "1", "--pseudo", "on", "--generators", "gan",
               "--param", "gan.no_such_param=1", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "no_such_param" in err and "Traceback" not in err
    rc = main(["experiment", str(fmkit_dir), "--format", "fmkit", "--methods", "dtw",
               "--seeds", "1", "--param", "svm.C=1", "--out", str(tmp_path), "--no-progress"])
    assert rc == 2 and "not in --methods or --generators" in capsys.readouterr().err
