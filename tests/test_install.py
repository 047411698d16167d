"""`pip install` gives the console commands `fetalbench` and `fetalbench-eval` and packages
only the client and the evaluator, never `platform/` (it would shadow Python's `platform`)
(issue 10, item 13). Built from a copy of the sources so nothing is written into the tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_names_the_two_commands() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {
        "fetalbench": "fetalbench.cli:main",
        "fetalbench-eval": "evaluator.cli:main",
    }
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(name.startswith("platform") for name in include)


@pytest.mark.slow
def test_installed_commands_run_and_platform_is_not_installed(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    for package in ("fetalbench", "evaluator", "platform"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    done = subprocess.run([*pip, "--target", str(site), str(source)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in site.iterdir() if not p.name.endswith(".dist-info")) == [
        "bin", "evaluator", "fetalbench"
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(site)}
    for command, expected in (("fetalbench", "submit"), ("fetalbench-eval", "score")):
        ran = subprocess.run([str(site / "bin" / command), "--help"], capture_output=True,
                             text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        assert expected in ran.stdout
