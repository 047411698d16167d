"""The child process of a model-file run, shared by every runtime (ONNX, TorchScript, pt2).

`sandbox.model_files.process` starts `python -m sandbox.model_files.<runtime>_worker JOB.json`
under its limits; that module supplies only how to load the model and how to run one input
tensor, and hands both to `main` here. Everything else is the same for every runtime and
lives here once, so the runtimes cannot drift apart: reading the job and the input folder,
the per-case loop (one untimed warm-up, then one timed forward pass per image), turning
outputs into label masks, writing `<case_id>.png`, and reporting through the result JSON and
the exit code (0 ok, 2 rejected, 3 out of memory, 1 anything else) with a one-line message,
never a stack trace.

Loaded in the child, and by the launcher for the exit codes: it imports the standard
library, NumPy and the stdlib/NumPy-only `spec` and `pixels`, never the evaluator or the rest
of the sandbox (the child's PYTHONPATH is `platform/` alone; a test checks what it loads).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sandbox.model_files import pixels
from sandbox.model_files.spec import ModelSpec, SpecError

#: The child's exit codes besides 0 (ok) and 1 (anything else), read by the launcher.
EXIT_REJECTED = 2
EXIT_OOM = 3


class Rejected(Exception):
    """The model, or what it returned, cannot be used; the message is shown to the participant."""


@dataclass(frozen=True)
class WorkerJob:
    """What a runtime needs to load a model: its file, the spec and the process's limits."""

    model: Path
    spec: ModelSpec
    threads: int
    use_gpu: bool

    @property
    def input_shape(self) -> list[int]:
        """[1, channels, H, W]: what the model is fed (and measured at)."""
        h, w = self.spec.input_size
        return [1, self.spec.channels, h, w]


@dataclass
class LoadedModel:
    """A runtime's loaded model: `run` maps one float32 [1, C, H, W] array to the model's first
    output as a NumPy array (its time, device transfers included, is the reported latency);
    `details` are what the runtime measured at load (parameters, FLOPs, device ...)."""

    run: Callable[[Any], Any]
    details: dict[str, Any] = field(default_factory=dict)


#: A runtime's part: load the job's model, or raise Rejected / MemoryError.
Loader = Callable[[WorkerJob], LoadedModel]


def short(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message, capped: enough to act on, no traceback."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:limit]


def run_failure(exc: Exception, shape: Any) -> Exception:
    """What a failed forward pass means for the participant: out of memory (an allocation
    failed, on the host or the GPU) or a model that does not accept the input."""
    text = str(exc).lower()
    if isinstance(exc, MemoryError) or "alloc" in text or "out of memory" in text:
        return MemoryError(short(exc))
    return Rejected(f"the model failed on an input of shape {list(shape)}: {short(exc)}")


def to_labels(output: Any, spec: ModelSpec) -> Any:
    """The model's output as a uint8 label map (`sandbox.model_files.pixels.to_labels`); an
    unreadable output rejects the model."""
    try:
        return pixels.to_labels(output, spec)
    except pixels.OutputError as exc:
        raise Rejected(str(exc)) from None


def segment_cases(model: LoadedModel, spec: ModelSpec, input_dir: Path, output_dir: Path) -> dict:
    """Run the model on every case of inputs.json and write its masks; the result message and
    details (the runtime's plus the median latency per image)."""
    cases = json.loads((input_dir / "inputs.json").read_text())["cases"]
    latencies: list[float] = []
    for index, case in enumerate(cases):
        image = pixels.read_image(input_dir / case["file"])
        tensor = pixels.to_model_input(image, spec)
        if index == 0:
            model.run(tensor)  # warm-up, not timed (lazy allocation, TorchScript profiling)
        t0 = time.perf_counter()
        output = model.run(tensor)
        latencies.append((time.perf_counter() - t0) * 1000)
        label = to_labels(output, spec)
        pixels.write_mask(
            pixels.resize_back(label, image.shape[:2]), output_dir / f"{case['case_id']}.png"
        )
    median = float(np.median(latencies)) if latencies else None
    return {
        "message": f"segmented {len(cases)} case(s).",
        "details": {**model.details, "median_latency_ms": median},
    }


def _run_job(job: dict[str, Any], load: Loader) -> dict[str, Any]:
    spec = ModelSpec.from_dict(job["spec"])
    work = WorkerJob(
        Path(job["model"]), spec, max(1, int(job["threads"])), bool(job.get("use_gpu"))
    )
    model = load(work)
    return segment_cases(model, spec, Path(job["input_dir"]), Path(job["output_dir"]))


def run_job_file(job_path: str, load: Loader) -> int:
    """Do the job, write the result JSON next to it and return the child's exit code."""
    job = json.loads(Path(job_path).read_text())
    try:
        result, code = _run_job(job, load), 0
    except Rejected as exc:
        result, code = {"message": str(exc)}, EXIT_REJECTED
    except SpecError as exc:
        result, code = {"message": f"model spec: {exc}"}, EXIT_REJECTED
    except MemoryError as exc:
        result, code = {"message": short(exc)}, EXIT_OOM
    except Exception as exc:  # noqa: BLE001 - reported, never a stack trace to the user
        result, code = {"message": f"the model run failed: {short(exc)}"}, 1
    Path(job["result"]).write_text(json.dumps(result, default=str))
    return code


def main(module: str, load: Loader, argv: list[str] | None = None) -> int:
    """`python -m <module> JOB.json`: the entry point every runtime's worker module calls."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: python -m {module} JOB.json (internal)", file=sys.stderr)
        return 64
    return run_job_file(args[0], load)
