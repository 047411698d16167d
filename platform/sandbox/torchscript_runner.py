"""Run a participant's TorchScript model file on the test images, in a separate, limited process.

Mirrors `sandbox.onnx_runner` (same JSON spec, same limits, same exit codes, same masks): the
archive is untrusted input to `torch.jit.load`, so it is only ever opened in a child process
(`python -m sandbox.torchscript_worker`) with an address-space limit (RLIMIT_AS), a CPU-time
limit, a wall-clock limit, a clean environment (no database URLs or secrets) and only the input
folder of images + inputs.json. The child measures the exact parameter count (the scripted
module's `parameters()`), the FLOPs at the spec's input size (torch.utils.flop_counter, which
sees the ops a scripted module dispatches), and the median latency per image, then writes
`<case_id>.png` masks.

Not a container: the child runs as the worker's user and could read what that user can read.
Workers that take TorchScript submissions should run without access to truth sets beyond the
scoring step (docs/model-container.md, "Model files").
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sandbox.model_process import EXIT_OOM, EXIT_REJECTED, ModelLimits, run_model_process
from sandbox.onnx_runner import _Rejected, _short, _to_labels
from sandbox.onnx_spec import OnnxSpec, SpecError
from sandbox.outcome import Outcome


def run_torchscript(
    model_path: Path,
    spec: dict[str, Any],
    input_dir: Path,
    output_dir: Path,
    limits: ModelLimits | None = None,
) -> Outcome:
    """Segment every case of `input_dir` with the TorchScript model; masks go to `output_dir`.

    `details` carries parameters, flops at the spec's input size (macs = flops / 2) and
    median_latency_ms per image. Never raises for anything about the model or the spec.
    """
    return run_model_process(
        "sandbox.torchscript_worker", model_path, spec, input_dir, output_dir, limits
    )


# --------------------------------------------------------------------- the child process


def _worker(job: dict[str, Any]) -> dict[str, Any]:
    import warnings

    import numpy as np

    # torch.jit's deprecation notice would otherwise fill the participant's log tail.
    warnings.filterwarnings("ignore", category=FutureWarning)
    import torch

    from sandbox.onnx_images import read_image, resize_back, to_model_input, write_mask

    torch.set_num_threads(max(1, int(job["threads"])))
    spec = OnnxSpec.from_dict(job["spec"])
    cuda = bool(job.get("use_gpu")) and torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    try:
        module = torch.jit.load(job["model"], map_location=device)
    except Exception:  # noqa: BLE001 - any load failure means "not TorchScript"
        raise _Rejected(
            "the model file is not a TorchScript archive (save it with torch.jit.save)"
        ) from None
    module.eval()
    parameters = sum(int(p.numel()) for p in module.parameters())
    h, w = spec.input_size
    shape = [1, spec.channels, h, w]
    flops, note = _count_flops(module, shape, device)

    cases = json.loads((Path(job["input_dir"]) / "inputs.json").read_text())["cases"]
    latencies: list[float] = []
    out_dir = Path(job["output_dir"])
    for index, case in enumerate(cases):
        image = read_image(Path(job["input_dir"]) / case["file"])
        tensor = torch.from_numpy(to_model_input(image, spec)).to(device)
        if index == 0:
            _forward(module, tensor, cuda)  # warm-up (TorchScript profiles the first calls)
        t0 = time.perf_counter()
        output = _forward(module, tensor, cuda)
        latencies.append((time.perf_counter() - t0) * 1000)
        label = _to_labels(output, spec)
        write_mask(resize_back(label, image.shape[:2]), out_dir / f"{case['case_id']}.png")
    return {
        "message": f"segmented {len(cases)} case(s).",
        "details": {
            "parameters": parameters,
            "flops": flops,
            "macs": flops // 2 if flops is not None else None,
            "flops_note": note,
            "input_shape": shape,
            "median_latency_ms": float(np.median(latencies)) if latencies else None,
            "device": str(device),
        },
    }


def _count_flops(module: Any, shape: list[int], device: Any) -> tuple[int | None, str]:
    """FLOPs of one forward pass at `shape`; None (with the reason) when counting fails."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    try:
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            module(torch.zeros(shape, device=device))
        return int(counter.get_total_flops()), "torch.utils.flop_counter (conv, matmul, ...)"
    except Exception as exc:  # noqa: BLE001 - the run itself reports real failures
        return None, f"not counted: {_short(exc)}"


def _forward(module: Any, tensor: Any, cuda: bool) -> Any:
    import torch

    try:
        with torch.inference_mode():
            output = module(tensor)
            if cuda:
                torch.cuda.synchronize()
    except Exception as exc:  # noqa: BLE001
        text = str(exc)
        if isinstance(exc, MemoryError) or "out of memory" in text.lower() or "alloc" in text:
            raise MemoryError(_short(exc)) from None
        raise _Rejected(
            f"the model failed on an input of shape {list(tensor.shape)}: {_short(exc)}"
        ) from None
    if isinstance(output, list | tuple) and output:
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise _Rejected(f"the model must return a tensor; it returned {type(output).__name__}")
    return output.detach().float().cpu().numpy()


def _worker_main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    result_path = Path(job["result"])
    try:
        result, code = _worker(job), 0
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
