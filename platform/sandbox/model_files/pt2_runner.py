"""Run a participant's `torch.export` program (`.pt2`) on the test images, in a separate,
limited process.

The successor of TorchScript (deprecated in torch 2.14) and run exactly like it: same JSON
spec, same limits, same exit codes, same masks, same measurements (parameters, FLOPs at the
spec's input size, median latency). `torch.export.load` unpickles parts of the archive, so
an untrusted file can run code when it is loaded: it is only ever opened in the child
(`python -m sandbox.model_files.pt2_worker`, on `sandbox.model_files.worker`), after the archive check and
under the weights-only guard of `sandbox.model_files.pt2_archive`, with an address-space limit, a
CPU-time limit, a wall-clock limit, a clean environment and only the input folder of images +
inputs.json. Never in the web or scoring process.

Not a container: like TorchScript, the child runs as the worker's user (docs/model-container.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.model_files.process import ModelLimits, run_model_process
from sandbox.model_files.spec import ModelSpec
from sandbox.outcome import Outcome


def run_pt2(
    model_path: Path,
    spec: ModelSpec | dict[str, Any],
    input_dir: Path,
    output_dir: Path,
    limits: ModelLimits | None = None,
) -> Outcome:
    """Segment every case of `input_dir` with the exported program; masks go to `output_dir`.

    `details` carries parameters, flops at the spec's input size (macs = flops / 2) and
    median_latency_ms per image. Never raises for anything about the model or the spec.
    """
    return run_model_process("sandbox.model_files.pt2_worker", model_path, spec, input_dir, output_dir, limits)
