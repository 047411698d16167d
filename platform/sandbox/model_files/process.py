"""Launch an untrusted model file's inference in a separate, limited child process.

ONNX and TorchScript files are untrusted input to their parsers, so neither is ever opened in
the worker itself: a child (`python -m sandbox.model_files.onnx_worker` or `sandbox.model_files.torchscript_worker`,
both on `sandbox.model_files.worker`) gets an address-space limit (RLIMIT_AS), a CPU-time limit, a
wall-clock limit, a clean environment and only the input folder of images + inputs.json. Both
formats share this launcher so that limits, exit codes and outcome messages cannot drift
apart.

Child exit codes: 0 ok, 2 rejected (bad spec, not a model, wrong shapes), 3 out of memory.
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

from sandbox.model_files.spec import ModelSpec, SpecError
from sandbox.outcome import Outcome, Status

MiB = 1024 * 1024
EXIT_REJECTED = 2
EXIT_OOM = 3


@dataclass(frozen=True)
class ModelLimits:
    wall_seconds: float = 1800.0
    memory_bytes: int = 8 * 1024 * MiB
    max_model_bytes: int = 1024 * MiB
    threads: int = 2
    use_gpu: bool = False


def run_model_process(
    worker_module: str,
    model_path: Path,
    spec: ModelSpec | dict[str, Any],
    input_dir: Path,
    output_dir: Path,
    limits: ModelLimits | None = None,
) -> Outcome:
    """Run `python -m worker_module job.json` on every case of `input_dir` under `limits`.

    The worker (ONNX or TorchScript) writes masks to `output_dir` and a result JSON with a
    message and `details` (parameters, flops, median latency); its exit code says ok, rejected
    or out of memory. Never raises for anything about the model or the spec.
    """
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
