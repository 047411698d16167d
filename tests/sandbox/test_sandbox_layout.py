"""The sandbox keeps the shape its docstring (platform/sandbox/__init__.py) promises: one wing
per backend, wings that never import each other, shared modules that import neither wing.
Read from the source (tests/import_graph.py), so imports inside functions count too."""

from __future__ import annotations

from tests.import_graph import edges

WINGS = ("sandbox.containers", "sandbox.model_files")
SHARED = ("sandbox.inputs", "sandbox.limits", "sandbox.outcome", "sandbox.log_streams")


def _wing(module: str) -> str | None:
    return next((w for w in WINGS if module == w or module.startswith(f"{w}.")), None)


def test_the_wings_never_import_each_other() -> None:
    crossing = [
        f"{e.source}:{e.line} -> {e.target}"
        for e in edges()
        if _wing(e.source) and _wing(e.target) and _wing(e.source) != _wing(e.target)
    ]
    assert crossing == []


def test_the_shared_modules_import_neither_wing() -> None:
    upward = [
        f"{e.source}:{e.line} -> {e.target}"
        for e in edges()
        if e.source in SHARED and _wing(e.target)
    ]
    assert upward == []
