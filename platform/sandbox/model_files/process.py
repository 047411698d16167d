"""Run an untrusted model file on the test images in a separate, limited child process: one
launcher and one entry point (`run_model_file(fmt, ...)`) for every format, so that limits,
exit codes and outcome messages cannot drift apart between formats.

A model file is untrusted input to its runtime's parser (onnxruntime, `torch.jit.load`,
`torch.export.load`), and a TorchScript or `.pt2` file can run code when it is loaded, so it
is never opened in the worker itself (nor in the web or scoring process): the child
`python -m <WORKERS[fmt]> JOB.json` (`onnx_worker`, `torchscript_worker`, `pt2_worker`, all on
`sandbox.model_files.worker`) gets an address-space limit (RLIMIT_AS), a CPU-time limit, a
wall-clock limit, a clean environment (no database URLs or secrets) and only the input folder
of images + inputs.json. It measures the parameters, the FLOPs at the spec's input size and
the median latency per image, and writes `<case_id>.png` masks.

Not a container: the child runs as the worker's user and could read what that user can read.
Workers that take model files should run without access to truth sets beyond the scoring
step (docs/model-container.md, "Model files").

Child exit codes (`sandbox.model_files.worker`): 0 ok, 2 rejected (bad spec, not a model of
that format, wrong shapes), 3 out of memory.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.io.archives import MiB
from sandbox.model_files.spec import ModelSpec, SpecError
from sandbox.model_files.worker import EXIT_OOM, EXIT_REJECTED
from sandbox.outcome import Outcome, Status

#: Model-file format (as `sandbox.model_files.bundle` reports it) -> the child's module.
WORKERS: dict[str, str] = {
    "onnx": "sandbox.model_files.onnx_worker",
    "torchscript": "sandbox.model_files.torchscript_worker",
    "pt2": "sandbox.model_files.pt2_worker",
}


@dataclass(frozen=True)
class ModelLimits:
    """Limits one model-file child runs under (`ModelFileBackend` derives them from the site's
    `RunLimits`)."""

    wall_seconds: float = 1800.0
    memory_bytes: int = 8 * 1024 * MiB
    max_model_bytes: int = 1024 * MiB
    threads: int = 2
    use_gpu: bool = False


def run_model_file(
    fmt: str,
    model_path: Path,
    spec: ModelSpec | dict[str, Any],
    input_dir: Path,
    output_dir: Path,
    limits: ModelLimits | None = None,
) -> Outcome:
    """Segment every case of `input_dir` with the model file of format `fmt` (onnx,
    torchscript, pt2) in its limited child; masks go to `output_dir`.

    `details` carries parameters, flops and macs (flops = 2 x macs) at the spec's input size,
    a note on how they were counted, the input shape and median_latency_ms per image. Never
    raises for anything about the model or the spec; ValueError for a format no worker runs.
    """
    try:
        worker_module = WORKERS[fmt]
    except KeyError:
        raise ValueError(f"unknown model-file format {fmt!r}; known: {sorted(WORKERS)}") from None
    limits = limits or ModelLimits()
    started = time.monotonic()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        # Parsed once per process: a bundle hands over its parsed spec; a raw dict is checked.
        parsed = spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)
    except SpecError as exc:
        return Outcome(Status.REJECTED, f"model spec: {exc}", output_dir=output_dir)
    model_path = Path(model_path)
    if not model_path.is_file():
        return Outcome(Status.REJECTED, "model file not found", output_dir=output_dir)
    if model_path.stat().st_size > limits.max_model_bytes:
        return Outcome(
            Status.REJECTED,
            f"model file is larger than {limits.max_model_bytes // MiB} MiB",
            output_dir=output_dir,
        )
    with tempfile.TemporaryDirectory(prefix="fetalbench-model-") as scratch:
        job = Path(scratch) / "job.json"
        result_path = Path(scratch) / "result.json"
        job.write_text(
            json.dumps(
                {
                    "model": str(model_path.resolve()),
                    "spec": parsed.to_dict(),
                    "input_dir": str(Path(input_dir).resolve()),
                    "output_dir": str(output_dir.resolve()),
                    "result": str(result_path),
                    "threads": limits.threads,
                    "use_gpu": limits.use_gpu,
                }
            )
        )
        try:
            proc = subprocess.run(
                [sys.executable, "-m", worker_module, str(job)],
                env=_clean_env(limits.threads),
                cwd=scratch,
                capture_output=True,
                timeout=limits.wall_seconds,
                preexec_fn=_limit_child(limits),  # noqa: PLW1509 - only sets rlimits
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            return Outcome(
                Status.TIMEOUT,
                f"the model did not finish within {limits.wall_seconds:g} s and was stopped.",
                log_tail=_tail(exc.stderr),
                wall_seconds=time.monotonic() - started,
                output_dir=output_dir,
            )
        wall = time.monotonic() - started
        result = _read_result(result_path)
        log = _tail(proc.stderr)
        message = result.get("message", "")
        if proc.returncode == 0:
            status, message = Status.OK, message or "the model finished."
        elif proc.returncode == EXIT_REJECTED:
            status = Status.REJECTED
        elif proc.returncode == EXIT_OOM or proc.returncode == -9:
            status = Status.OOM
            message = f"the model ran out of memory (limit {limits.memory_bytes // MiB} MiB)" + (
                f": {message}" if message else "."
            )
        else:
            status = Status.CRASHED
            message = message or f"the model process ended with code {proc.returncode}."
        return Outcome(
            status,
            message,
            log_tail=log,
            wall_seconds=wall,
            output_dir=output_dir,
            exit_code=proc.returncode,
            details=result.get("details", {}),
        )


def _clean_env(threads: int) -> dict[str, str]:
    """Nothing of the worker's environment (database URLs, secrets) reaches the child."""
    platform_dir = str(Path(__file__).resolve().parents[2])
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": platform_dir,
        "HOME": tempfile.gettempdir(),
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _limit_child(limits: ModelLimits):
    cpu_seconds = int(limits.wall_seconds * max(1, limits.threads)) + 5

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.setsid()

    return apply


def _read_result(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _tail(stderr: bytes | None, lines: int = 50, max_bytes: int = 16 * 1024) -> list[str]:
    text = (stderr or b"")[-max_bytes:].decode("utf-8", "replace")
    return text.splitlines()[-lines:]
