"""One call for the worker: archive in, outcome out (validate, load, run, clean up).

This is what `challenges.tasks.run_inference` (Celery, `inference` queue) calls. It never
raises for anything about the submission; problems become an `Outcome` with a message.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sandbox.containers.images import ImageRejected, load_image, remove_image, validate_archive
from sandbox.containers.outputs import DEFAULT_SCRATCH
from sandbox.containers.run import run_container
from sandbox.limits import ArchiveLimits, RunLimits, SandboxLimits
from sandbox.outcome import BackendUnavailable, Outcome, Status


def docker_client(timeout: int = 300) -> Any:
    """A Docker SDK client from the environment (DOCKER_HOST or the local socket)."""
    import docker

    return docker.from_env(timeout=timeout)


def run_submission(
    archive: Path,
    input_dir: Path,
    output_dir: Path,
    *,
    limits: SandboxLimits | None = None,
    archive_limits: ArchiveLimits | None = None,
    client: Any = None,
    run_id: str | None = None,
    keep_image: bool = False,
    scratch_root: Path | None = None,
) -> Outcome:
    """Validate `archive`, load it (once per digest), run it on `input_dir`, collect /output
    into `output_dir`, and remove the container (and the image unless `keep_image`)."""
    client = client or docker_client()
    run_id = run_id or uuid.uuid4().hex[:16]
    started = time.monotonic()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    scratch_root = Path(scratch_root or DEFAULT_SCRATCH)
    scratch_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"image-{run_id}-", dir=scratch_root))
    try:
        try:
            image = validate_archive(Path(archive), scratch, archive_limits)
            reference = load_image(client, image)
        except ImageRejected as exc:
            return Outcome(
                Status.REJECTED,
                str(exc),
                wall_seconds=time.monotonic() - started,
                output_dir=output_dir,
                details={"run_id": run_id},
            )
        try:
            outcome = run_container(
                client,
                reference,
                input_dir,
                output_dir,
                run_as=image.run_as,
                limits=limits,
                run_id=run_id,
                scratch_dir=scratch_root,
            )
        finally:
            if not keep_image:
                remove_image(client, reference)
        outcome.details["image"] = image.to_dict()
        return outcome
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class ContainerBackend:
    """The `container` backend (`sandbox.backends`): a `docker save` archive run by
    `run_submission` on the local Docker daemon."""

    name = "container"

    def limits(self, limits: RunLimits) -> SandboxLimits:
        return SandboxLimits(
            wall_seconds=limits.wall_seconds,
            memory_bytes=limits.memory_bytes,
            nano_cpus=int(limits.cpus * 1e9),
            pids=limits.pids,
            output_bytes=limits.output_bytes,
            gpu=limits.gpu,
        )

    def run(
        self, archive: Path, input_dir: Path, output_dir: Path, limits: RunLimits, *, run_id: str
    ) -> Outcome:
        try:
            client = docker_client()
            client.ping()
        except Exception as exc:  # noqa: BLE001 - docker's errors vary by transport
            raise BackendUnavailable(
                "The inference worker cannot reach Docker right now; the organisers can "
                "rerun this submission once it is back."
            ) from exc
        return run_submission(
            archive,
            input_dir,
            output_dir,
            limits=self.limits(limits),
            client=client,
            run_id=run_id,
        )
