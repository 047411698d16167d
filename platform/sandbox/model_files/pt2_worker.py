"""The torch.export child process: `python -m sandbox.model_files.pt2_worker JOB.json` (started by
`run_pt2`).

Only what is specific to `torch.export` programs (`.pt2`, written by `torch.export.save`):
the archive check and the weights-only guard of `sandbox.model_files.pt2_archive` (torch.export.load is
pickle-based), `torch.export.load`, the exact parameter count (the program's own parameter
list, buffers excluded, exactly as for TorchScript), FLOPs from torch.utils.flop_counter and
one forward pass. Job, cases, masks, limits and error reporting: `sandbox.model_files.worker`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from sandbox.model_files.pt2_archive import UnsafeArchive, check_pt2_archive
from sandbox.model_files.worker import LoadedModel, Rejected, WorkerJob, main, run_failure, short


def load(job: WorkerJob) -> LoadedModel:
    """Check the archive, load the program on the job's device and measure it."""
    try:
        check_pt2_archive(job.model)
    except UnsafeArchive as exc:
        raise Rejected(str(exc)) from None
    # Read by torch.load at each call: every torch.load inside torch.export.load is then
    # weights-only, even where torch passes weights_only=False (see sandbox.model_files.pt2_archive).
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)
    import logging
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("torch").setLevel(logging.ERROR)  # deserialisation chatter
    import torch

    torch.set_num_threads(job.threads)
    cuda = job.use_gpu and torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    try:
        program = torch.export.load(str(job.model))
        module = program.module()
    except Exception:  # noqa: BLE001 - any load failure means "not a usable program"
        raise Rejected(
            "the model file is not a torch.export program (save it with torch.export.save)"
        ) from None
    names = set(program.graph_signature.parameters)
    parameters = sum(int(t.numel()) for n, t in program.state_dict.items() if n in names)
    module.to(device)
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
    sys.exit(main("sandbox.model_files.pt2_worker", load))
