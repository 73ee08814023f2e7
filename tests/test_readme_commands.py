"""README's command lines against the real CLI, so that README and ``authapp`` cannot drift.

Every synopsis line of README's "## Command line" block is expanded (real recordings and temp
folders for its placeholders, each ``a|b`` alternative in turn, with and without its optional
``[...]`` groups) and parsed by ``authapp.cli``'s own parser. The cheap ones then run for real
on a temporary store, and so does every concrete ``authapp`` line of the section's other
blocks (the first session), with the exit status its comment states. ``authapp`` lines in
fenced blocks elsewhere in README are parsed too.
"""

from __future__ import annotations

import glob
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from authapp.cli import build_parser
from authapp.cli import main as cli_main

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SECTION = "## Command line"

CHEAP = ("info", "convert", "enroll", "login", "identify", "users", "replay", "record",
         "delete")
"""Commands that take seconds on FMKit recordings: run for real, in this order."""

README_DATA = "../shared/data"
"""How README names the data folder (relative to the repository root)."""

PROG = re.compile(r"^(?:\.venv/bin/)?authapp\s")


# -- reading README ---------------------------------------------------------------------------
def fenced_blocks(text: str) -> list[tuple[str, list[str]]]:
    """(the heading above, the lines) of every fenced code block."""
    blocks, heading, lines, inside = [], "", [], False
    for line in text.splitlines():
        if line.startswith("```"):
            if inside:
                blocks.append((heading, lines))
            inside, lines = not inside, []
        elif inside:
            lines.append(line)
        elif line.startswith("## "):
            heading = line.strip()
    return blocks


def command_lines(lines: list[str]) -> list[str]:
    """The ``authapp`` command lines of a block: indented lines continue the one above them,
    ``#`` starts a comment (kept, for "exit N")."""
    out: list[str] = []
    for line in lines:
        if PROG.match(line):
            out.append(PROG.sub("authapp ", line, count=1))
        elif out and line[:1].isspace() and not line.strip().startswith("#"):
            out[-1] = out[-1].split("#", 1)[0].rstrip() + " " + line.strip()
    return out


def synopsis_lines() -> list[str]:
    blocks = [lines for heading, lines in fenced_blocks(README.read_text()) if heading == SECTION]
    assert blocks, f"README has no fenced block under {SECTION!r}"
    lines = command_lines(blocks[0])
    assert len(lines) >= 10, lines
    return lines


def example_lines() -> list[str]:
    """Concrete lines of the section's other blocks (the first session)."""
    blocks = [lines for heading, lines in fenced_blocks(README.read_text()) if heading == SECTION]
    return [line for lines in blocks[1:] for line in command_lines(lines)]


def elsewhere_lines() -> list[str]:
    return [line for heading, lines in fenced_blocks(README.read_text())
            if heading != SECTION for line in command_lines(lines)]


# -- synopsis -> argv ---------------------------------------------------------------------------
def placeholders(data: Path, tmp: Path, command: str) -> dict[str, list[str]]:
    """Real values for README's placeholders; FILE depends on the command (a login uses a
    recording that was not enrolled, so that it is accepted)."""
    fmkit = data / "fmkit_leap"
    luduo = [str(fmkit / f"luduo_luduo_{i:02d}.txt") for i in range(1, 11)]
    file = {"login": luduo[5], "identify": luduo[6], "replay": luduo[7],
            "record": luduo[8], "delete": luduo[9]}.get(command, luduo[0])
    out = {"record": tmp / "recorded.npz", "convert": tmp / "converted.npz"}.get(
        command, tmp / "out.npz")
    return {"FILE": [file], "FILE...": luduo[:5], "IN": [luduo[0]], "OUT": [str(out)],
            "DIR": [str(tmp / "store")], "USER": ["luduo"], "U": ["luduo"], "F": ["fmkit"],
            "K": ["5"], "S": ["0"], "N": ["2"], "LIST": ["0,1"],
            "DATA_DIR": [str(fmkit)], "OUT_DIR": [str(tmp / "experiment")],
            "NAME.PARAM=JSON": ["dtw.window=0.1"], "FAR": ["0.05"], "MARGIN": ["1.5"],
            "KEY": ["max_failures"], "VALUE": ["5"],
            "SCORES": [str(tmp / "experiment" / "scores.csv")],
            "ADDRESS": ["tcp://127.0.0.1:8786"], "SECONDS": ["1"]}


def is_placeholder(token: str) -> bool:
    return bool(re.fullmatch(r"[A-Z][A-Z_.=]*(\.\.\.)?", token))


def expand(line: str, values: dict[str, list[str]], optional: str | set[str],
           variant: int) -> list[str]:
    """argv for one reading of a synopsis line: ``optional`` "all", "none", or the set of
    options whose ``[...]`` groups to include; alternative ``variant`` of each ``a|b`` and
    of each ``(a ... | b ...)`` group."""
    line = re.sub(r"\(([^()]*)\)", lambda m: _choose(m.group(1).split(" | "), variant),
                  line.split("#", 1)[0])
    tokens = line.replace("[", " [ ").replace("]", " ] ").split()
    argv: list[str] = []
    groups: list[list[str]] = []  # open [...] groups, innermost last (they may nest)
    for token in tokens[1:]:  # tokens[0] is "authapp"
        if token == "[":
            groups.append([])
            continue
        if token == "]":
            assert groups and groups[-1], f"empty or unopened [] in README line: {line}"
            group = groups.pop()
            if optional == "all" or (optional != "none" and group[0] in optional):
                (groups[-1] if groups else argv).extend(group)
            continue
        alternatives = token.split("|")
        choice = alternatives[min(variant, len(alternatives) - 1)]
        if is_placeholder(choice):
            assert choice in values, (f"README line uses the placeholder {choice}, which "
                                      f"this test does not know: add it ({line})")
            words = values[choice]
        else:
            words = [choice]
        (groups[-1] if groups else argv).extend(words)
    assert not groups, f"unclosed [ in README line: {line}"
    return argv


def _choose(alternatives: list[str], variant: int) -> str:
    return alternatives[min(variant, len(alternatives) - 1)].strip()


def n_variants(line: str) -> int:
    text = line.split("#", 1)[0]
    groups = [len(g.split(" | ")) for g in re.findall(r"\(([^()]*)\)", text)]
    text = re.sub(r"\([^()]*\)", " ", text)
    return max([len(t.split("|")) for t in text.split()] + groups)


def parse(argv: list[str], capsys) -> None:
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"argparse refused README's `authapp {shlex.join(argv)}` (exit "
                    f"{exc.code}): {capsys.readouterr().err.strip().splitlines()[-1]}")


# -- the tests --------------------------------------------------------------------------------
def test_every_command_has_a_synopsis_line() -> None:
    documented = {line.split()[1] for line in synopsis_lines()}
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) <= documented, (
        f"commands missing from README's synopsis: {sorted(set(sub.choices) - documented)}")


def test_every_synopsis_line_parses(shared_data, tmp_path, capsys) -> None:
    n = 0
    for line in synopsis_lines():
        command = line.split()[1]
        values = placeholders(shared_data, tmp_path, command)
        for optional in ("all", "none"):
            for variant in range(n_variants(line)):
                parse(expand(line, values, optional, variant), capsys)
                n += 1
    assert n >= 30  # every line, both readings, every alternative


def test_readme_synopsis_drift_is_caught(shared_data, tmp_path, capsys) -> None:
    """The check itself: the option README used to show (--reenroll) is refused."""
    line = "authapp enroll USER FILE... [--store DIR] [--reenroll]"
    argv = expand(line, placeholders(shared_data, tmp_path, "enroll"), "all", 0)
    with pytest.raises(pytest.fail.Exception, match="--reenroll"):
        parse(argv, capsys)


def test_cheap_synopsis_lines_run_for_real(shared_data, tmp_path, capsys) -> None:
    """The synopsis with its store (never the default one) and replay options, run in order
    on real FMKit recordings: every line works as README shows it."""
    lines = {line.split()[1]: line for line in synopsis_lines()}
    printed: dict[str, str] = {}
    for command in CHEAP:
        values = placeholders(shared_data, tmp_path, command)
        argv = expand(lines[command], values, {"--store", "--replay", "--user"}, 0)
        code = cli_main(argv)
        out = capsys.readouterr()
        assert code == 0, f"`authapp {shlex.join(argv)}` exited {code}: {out.err}"
        printed[command] = out.out
    assert "frames" in printed["info"] and (tmp_path / "converted.npz").is_file()
    assert "luduo" in printed["enroll"] and "luduo" in printed["users"]
    assert printed["login"].startswith("accepted")
    assert "identified as 'luduo'" in printed["identify"]
    assert "decision:  accept" in printed["replay"]
    assert printed["record"].startswith("wrote") and (tmp_path / "recorded.npz").is_file()
    assert "deleted user 'luduo'" in printed["delete"]
    assert cli_main(["users", "--store", str(tmp_path / "store")]) == 0
    assert "luduo" not in capsys.readouterr().out


