"""Start-up cost of the CLI (issue 24): building the parser imports no command module but
the one being run, and none of the heavy libraries; the command table matches the modules.
Timings are for ``benchmarks/bench_cli.py``; here only what is imported is checked."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import authapp.commands
from authapp.cli import build_parser, command_of
from authapp.commands import COMMANDS, module_name

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sklearn", "matplotlib", "scipy", "pandas", "numba", "joblib", "PyQt5",
         "numpy")


def _imported_after(code: str) -> set[str]:
    """Top-level packages and authapp modules in ``sys.modules`` after ``code`` runs in a
    fresh interpreter."""
    probe = (f"{code}\nimport sys, json\n"
             "print(json.dumps(sorted(sys.modules)))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=120, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_parser_imports_nothing_heavy() -> None:
    mods = _imported_after("import authapp.cli\nauthapp.cli.build_parser(['--help'], "
                           "full=False).format_help()")
    heavy = sorted(m for m in mods if m.split(".")[0] in HEAVY)
    assert heavy == [], f"building the parser imported {heavy[:10]}"
    commands = sorted(m for m in mods if m.startswith("authapp.commands."))
    assert commands == [], f"building the parser imported command modules {commands}"


def test_login_parser_imports_only_login() -> None:
    mods = _imported_after("import authapp.cli\nauthapp.cli.build_parser(['-v', 'login', "
                           "'u', 'f'], full=False)")
    assert sorted(m for m in mods if m.startswith("authapp.commands.")) == \
        ["authapp.commands.login"]
    assert not [m for m in mods if m.split(".")[0] in HEAVY[:-1]]


def test_full_parser_imports_no_heavy_library() -> None:
    """Every command module keeps heavy imports inside ``run``."""
    mods = _imported_after("import authapp.cli\nauthapp.cli.build_parser()")
    heavy = sorted({m.split(".")[0] for m in mods if m.split(".")[0] in
                    ("torch", "sklearn", "matplotlib", "pandas", "PyQt5")})
    assert heavy == []


def test_command_table_matches_modules() -> None:
    names = {m.name for m in pkgutil.iter_modules(authapp.commands.__path__)
             if not m.name.startswith("_")}
    assert {module_name(c).rsplit(".", 1)[1] for c in COMMANDS} == names
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert helps == COMMANDS, "COMMANDS' help lines differ from the ones the modules register"


def test_command_of() -> None:
    assert command_of(["-v", "login", "u", "f"]) == "login"
    assert command_of(["--help"]) is None
    assert command_of([]) is None
    assert command_of(["--", "login"]) is None


def test_lazy_and_full_parsers_agree(tmp_path) -> None:
    argv = ["login", "alice", str(tmp_path / "a.npz"), "--store", str(tmp_path), "-v"]
    lazy = build_parser(argv, full=False).parse_args(argv)
    full = build_parser().parse_args(argv)
    assert vars(lazy) == vars(full)


def test_store_reading_commands_import_no_compiler(tmp_path) -> None:
    """``users``, ``settings`` and ``unlock`` only read or edit the store: run end to end, they
    import neither numba (the replay alignment, the DTW), scipy, scikit-learn nor torch."""
    from authapp.store import EnrollmentStore

    store = tmp_path / "store"
    EnrollmentStore(store).close()
    for argv in (["users", "--store", str(store)],
                 ["settings", "--store", str(store)],
                 ["unlock", "nobody", "--admin", "--store", str(store)]):
        mods = _imported_after("import authapp.cli, contextlib, io\n"
                               "with contextlib.redirect_stdout(io.StringIO()), "
                               "contextlib.redirect_stderr(io.StringIO()):\n"
                               f"    authapp.cli.main({argv!r})")
        heavy = sorted({m.split(".")[0] for m in mods} & {"numba", "scipy", "sklearn", "torch"})
        assert heavy == [], f"authapp {argv[0]} imported {heavy}"
        assert "authapp.services" in mods  # the command did run through the service
