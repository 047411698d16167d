"""The project's own import graph, read from the source (no module is imported).

Every `import` and `from ... import` statement counts, at module level or inside a function:
a cycle hidden in a function is still a cycle, it only fails later (issue 11). Module names
are what Python sees at run time: `evaluator.io.masks`, `reference_models.cli`, and for the
Django site, whose folder is on the path but is not a package, `challenges.services.states`,
`config.settings`, `sandbox.containers.backend`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Where modules live, and the folder their dotted names start from.
SOURCES = {
    ROOT / "evaluator": ROOT,
    ROOT / "reference_models": ROOT,
    ROOT / "fetalbench": ROOT,
    ROOT / "platform": ROOT / "platform",
}


@dataclass(frozen=True)
class Edge:
    """`source` imports `target` at `line`; `in_function` when the statement is inside a
    function (a deferred import)."""

    source: str
    target: str
    line: int
    in_function: bool


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every project module (migrations and tests left out)."""
    modules: dict[str, Path] = {}
    for folder, base in SOURCES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(base).with_suffix("").parts
            if "migrations" in parts or "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module `name` refers to (its longest known prefix), or None."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def edges() -> list[Edge]:
    """Every import of a project module by a project module."""
    modules = module_files()
    found: list[Edge] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        functions = {
            id(node)
            for fn in ast.walk(tree)
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(fn)
        }
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = _package_of(module, path).split(".")
                    package = package[: len(package) - (node.level - 1)]
                    base = ".".join([*package, base] if base else package)
                # `from pkg import mod` imports the submodule when there is one; the package
                # itself counts only for names that are not submodules (defined in __init__).
                names = [f"{base}.{alias.name}" for alias in node.names]
                if any(name not in modules for name in names):
                    names.append(base)
            else:
                continue
            targets = {_resolve(name, modules) for name in names if name}
            for target in sorted(t for t in targets if t and t != module):
                found.append(Edge(module, target, node.lineno, id(node) in functions))
    return found


def cycles(graph_edges: list[Edge]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    graph: dict[str, set[str]] = {}
    for edge in graph_edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[frozenset[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(frozenset(component))
                continue
            if child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def describe(component: frozenset[str], graph_edges: list[Edge]) -> str:
    """The imports inside one cycle, one per line, for a failure message."""
    lines = [
        f"  {e.source} -> {e.target} (line {e.line}{', in a function' if e.in_function else ''})"
        for e in graph_edges
        if e.source in component and e.target in component
    ]
    return "\n".join(sorted(set(lines)))
