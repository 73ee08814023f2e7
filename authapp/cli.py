"""The ``authapp`` console entry point.

Subcommands live in ``authapp.commands.<name>``, each with a ``register(subparsers)`` that
adds its parser and sets ``func``. Exit codes: 0 success (accepted, identified), 1 a
negative answer (rejected, not identified), 2 an error the user can act on (an
``AirAuthError``, printed as one line), 3 an internal error (a bug: one line, the traceback
in the log file ``$AIRAUTH_LOG`` or ``~/.cache/airauth/authapp.log``, and on stderr with
``-v``), 130 interrupted. A crash never exits 0 or 1.

Library modules report through ``logging`` (``log = logging.getLogger(__name__)``), never
``print``; ``main`` is where those messages get a handler: stderr, WARNING and above by
default, INFO and above with ``-v``, errors only with ``-q`` (the GUI and the scripts may set up
their own).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from authapp.textsafe import printable
from core.errors import AirAuthError

EXIT_ERROR = 2
EXIT_INTERNAL = 3
LOG_ENV = "AIRAUTH_LOG"
LOG_FORMAT = "authapp: %(levelname)s: %(message)s"
OWN_LOGGERS = ("authapp", "capture", "models")
"""Packages whose INFO messages ``-v`` shows (other libraries' only from WARNING up)."""

EPILOG = ("exit status: 0 success, 1 rejected / not identified, 2 error (bad input, unknown "
          "user, ...), 3 internal error (details in the log file: $AIRAUTH_LOG or "
          "~/.cache/airauth/authapp.log; -v prints them)")


def command_of(argv: Sequence[str] | None) -> str | None:
    """The subcommand ``argv`` names: its first argument that is not an option (the top-level
    options ``-v`` / ``-q`` / ``-h`` take no value), or None."""
    for arg in sys.argv[1:] if argv is None else argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: Sequence[str] | None = None, *, full: bool | None = None
                 ) -> argparse.ArgumentParser:
    """The ``authapp`` parser. Every command appears in it, but only the one ``argv`` names
    is imported and given its real arguments (start-up time: a login must not import the
    experiment harness, torch or matplotlib); the others are placeholders with their help
    line from ``authapp.commands.COMMANDS``. ``full`` (default: when no ``argv`` is given)
    imports and registers every command, for tools that inspect the whole parser."""
    from authapp.commands import COMMANDS, module_name

    if full is None:
        full = argv is None
    chosen = None if full else command_of(argv)
    parser = argparse.ArgumentParser(
        prog="authapp", description="AirAuth: in-air handwriting biometric authentication",
        epilog=EPILOG,
    )
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true",
                          help="say more: scores and thresholds of rejections, tracebacks, "
                          "progress messages")
    loudness.add_argument("-q", "--quiet", action="store_true",
                          help="say less: no warnings (errors only) on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in sorted(COMMANDS):
        if full or name == chosen:
            importlib.import_module(module_name(name)).register(sub)
        else:
            sub.add_parser(name, help=COMMANDS[name])
    for p in sub.choices.values():  # -v/-q also after the command; SUPPRESS keeps a leading one
        group = p.add_mutually_exclusive_group()
        group.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                           help="say more (scores of rejections, tracebacks)")
        group.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                           help="say less (errors only on stderr)")
    return parser


def log_level(args: argparse.Namespace) -> int:
    """The least severe log messages shown: INFO with ``-v``, ERROR with ``-q``, else WARNING."""
    if getattr(args, "verbose", False):
        return logging.INFO
    if getattr(args, "quiet", False):
        return logging.ERROR
    return logging.WARNING


@contextlib.contextmanager
def stderr_logging(level: int) -> Iterator[logging.Handler]:
    """Library log messages at ``level`` and above on stderr, for the length of one command.

    A handler of its own on the root logger (``logging.basicConfig`` does nothing when a host
    such as pytest has already installed one), removed again afterwards with the level put
    back, so calling ``main`` twice in one process neither doubles nor leaks it.
    """
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(level)
    handler.addFilter(lambda r: r.levelno >= logging.WARNING
                      or r.name.partition(".")[0] in OWN_LOGGERS)
    before = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(before)


def log_path() -> Path:
    env = os.environ.get(LOG_ENV)
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "airauth" / \
        "authapp.log"


def _log_crash(argv: Sequence[str] | None) -> str:
    """Append the current exception's traceback to the log file; returns where (or why not)."""
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} authapp "
                     f"{' '.join(map(str, sys.argv[1:] if argv is None else argv))}\n")
            fh.write(traceback.format_exc())
        return f"details in {path}"
    except OSError as exc:
        return f"could not write {path}: {exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv, full=False)
    args = parser.parse_args(argv)
    verbose = bool(getattr(args, "verbose", False))
    if verbose and getattr(args, "quiet", False):  # one before the command, one after it
        parser.error("argument -q/--quiet: not allowed with argument -v/--verbose")
    with stderr_logging(log_level(args)):
        return _run(args, argv, verbose)


def _run(args: argparse.Namespace, argv: Sequence[str] | None, verbose: bool) -> int:
    """Run the chosen command, turning every way it can end into an exit status."""
    try:
        return int(args.func(args) or 0)
    except AirAuthError as exc:
        print(printable(f"authapp {args.command}: error: {exc}"), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head` that exited early: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the catch-all: a bug is reported, not a traceback
        where = _log_crash(argv)
        if verbose:
            traceback.print_exc()
        print(printable(f"authapp {args.command}: internal error ({type(exc).__name__}: "
                        f"{str(exc)[:200]}); {where}; please report it"), file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
