"""The model-file child: what it may load, and a child for every format the upload takes.

The child runs with `platform/` alone on its PYTHONPATH (`sandbox.model_files.process`), so
an import of the evaluator or of the parent side of the sandbox would work in a development
checkout (where the evaluator is installed into the virtual environment) and fail on a
deployed worker. This reads what the child modules really load, in the child's environment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sandbox.model_files.bundle import MODEL_SUFFIXES
from sandbox.model_files.process import WORKERS, _clean_env

#: Everything of the project a child may load: the child side of sandbox/model_files.
CHILD_MODULES = {
    "sandbox",
    "sandbox.model_files",
    "sandbox.model_files.worker",
    "sandbox.model_files.spec",
    "sandbox.model_files.pixels",
    "sandbox.model_files.onnx_worker",
    "sandbox.model_files.onnx_stats",
    "sandbox.model_files.torchscript_worker",
    "sandbox.model_files.torch_runtime",
    "sandbox.model_files.pt2_worker",
    "sandbox.model_files.pt2_archive",
}
PROJECT = ("sandbox", "evaluator", "challenges", "config", "web", "reference_models")

LIST_LOADED = (
    "import importlib, sys\n"
    "for name in sys.argv[2:]:\n"
    "    importlib.import_module(name)\n"
    "print('\\n'.join(m for m in sys.modules if m.split('.')[0] in sys.argv[1].split(',')))\n"
)


def test_the_child_loads_only_the_child_side(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", LIST_LOADED, ",".join(PROJECT), *WORKERS.values()],
        env=_clean_env(1),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == CHILD_MODULES


def test_every_uploadable_format_has_a_child() -> None:
    assert set(MODEL_SUFFIXES.values()) == set(WORKERS)
