"""Run a participant's TorchScript model file on the test images, in a separate, limited process.

Mirrors `sandbox.model_files.onnx_runner` (same JSON spec, same limits, same exit codes, same masks): the
archive is untrusted input to `torch.jit.load`, so it is only ever opened in a child process
(`python -m sandbox.model_files.torchscript_worker`, built on `sandbox.model_files.worker` like the ONNX one)
with an address-space limit (RLIMIT_AS), a CPU-time limit, a wall-clock limit, a clean
environment (no database URLs or secrets) and only the input folder of images + inputs.json.
The child measures the exact parameter count (the scripted module's `parameters()`), the FLOPs
at the spec's input size (torch.utils.flop_counter, which sees the ops a scripted module
dispatches), and the median latency per image, then writes `<case_id>.png` masks.

Not a container: the child runs as the worker's user and could read what that user can read.
Workers that take TorchScript submissions should run without access to truth sets beyond the
scoring step (docs/model-container.md, "Model files").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.model_files.process import ModelLimits, run_model_process
from sandbox.model_files.spec import ModelSpec
from sandbox.outcome import Outcome


def run_torchscript(
    model_path: Path,
    spec: ModelSpec | dict[str, Any],
    input_dir: Path,
    output_dir: Path,
    limits: ModelLimits | None = None,
) -> Outcome:
    """Segment every case of `input_dir` with the TorchScript model; masks go to `output_dir`.

    `details` carries parameters, flops at the spec's input size (macs = flops / 2) and
    median_latency_ms per image. Never raises for anything about the model or the spec.
    """
    return run_model_process(
        "sandbox.model_files.torchscript_worker", model_path, spec, input_dir, output_dir, limits
    )
