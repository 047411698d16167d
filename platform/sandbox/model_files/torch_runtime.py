"""What the two torch formats' children share: TorchScript (`torchscript_worker`) and
`torch.export` programs (`pt2_worker`) differ only in how the file is loaded and its
parameters counted; the device, the FLOPs count, the forward pass and the `LoadedModel` they
hand to `sandbox.model_files.worker` are the same and live here once.

Child side only (`python -m sandbox.model_files.<format>_worker`): torch is imported inside the
functions, after each worker has set what must be set before torch loads (the weights-only
guard of `pt2_archive`).
"""

from __future__ import annotations

import warnings
from typing import Any

from sandbox.model_files.worker import LoadedModel, Rejected, WorkerJob, run_failure, short


def torch_device(job: WorkerJob) -> tuple[Any, bool]:
    """Import torch with the job's thread count; the device to run on and whether it is a GPU
    (only when the job may use one and torch sees one)."""
    # torch.jit's and torch.export's deprecation notices would fill the participant's log tail.
    warnings.filterwarnings("ignore", category=FutureWarning)
    import torch

    torch.set_num_threads(job.threads)
    cuda = job.use_gpu and torch.cuda.is_available()
    return torch.device("cuda" if cuda else "cpu"), cuda


def torch_model(
    module: Any, job: WorkerJob, device: Any, cuda: bool, parameters: int
) -> LoadedModel:
    """A loaded torch module (already on `device`) as the worker runs it: the FLOPs of one
    forward pass at the job's input shape, and `run` = one forward pass on the host array."""
    import torch

    flops, note = count_flops(module, job.input_shape, device)

    def run(array: Any) -> Any:
        return forward(module, torch.from_numpy(array).to(device), cuda)

    details = {
        "parameters": parameters,
        "flops": flops,
        "macs": flops // 2 if flops is not None else None,
        "flops_note": note,
        "input_shape": job.input_shape,
        "device": str(device),
    }
    return LoadedModel(run, details)


def count_flops(module: Any, shape: list[int], device: Any) -> tuple[int | None, str]:
    """FLOPs of one forward pass at `shape` (torch.utils.flop_counter, which sees the ops a
    scripted module or an exported program dispatches); None (with the reason) when counting
    fails."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    try:
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            module(torch.zeros(shape, device=device))
        return int(counter.get_total_flops()), "torch.utils.flop_counter (conv, matmul, ...)"
    except Exception as exc:  # noqa: BLE001 - the run itself reports real failures
        return None, f"not counted: {short(exc)}"


def forward(module: Any, tensor: Any, cuda: bool) -> Any:
    """One forward pass; the first output tensor as a float32 NumPy array on the host."""
    import torch

    try:
        with torch.inference_mode():
            output = module(tensor)
            if cuda:
                torch.cuda.synchronize()
    except Exception as exc:  # noqa: BLE001
        raise run_failure(exc, tensor.shape) from None
    if isinstance(output, list | tuple) and output:
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise Rejected(f"the model must return a tensor; it returned {type(output).__name__}")
    return output.detach().float().cpu().numpy()
