"""Run a participant's ONNX model file on the test images, in a separate, limited process.

The file is untrusted input to onnxruntime's parser, so it is never opened in the worker
itself: a child process (`python -m sandbox.model_files.onnx_worker`, see `sandbox.model_files.process`) gets an
address-space limit (RLIMIT_AS), a CPU-time limit, a wall-clock limit, a clean environment and
only the input folder of images + inputs.json. It loads the model from bytes (external data
files are refused: they could name any file on the host), measures parameters and MACs, runs
every case, writes `<case_id>.png` masks and reports back through a JSON file
(`sandbox.model_files.worker`, shared with TorchScript).

Child exit codes: 0 ok, 2 rejected (bad spec, not ONNX, wrong shapes), 3 out of memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.model_files.process import (
    EXIT_OOM,
    EXIT_REJECTED,
    MiB,
    ModelLimits,
    run_model_process,
)
from sandbox.model_files.spec import ModelSpec
from sandbox.outcome import Outcome

#: Kept under its first name: callers configure ONNX runs with it.
OnnxLimits = ModelLimits

__all__ = ["EXIT_OOM", "EXIT_REJECTED", "MiB", "ModelLimits", "OnnxLimits", "run_onnx"]


def run_onnx(
    model_path: Path,
    spec: ModelSpec | dict[str, Any],
    input_dir: Path,
    output_dir: Path,
    limits: ModelLimits | None = None,
) -> Outcome:
    """Segment every case of `input_dir` with the ONNX model; masks go to `output_dir`.

    `details` carries parameters, macs, flops (= 2 x macs) at the spec's input size and
    median_latency_ms per image. Never raises for anything about the model or the spec.
    """
    return run_model_process("sandbox.model_files.onnx_worker", model_path, spec, input_dir, output_dir, limits)
