"""The site's settings are read from the environment in one place, config/settings.py
(issue 11: "settings read only in config/settings.py"), so an operator finds every knob there
and tests override them with Django's settings rather than with the environment."""

from __future__ import annotations

import ast

from tests.import_graph import ROOT

#: Files that may touch os.environ: the settings, the two entry points that name the settings
#: module, and the sandbox's model-file child, which sets (never reads) torch's safe-load switch.
ALLOWED = {
    "platform/config/settings.py",
    "platform/config/celery.py",
    "platform/config/wsgi.py",
    "platform/sandbox/model_files/pt2_worker.py",
}


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_settings_module_reads_the_environment() -> None:
    offenders = []
    for path in sorted((ROOT / "platform").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in ALLOWED or "/migrations/" in relative:
            continue
        for line in _reads_environment(ast.parse(path.read_text())):
            offenders.append(f"{relative}:{line}")
    assert offenders == [], "read the environment in config/settings.py instead:\n" + "\n".join(
        offenders
    )
