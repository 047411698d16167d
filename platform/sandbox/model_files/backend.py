"""The `model_file` backend (`sandbox.backends`): extract the bundle, run its format's runner.

The network is extracted under a fixed name into a folder of its own next to `output_dir`
(removed afterwards) and run with the bundle's already parsed spec, so the worker parses the
spec once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sandbox.limits import RunLimits
from sandbox.model_files.bundle import extract_bundle
from sandbox.model_files.process import ModelLimits, run_model_file
from sandbox.outcome import Outcome


class ModelFileBackend:
    """Runs a model-file zip (ONNX, TorchScript or pt2); a zip that is not a bundle raises
    `BundleError`, everything about the model itself becomes the `Outcome`."""

    name = "model_file"

    def limits(self, limits: RunLimits) -> ModelLimits:
        return ModelLimits(
            wall_seconds=limits.wall_seconds,
            memory_bytes=limits.memory_bytes,
            threads=max(1, int(limits.cpus)),
            use_gpu=limits.gpu,
        )

    def run(
        self, archive: Path, input_dir: Path, output_dir: Path, limits: RunLimits, *, run_id: str
    ) -> Outcome:
        output_dir = Path(output_dir)
        output_dir.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"model-{run_id}-", dir=output_dir.parent) as d:
            bundle = extract_bundle(Path(archive), Path(d))
            outcome = run_model_file(
                bundle.format,
                bundle.model_path,
                bundle.model_spec,
                input_dir,
                output_dir,
                self.limits(limits),
            )
        outcome.details["format"] = bundle.format
        return outcome
