"""The layout keeps its promises: imports flow one way (no cycle; nothing in steps/ or signals/ reaches up to a
command module), train/ never imports curate/, and every registered step lives in its role's folder. In train/: no
import cycle, no private name taken from another package, and only the entry point, config, loop and checkpoints at
the top next to the role folders (model, data, sweep, report)."""

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


# train/: the top level holds the entry point, config, the loop and checkpoints; everything else is in a role folder
TRAIN_TOP = {"__init__", "cli", "config", "yamlio", "errors", "files", "loop", "optim", "checkpoint", "bom"}
TRAIN_ROLES = {"model", "data", "sweep", "report"}


def train_imports(module_level: bool) -> dict[str, set[str]]:
    """train module -> the train modules it imports, counting a package's __init__ that importing a submodule runs
    (unless that package encloses the importer: it is already loading). `from train.x import name` where name is a
    function is an arrow to train.x only."""
    files = sorted((ROOT / "train").rglob("*.py"))
    names = {module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        me = module_name(path)
        tree = ast.parse(path.read_text())
        found = []
        for node in tree.body if module_level else ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        targets = set()
        for name in found:
            parts = name.split(".")
            for i in range(2, len(parts) + 1):  # train.report.stats loads train.report first
                target = ".".join(parts[:i])
                if target in names and not me.startswith(target + "."):
                    targets.add(target)
        graph[me] = targets - {me, "train"}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt, [*stack, nxt])):
                return cycle
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node, [node])):
            return cycle
    return None


def test_train_has_no_import_cycle_at_module_level():
    cycle = find_cycle(train_imports(module_level=True))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_sees_a_cycle_through_a_package_init():
    # the shape this layout must avoid: a package's __init__ importing a submodule that imports back into it.
    # loop.py imports train.model.gpt, which runs train/model/__init__.py first: that is an arrow to train.model
    assert "train.model" in train_imports(module_level=True)["train.loop"]
    graph = {"train.model": {"train.model.batched"}, "train.model.batched": {"train.loop"},
             "train.loop": {"train.model"}}
    assert find_cycle(graph) == ["train.loop", "train.model", "train.model.batched", "train.loop"]


def test_train_never_imports_a_private_name_from_another_package():
    """`_name` is private to its package: report/ may share its helpers inside report/, but loop.py, sweep/ and
    model/ use only public names of each other."""
    for path in sorted((ROOT / "train").rglob("*.py")):
        me = module_name(path)
        package = me if path.name == "__init__.py" else me.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("train")):
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}".split(".")
                private = [p for p in full if p.startswith("_") and p != "__init__"]
                is_package = (ROOT / Path(*node.module.split("."))).is_dir()
                owner = node.module if is_package else node.module.rpartition(".")[0]
                if private and owner != package:
                    pytest.fail(f"{path.relative_to(ROOT)} imports the private {'.'.join(full)} from {owner}")


def test_train_top_level_holds_the_entry_point_the_loop_and_the_role_folders():
    top = ROOT / "train"
    modules = {p.stem for p in top.glob("*.py")}
    folders = {p.name for p in top.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert modules == TRAIN_TOP, f"unexpected modules in train/: {sorted(modules ^ TRAIN_TOP)}"
    assert folders == TRAIN_ROLES, f"unexpected folders in train/: {sorted(folders ^ TRAIN_ROLES)}"
    for role in TRAIN_ROLES:
        init = top / role / "__init__.py"
        assert init.is_file() and ast.get_docstring(ast.parse(init.read_text())), f"train/{role}/ needs a docstring"
