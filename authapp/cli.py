"""The ``authapp`` console entry point.

Subcommands live in ``authapp.commands.<name>``, each with a ``register(subparsers)`` that
adds its parser and sets ``func``. Errors meant for users (``AirAuthError``) are printed as
one line and exit with status 2 instead of a stack trace.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from capture.errors import AirAuthError

EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    from authapp import commands

    parser = argparse.ArgumentParser(
        prog="authapp", description="AirAuth: in-air handwriting biometric authentication"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"authapp.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AirAuthError as exc:
        print(f"authapp {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head` that exited early: not an error of ours.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
