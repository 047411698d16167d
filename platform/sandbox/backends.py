"""The execution backends behind one interface: a submission archive in, an `Outcome` out.

- `container`: a `docker save` archive run with no network under `SandboxLimits`
  (`sandbox.containers.backend.ContainerBackend`).
- `model_file`: a zip of one model file and its spec run in a limited child process
  (`sandbox.model_files.backend.ModelFileBackend`).

The site picks one by name (`backend_for("container")`) and never branches on the kind
itself; adding a backend is one class and one line in `BACKENDS`. Plain Python like the rest
of `sandbox/`: never Django or `challenges`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from sandbox.containers.backend import ContainerBackend
from sandbox.limits import RunLimits
from sandbox.model_files.backend import ModelFileBackend
from sandbox.outcome import BackendUnavailable, Outcome


class Backend(Protocol):
    """Runs one submission archive on `input_dir` (images + inputs.json), writing masks to
    `output_dir`. Never raises for anything the submission did wrong (that is an `Outcome`),
    except a model-file zip that is not a bundle (`BundleError`); raises `BackendUnavailable`
    when the worker itself cannot run it."""

    name: str

    def run(
        self, archive: Path, input_dir: Path, output_dir: Path, limits: RunLimits, *, run_id: str
    ) -> Outcome: ...


#: Backend name -> the backend that runs it.
BACKENDS: dict[str, Backend] = {
    "container": ContainerBackend(),
    "model_file": ModelFileBackend(),
}


def backend_for(name: str) -> Backend:
    """The backend called `name`; ValueError for a name no backend has."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"no backend {name!r}; known: {sorted(BACKENDS)}") from None


__all__ = ["BACKENDS", "Backend", "BackendUnavailable", "backend_for"]
