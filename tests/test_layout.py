"""The package's shape: imports follow measure -> report -> judge -> archive -> analyse, no
cycles, no module much over 400 lines (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "ftbench"
SHARED = {"ftbench", "errors", "paths", "redact", "signals"}
#: what each part of the package may import (besides itself and SHARED)
ALLOWED = {
    "measure": set(),
    "report": {"measure"},
    "judge": {"report"},
    "archive": {"report"},
    "analyse": {"report", "archive"},
    "pipeline": {"measure", "report", "judge", "archive"},
    "adopt": {"measure"},
    "cli": {"measure", "report", "judge", "archive", "analyse", "pipeline", "adopt"},
}
MAX_LINES = 420


def _modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(SRC.parent).with_suffix("").parts): p
        for p in sorted(SRC.rglob("*.py"))
    }


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return {n for n in names if n == "ftbench" or n.startswith("ftbench.")}


def _part(module: str) -> str:
    parts = module.split(".")
    return "ftbench" if len(parts) == 1 or parts[1] == "__main__" else parts[1]


def test_imports_follow_the_flow() -> None:
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        part = _part(name)
        if part in SHARED or part == "__init__":
            continue
        for imported in _imports(path):
            target = _part(imported)
            if (
                target in SHARED
                or target == part
                or (imported not in modules and (imported.rsplit(".", 1)[0] not in modules))
            ):
                continue
            if target not in ALLOWED.get(part, set()):
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_shared_modules_import_no_stage() -> None:
    for name in ("ftbench.errors", "ftbench.paths", "ftbench.redact"):
        assert {_part(i) for i in _imports(_modules()[name])} <= SHARED, name


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {
        name: {i if i in modules else i.rsplit(".", 1)[0] for i in _imports(path)}
        & set(modules) - {name}
        for name, path in modules.items()
    }
    # package __init__ files that re-export for users are not part of the flow
    graph = {k: {v for v in vs if not v.endswith("__init__")} for k, vs in graph.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1 and not cycle:
                cycle.extend([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycle == []


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES
