"""The layout keeps its promises: imports flow one way (no cycle; nothing in steps/ or signals/ reaches up to a
command module), train/ never imports curate/, and every registered step lives in its role's folder."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# the top of the graph: `curate` itself and every module that defines click commands
COMMANDS = {"curate.cli", "curate.runner"} | {
    module_name(p) for p in (ROOT / "curate").rglob("*.py") if "import click" in p.read_text()
}
ROLES = {"readers", "extract", "filters", "dedup", "transforms"}


def imports(package: str) -> dict[str, set[str]]:
    """module -> the project modules it imports (at module level, or inside a function: both are arrows)."""
    files = sorted((ROOT / package).rglob("*.py"))
    names = {module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            found = []
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            targets |= {n for n in found if n in names}
        graph[module_name(path)] = targets - {module_name(path)}
    return graph


def module_level_imports(package: str) -> dict[str, set[str]]:
    files = sorted((ROOT / package).rglob("*.py"))
    names = {module_name(p) for p in files}
    graph = {}
    for path in files:
        targets = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {n for n in [node.module] + [f"{node.module}.{a.name}" for a in node.names] if n in names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name in names}
        graph[module_name(path)] = targets - {module_name(path)}
    return graph


def test_no_import_cycle():
    graph = module_level_imports("curate")
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*stack[stack.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_steps_and_signals_never_import_a_command_module():
    for module, targets in imports("curate").items():
        if module.startswith(("curate.steps", "curate.signals")):
            assert not targets & COMMANDS, f"{module} imports {targets & COMMANDS}"
        if module.startswith("curate.signals"):
            assert not any(t.startswith("curate.steps") for t in targets), f"{module} (pure) imports a step"


def test_train_never_imports_curate():
    for path in (ROOT / "train").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(m == "curate" or m.startswith("curate.") for m in mods), f"{path} imports curate"


def test_every_registered_step_sits_in_its_role_folder():
    from curate.registry import all_steps

    for name, cls in all_steps().items():
        parts = cls.__module__.split(".")
        assert parts[:2] == ["curate", "steps"] and parts[2] in ROLES, f"{name} is in {cls.__module__}"
