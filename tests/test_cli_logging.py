"""The CLI shows library log messages on stderr: warnings by default, none with ``-q``, INFO
with ``-v``; ``-v`` and ``-q`` exclude each other, before or after the command."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from authapp.cli import main, stderr_logging

SKIPPED = "WARNING: skipped "  # capture.datasets: each file of the folder it cannot use
LOADED = "genuine recordings and 0 forgeries of 4 identities"  # its INFO line on fmkit_leap


@pytest.fixture
def data(fmkit_dir: Path, tmp_path: Path) -> Path:
    """FMKit's folder under a new name (links to its files): the harness caches the data set
    it read last per folder, and these tests need it read (and its warnings given) again."""
    return _linked_copy(fmkit_dir, tmp_path / "fmkit")


def _linked_copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for entry in src.iterdir():
        (dst / entry.name).symlink_to(entry)
    return dst


def _experiment(data: Path, *flags: str, before: tuple[str, ...] = ()) -> list[str]:
    """``authapp [before] experiment DATA ... [flags]``: reads the data set (FMKit's files
    Chinese_client0_word0 and English_client0_word0 are skipped), then stops with an error
    before any enrollment (nobody has 51 genuine samples)."""
    return [*before, "experiment", str(data), "--methods", "dtw", "--references", "50",
            "--out", str(data.parent / "out"), *flags]


def test_library_warning_on_stderr_by_default(data: Path, capsys) -> None:
    assert main(_experiment(data)) == 2
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if SKIPPED in line]
    assert len(warnings) == 2 and all(line.startswith("authapp: WARNING: ") for line in warnings)
    assert "Chinese_client0_word0" in err and LOADED not in err
    assert "authapp experiment: error: no identity" in err


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_hides_warnings_not_errors(data: Path, capsys,
                                         where: str) -> None:
    argv = (_experiment(data, before=("-q",)) if where == "before" else
            _experiment(data, "--quiet"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert SKIPPED not in err and LOADED not in err
    assert err.strip().startswith("authapp experiment: error: no identity")


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_shows_info(data: Path, capsys, where: str) -> None:
    argv = (_experiment(data, before=("-v",)) if where == "before" else
            _experiment(data, "--verbose"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"authapp: INFO: {data}: " in err and LOADED in err
    assert err.count(SKIPPED) == 2


@pytest.mark.parametrize("argv", [["-v", "-q", "users"], ["users", "-q", "-v"],
                                  ["-v", "users", "-q"], ["-q", "users", "--verbose"]])
def test_verbose_and_quiet_exclude_each_other(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_logging_set_up_for_one_command_only(fmkit_dir: Path, tmp_path: Path,
                                             capsys) -> None:
    """Calling ``main`` again in one process neither doubles the messages nor leaves a
    handler or a changed level behind."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    for k in range(2):
        assert main(_experiment(_linked_copy(fmkit_dir, tmp_path / f"d{k}"), "-v")) == 2
        assert capsys.readouterr().err.count(LOADED) == 1
    assert root.handlers == handlers and root.level == level


def test_verbose_shows_only_our_info(capsys) -> None:
    """``-v`` is about AirAuth: other libraries' INFO chatter stays hidden, their warnings
    do not."""
    with stderr_logging(logging.INFO):
        logging.getLogger("authapp.some_module").info("ours")
        logging.getLogger("models.dtw").info("ours too")
        logging.getLogger("numba.core").info("theirs")
        logging.getLogger("numba.core").warning("their warning")
    err = capsys.readouterr().err
    assert "ours" in err and "ours too" in err and "their warning" in err
    assert "theirs" not in err
