"""Run a participant's ONNX model file on the test images, in a separate, limited process.

The file is untrusted input to onnxruntime's parser, so it is never opened in the worker
itself: a child process (`python -m sandbox.onnx_worker`) gets an address-space limit
(RLIMIT_AS), a CPU-time limit, a wall-clock limit, a clean environment and only the input
folder of images + inputs.json. It loads the model from bytes (external data files are
refused: they could name any file on the host), measures parameters and MACs, runs every
case, writes `<case_id>.png` masks and reports back through a JSON file.

Child exit codes: 0 ok, 2 rejected (bad spec, not ONNX, wrong shapes), 3 out of memory.
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

from sandbox.onnx_spec import OnnxSpec, SpecError
from sandbox.outcome import Outcome, Status

MiB = 1024 * 1024
EXIT_REJECTED = 2
EXIT_OOM = 3


@dataclass(frozen=True)
class OnnxLimits:
    wall_seconds: float = 1800.0
    memory_bytes: int = 8 * 1024 * MiB
    max_model_bytes: int = 1024 * MiB
    threads: int = 2
    use_gpu: bool = False


def run_onnx(
    model_path: Path,
    spec: dict[str, Any],
    input_dir: Path,
    output_dir: Path,
    limits: OnnxLimits | None = None,
) -> Outcome:
    """Segment every case of `input_dir` with the ONNX model; masks go to `output_dir`.

    `details` carries parameters, macs, flops (= 2 x macs) at the spec's input size and
    median_latency_ms per image. Never raises for anything about the model or the spec.
    """
    limits = limits or OnnxLimits()
    started = time.monotonic()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        parsed = OnnxSpec.from_dict(spec)
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
    with tempfile.TemporaryDirectory(prefix="fetalbench-onnx-") as scratch:
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
                [sys.executable, "-m", "sandbox.onnx_worker", str(job)],
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
    platform_dir = str(Path(__file__).resolve().parents[1])
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": platform_dir,
        "HOME": tempfile.gettempdir(),
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _limit_child(limits: OnnxLimits):
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


# --------------------------------------------------------------------- the child process


class _Rejected(Exception):
    pass


def _worker(job: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import onnx
    import onnxruntime as ort

    from sandbox.onnx_images import read_image, resize_back, to_model_input, write_mask
    from sandbox.onnx_stats import count_macs, parameter_count

    spec = OnnxSpec.from_dict(job["spec"])
    data = Path(job["model"]).read_bytes()
    try:
        model = onnx.load_from_string(data)
    except Exception:  # noqa: BLE001 - any parse failure means "not ONNX"
        raise _Rejected("the model file is not a valid ONNX model") from None
    if not model.graph.node:
        raise _Rejected("the model file is not a valid ONNX model (it has no graph)")
    if any(init.data_location == onnx.TensorProto.EXTERNAL for init in model.graph.initializer):
        raise _Rejected("models with external data files are not accepted; embed the weights")
    initializers = {init.name for init in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise _Rejected(f"the model must have exactly one input (the image); it has {len(inputs)}")
    h, w = spec.input_size
    shape = [1, spec.channels, h, w]
    macs, note = count_macs(model, inputs[0].name, shape)
    parameters = parameter_count(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(job["threads"])
    options.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    if job.get("use_gpu") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        session = ort.InferenceSession(data, options, providers=providers)
    except Exception as exc:  # noqa: BLE001
        if isinstance(exc, MemoryError) or "alloc" in str(exc).lower():
            raise MemoryError(_short(exc)) from None  # e.g. constant folding of a huge tensor
        raise _Rejected(f"onnxruntime cannot load the model: {_short(exc)}") from None
    del data, model
    input_name = session.get_inputs()[0].name

    cases = json.loads((Path(job["input_dir"]) / "inputs.json").read_text())["cases"]
    latencies = []
    out_dir = Path(job["output_dir"])
    for index, case in enumerate(cases):
        image = read_image(Path(job["input_dir"]) / case["file"])
        tensor = to_model_input(image, spec)
        if index == 0:
            _run(session, input_name, tensor)  # warm-up, not timed
        t0 = time.perf_counter()
        output = _run(session, input_name, tensor)
        latencies.append((time.perf_counter() - t0) * 1000)
        label = _to_labels(output, spec)
        write_mask(resize_back(label, image.shape[:2]), out_dir / f"{case['case_id']}.png")
    return {
        "message": f"segmented {len(cases)} case(s).",
        "details": {
            "parameters": parameters,
            "macs": macs,
            "flops": 2 * macs if macs is not None else None,
            "flops_note": note,
            "input_shape": shape,
            "median_latency_ms": float(np.median(latencies)) if latencies else None,
            "providers": session.get_providers(),
        },
    }


def _run(session: Any, input_name: str, tensor: Any) -> Any:
    try:
        outputs = session.run(None, {input_name: tensor})
    except Exception as exc:  # noqa: BLE001
        text = str(exc)
        if "alloc" in text.lower() or isinstance(exc, MemoryError):
            raise MemoryError(text) from None
        raise _Rejected(
            f"the model failed on an input of shape {list(tensor.shape)}: {_short(exc)}"
        ) from None
    return outputs[0]


def _to_labels(output: Any, spec: OnnxSpec) -> Any:
    import numpy as np

    h, w = spec.input_size
    arr = np.asarray(output)
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[0] != 1 or arr.shape[2:] != (h, w):
        raise _Rejected(
            f"the model's output has shape {list(arr.shape)}; expected [1, C, {h}, {w}] "
            f"(or [1, {h}, {w}]) for input size [{h}, {w}]"
        )
    channels = arr.shape[1]
    if channels == 1:
        values = spec.class_values or (0, 1)
        scores = arr[0, 0].astype(np.float64)
        if spec.output == "logits":
            scores = 1.0 / (1.0 + np.exp(-np.clip(scores, -60, 60)))
        return np.where(scores > spec.threshold, values[1], values[0]).astype(np.uint8)
    values = spec.class_values or tuple(range(channels))
    if len(values) != channels:
        raise _Rejected(
            f"class_values lists {len(values)} labels but the model outputs {channels} channels"
        )
    return np.asarray(values, dtype=np.uint8)[np.argmax(arr[0], axis=0)]


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:limit]


def _worker_main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    result_path = Path(job["result"])
    try:
        result = _worker(job)
        code = 0
    except _Rejected as exc:
        result, code = {"message": str(exc)}, EXIT_REJECTED
    except SpecError as exc:
        result, code = {"message": f"model spec: {exc}"}, EXIT_REJECTED
    except MemoryError as exc:
        result, code = {"message": _short(exc)}, EXIT_OOM
    except Exception as exc:  # noqa: BLE001 - reported, never a stack trace to the user
        result, code = {"message": f"the model run failed: {_short(exc)}"}, 1
    result_path.write_text(json.dumps(result, default=str))
    return code
