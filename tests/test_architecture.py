"""The package structure the design promises, read from the source (issue 25).

Imports are read with ``ast`` -- also those inside functions, which Python only runs late
but which still tie two modules together -- so a cycle shows here before it bites at run
time in some rarely taken path. Imports under ``if TYPE_CHECKING:`` are left out: they never
run, they only name a type for the checker (a repository annotating the service it serves).
Modules stay small enough to read in one sitting.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "capture", "models", "authapp")
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The project modules an import statement loads (the deepest one named)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            here = module.split(".")
            if MODULES[module].name != "__init__.py":
                here = here[:-1]
            here = here[:len(here) - (node.level - 1)]
            base = ".".join(here + ([base] if base else []))
        names = [f"{base}.{alias.name}" for alias in node.names]
        names = [n if n in MODULES else base for n in names]
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            yield name


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imports_that_run(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except those only a type checker reads."""
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif _type_checking_only(node):
            todo.extend(node.orelse)  # type: ignore[attr-defined]
        else:
            todo.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for node in imports_that_run(ast.parse(path.read_text(encoding="utf-8"))):
            graph[module].update(_targets(module, node))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root, targets in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(targets)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_function_level_imports_count_and_type_only_ones_do_not() -> None:
    tree = ast.parse("from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    from authapp import store\n"
                     "def f():\n    from authapp import services\n")
    found = [t for n in imports_that_run(tree) for t in _targets("authapp.cli", n)]
    assert found == ["authapp.services"]


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


LAYERS = ("core", "capture", "models", "authapp")
"""Bottom to top: a module may import its own layer and those below it, never one above."""


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    return sorted((m, t) for m, ts in graph.items() for t in ts
                  if rank[t.split(".")[0]] > rank[m.split(".")[0]])


def test_the_layer_check_finds_a_planted_upward_import() -> None:
    graph = {"core.files": {"capture.trajectory"}, "capture.trajectory": {"core.errors"},
             "core.errors": set(), "models.dtw": {"authapp.store"}, "authapp.store": set()}
    assert upward_imports(graph) == [("core.files", "capture.trajectory"),
                                     ("models.dtw", "authapp.store")]


def test_data_flows_one_way_core_capture_models_authapp() -> None:
    assert upward_imports(import_graph()) == []


def test_errors_and_atomic_files_live_only_in_core() -> None:
    """One home for the shared rules (issue 25): the old ``capture`` modules are gone."""
    assert "core.errors" in MODULES and "core.files" in MODULES
    assert "capture.errors" not in MODULES and "capture.files" not in MODULES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(REPO)}: {lines} lines"