def run_example(line: str, data: Path, tmp_path: Path, capsys) -> tuple[int, str]:
    """Run one README example line in-process: ``../shared/data`` is the test data folder,
    other relative paths start at the repository root, ``--store``/``--out`` folders move
    under ``tmp_path``; returns (exit, stderr)."""
    argv = shlex.split(line.split("#", 1)[0])[1:]
    words: list[str] = []
    for i, word in enumerate(argv):
        path = (str(data) + word[len(README_DATA):] if word.startswith(README_DATA)
                else str(REPO / word))
        if i and argv[i - 1] in ("--store", "--out", "-o"):
            words.append(str(tmp_path / word))
        elif any(c in word for c in "*?[") and not word.startswith("-"):
            found = sorted(glob.glob(path))
            assert found, f"README example {line!r}: {word} matches no file"
            words += found
        elif not word.startswith("-") and Path(path).exists():
            words.append(path)
        else:
            words.append(word)
    assert argv[0] not in CHEAP or "--store" in argv or argv[0] in ("info", "convert"), (
        f"README example {line!r} would use the default store: give it --store")
    code = cli_main(words)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_first_session_runs_twice_in_a_row_with_the_exit_codes_it_states(
        shared_data, tmp_path, capsys) -> None:
    """A newcomer repeats the walk-through on the same store: every line exits as its
    comment says both times, and nothing is ever locked."""
    lines = example_lines()
    assert len(lines) >= 5 and any(" enroll " in f" {x} " for x in lines)
    for round_ in (1, 2):
        for line in lines:
            stated = re.search(r"#.*\bexit (\d)", line)
            code, said = run_example(line, shared_data, tmp_path, capsys)
            assert code == (int(stated.group(1)) if stated else 0), (
                f"round {round_}: README's `{line.split('#')[0].strip()}` exited {code}: {said}")
            assert "locked" not in said, f"round {round_}: {line}: {said}"
            if "replay" in line.split("#", 1)[-1]:
                assert "a recording can log in only once" in said, said
    assert (tmp_path / "demo_store").is_dir()


def test_replay_and_lock_messages_say_what_to_do_next(shared_data, tmp_path, capsys) -> None:
    fmkit = shared_data / "fmkit_leap"
    store = ["--store", str(tmp_path / "s")]
    luduo = [str(fmkit / f"luduo_luduo_{i:02d}.txt") for i in range(1, 11)]
    assert cli_main(["enroll", "luduo", *luduo[:5], *store]) == 0
    assert cli_main(["settings", "max_failures", "2", *store]) == 0
    assert cli_main(["login", "luduo", luduo[6], *store]) == 0
    capsys.readouterr()
    assert cli_main(["login", "luduo", luduo[6], *store]) == 1  # the same file again
    said = capsys.readouterr().out
    assert "replay attack suspected" in said
    assert "write it again: a recording can log in only once" in said
    assert cli_main(["login", "luduo", str(fmkit / "luduo_jisuanji_01.txt"), *store]) == 1
    said = capsys.readouterr().out
    assert "locked until" in said and "authapp unlock luduo --admin" in said
    assert cli_main(["login", "luduo", luduo[8], *store]) == 1  # while locked
    said = capsys.readouterr().out
    assert "is locked" in said and "authapp unlock luduo --admin" in said


def test_authapp_lines_elsewhere_parse(capsys) -> None:
    for line in elsewhere_lines():
        parse(shlex.split(line.split("#", 1)[0])[1:], capsys)


def test_the_installed_command_runs(shared_data) -> None:
    """README says `.venv/bin/authapp`: the console script of this very environment."""
    authapp = Path(sys.executable).with_name("authapp")
    proc = subprocess.run([str(authapp), "info",
                           str(shared_data / "fmkit_leap" / "luduo_luduo_01.txt")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "frames" in proc.stdout
