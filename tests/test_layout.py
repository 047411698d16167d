"""The repository keeps its shape: `platform/` never shadows Python's own module."""

import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_platform_folder_is_not_a_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()
    assert callable(platform.python_version), "stdlib platform module must stay importable"


def test_evaluator_does_not_import_django() -> None:
    offenders = [
        p.relative_to(ROOT)
        for p in (ROOT / "evaluator").rglob("*.py")
        if "import django" in p.read_text() or "from django" in p.read_text()
    ]
    assert offenders == []
