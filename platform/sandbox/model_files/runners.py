"""Which runner takes which model-file format: one table, so the upload check, the inference
task and the benchmark cannot disagree about what a format means."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.model_files.onnx_runner import run_onnx
from sandbox.model_files.process import ModelLimits
from sandbox.model_files.pt2_runner import run_pt2
from sandbox.model_files.spec import ModelSpec
from sandbox.model_files.torchscript_runner import run_torchscript
from sandbox.outcome import Outcome

Runner = Callable[[Path, ModelSpec | dict[str, Any], Path, Path, ModelLimits | None], Outcome]

#: Format name (as `sandbox.model_files.bundle` reports it) -> its sandboxed runner.
RUNNERS: dict[str, Runner] = {"onnx": run_onnx, "torchscript": run_torchscript, "pt2": run_pt2}


def run_model_file(
    fmt: str,
    model_path: Path,
    spec: ModelSpec | dict[str, Any],
    input_dir: Path,
    output_dir: Path,
    limits: ModelLimits | None = None,
) -> Outcome:
    """Run a model file of format `fmt` (onnx, torchscript, pt2) in its sandboxed child."""
    try:
        runner = RUNNERS[fmt]
    except KeyError:
        raise ValueError(f"unknown model-file format {fmt!r}; known: {sorted(RUNNERS)}") from None
    return runner(model_path, spec, input_dir, output_dir, limits)
