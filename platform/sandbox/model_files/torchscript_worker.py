"""The TorchScript child process: `python -m sandbox.model_files.torchscript_worker JOB.json` (started by
`run_torchscript`).

Only what is TorchScript-specific: `torch.jit.load`, the exact parameter count, FLOPs from
torch.utils.flop_counter (which sees the ops a scripted module dispatches) and one forward
pass. Job, cases, masks, limits and error reporting: `sandbox.model_files.worker`.
"""

from __future__ import annotations

import sys
from typing import Any

from sandbox.model_files.worker import LoadedModel, Rejected, WorkerJob, main, run_failure, short


def load(job: WorkerJob) -> LoadedModel:
    """Load the archive on the job's device and measure it."""
    import warnings

    # torch.jit's deprecation notice would otherwise fill the participant's log tail.
    warnings.filterwarnings("ignore", category=FutureWarning)
    import torch

    torch.set_num_threads(job.threads)
    cuda = job.use_gpu and torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    try:
        module = torch.jit.load(str(job.model), map_location=device)
    except Exception:  # noqa: BLE001 - any load failure means "not TorchScript"
        raise Rejected(
            "the model file is not a TorchScript archive (save it with torch.jit.save)"
        ) from None
    module.eval()
    parameters = sum(int(p.numel()) for p in module.parameters())
    flops, note = _count_flops(module, job.input_shape, device)

    def run(array: Any) -> Any:
        return _forward(module, torch.from_numpy(array).to(device), cuda)

    details = {
        "parameters": parameters,
        "flops": flops,
        "macs": flops // 2 if flops is not None else None,
        "flops_note": note,
        "input_shape": job.input_shape,
        "device": str(device),
    }
    return LoadedModel(run, details)


def _count_flops(module: Any, shape: list[int], device: Any) -> tuple[int | None, str]:
    """FLOPs of one forward pass at `shape`; None (with the reason) when counting fails."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    try:
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            module(torch.zeros(shape, device=device))
        return int(counter.get_total_flops()), "torch.utils.flop_counter (conv, matmul, ...)"
    except Exception as exc:  # noqa: BLE001 - the run itself reports real failures
        return None, f"not counted: {short(exc)}"


def _forward(module: Any, tensor: Any, cuda: bool) -> Any:
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


if __name__ == "__main__":
    sys.exit(main("sandbox.model_files.torchscript_worker", load))
