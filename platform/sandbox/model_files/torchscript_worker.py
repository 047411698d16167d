"""The TorchScript child process: `python -m sandbox.model_files.torchscript_worker JOB.json`
(started by `run_model_file("torchscript", ...)`).

Only what is TorchScript-specific: `torch.jit.load` and the exact parameter count (the
scripted module's `parameters()`). Device, FLOPs and the forward pass:
`sandbox.model_files.torch_runtime`; job, cases, masks, limits and error reporting:
`sandbox.model_files.worker`.
"""

from __future__ import annotations

import sys

from sandbox.model_files.torch_runtime import torch_device, torch_model
from sandbox.model_files.worker import LoadedModel, Rejected, WorkerJob, main


def load(job: WorkerJob) -> LoadedModel:
    """Load the archive on the job's device and measure it."""
    device, cuda = torch_device(job)
    import torch

    try:
        module = torch.jit.load(str(job.model), map_location=device)
    except Exception:  # noqa: BLE001 - any load failure means "not TorchScript"
        raise Rejected(
            "the model file is not a TorchScript archive (save it with torch.jit.save)"
        ) from None
    module.eval()
    parameters = sum(int(p.numel()) for p in module.parameters())
    return torch_model(module, job, device, cuda, parameters)


if __name__ == "__main__":
    sys.exit(main("sandbox.model_files.torchscript_worker", load))
