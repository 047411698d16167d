"""The torch.export child process: `python -m sandbox.model_files.pt2_worker JOB.json`
(started by `run_model_file("pt2", ...)`).

Only what is specific to `torch.export` programs (`.pt2`, written by `torch.export.save`):
the archive check and the weights-only guard of `sandbox.model_files.pt2_archive`
(torch.export.load is pickle-based), `torch.export.load` and the exact parameter count (the
program's own parameter list, buffers excluded, exactly as for TorchScript). Device, FLOPs and
the forward pass: `sandbox.model_files.torch_runtime`; job, cases, masks, limits and error
reporting: `sandbox.model_files.worker`.
"""

from __future__ import annotations

import logging
import os
import sys

from sandbox.model_files.pt2_archive import UnsafeArchive, check_pt2_archive
from sandbox.model_files.torch_runtime import torch_device, torch_model
from sandbox.model_files.worker import LoadedModel, Rejected, WorkerJob, main


def load(job: WorkerJob) -> LoadedModel:
    """Check the archive, load the program on the job's device and measure it."""
    try:
        check_pt2_archive(job.model)
    except UnsafeArchive as exc:
        raise Rejected(str(exc)) from None
    # Read by torch.load at each call: every torch.load inside torch.export.load is then
    # weights-only, even where torch passes weights_only=False (see pt2_archive).
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)
    logging.getLogger("torch").setLevel(logging.ERROR)  # deserialisation chatter
    device, cuda = torch_device(job)
    import torch

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
    return torch_model(module, job, device, cuda, parameters)


if __name__ == "__main__":
    sys.exit(main("sandbox.model_files.pt2_worker", load))
