"""Load a script that is not a package module (``benchmarks/``, ``scripts/``, a test data
folder's ``make.py``) as a module, so tests can call its functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_script(path: Path, name: str | None = None) -> ModuleType:
    """The module of the Python file ``path`` (named ``name``, default its stem), executed
    once per call and registered in ``sys.modules`` (dataclasses look their module up)."""
    name = name or Path(path).stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
