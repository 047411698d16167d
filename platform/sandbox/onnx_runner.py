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
import time
from pathlib import Path
from typing import Any

from sandbox.model_process import (
    EXIT_OOM,
    EXIT_REJECTED,
    MiB,
    ModelLimits,
    run_model_process,
)
from sandbox.onnx_spec import OnnxSpec, SpecError
from sandbox.outcome import Outcome

#: Kept under its first name: callers configure ONNX runs with it.
OnnxLimits = ModelLimits

__all__ = ["EXIT_OOM", "EXIT_REJECTED", "MiB", "ModelLimits", "OnnxLimits", "run_onnx"]


def run_onnx(
    model_path: Path,
    spec: dict[str, Any],
    input_dir: Path,
    output_dir: Path,
    limits: ModelLimits | None = None,
) -> Outcome:
    """Segment every case of `input_dir` with the ONNX model; masks go to `output_dir`.

    `details` carries parameters, macs, flops (= 2 x macs) at the spec's input size and
    median_latency_ms per image. Never raises for anything about the model or the spec.
    """
    return run_model_process("sandbox.onnx_worker", model_path, spec, input_dir, output_dir, limits)


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
