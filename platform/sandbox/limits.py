"""Resource limits for one sandboxed run, in one place so the platform can show them to
participants (docs/model-container.md quotes the defaults) and tests can shrink them."""

from __future__ import annotations

from dataclasses import dataclass

from evaluator.io.archives import GiB, MiB

#: Docker label put on every container and image-tag the sandbox creates, so that
#: `reap_orphans` can find what a crashed worker left behind.
SANDBOX_LABEL = "fetalbench.sandbox"
RUN_ID_LABEL = "fetalbench.run_id"
#: Repository name under which loaded participant images are tagged (image labels cannot be
#: added without changing the image digest, so the tag is the image's "label").
IMAGE_REPOSITORY = "fetalbench-sandbox"


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits checked before an image archive is loaded into the daemon."""

    max_compressed_bytes: int = 10 * GiB
    max_uncompressed_bytes: int = 20 * GiB
    #: JSON members (manifest, config, /etc/passwd) are read into memory: keep them small.
    max_metadata_bytes: int = 4 * MiB
    max_members: int = 100_000


@dataclass(frozen=True)
class SandboxLimits:
    """Limits one model container runs under."""

    wall_seconds: float = 3600.0
    memory_bytes: int = 16 * GiB
    nano_cpus: int = 4_000_000_000  # 4 CPUs
    pids: int = 256
    tmp_bytes: int = 1 * GiB
    output_bytes: int = 2 * GiB
    output_files: int = 100_000
    shm_bytes: int = 64 * MiB
    #: How much of the container's log the participant gets back (the tail).
    log_lines: int = 200
    log_bytes: int = 64 * 1024
    gpu: bool = False
    #: Cap /output with a tmpfs mount (needs mount rights); False forces the polling fallback.
    output_tmpfs: bool = True

    def describe(self) -> str:
        """One line for messages and logs."""
        return (
            f"time {self.wall_seconds:g} s, memory {self.memory_bytes // MiB} MiB, "
            f"cpus {self.nano_cpus / 1e9:g}, processes {self.pids}, "
            f"/output {self.output_bytes // MiB} MiB, /tmp {self.tmp_bytes // MiB} MiB"
            + (", 1 GPU" if self.gpu else "")
        )


@dataclass(frozen=True)
class RunLimits:
    """What the site sets for one run, whichever backend runs it (`sandbox.backends`); each
    backend derives its own limits from it (`SandboxLimits` for a container, `ModelLimits`
    for a model file)."""

    wall_seconds: float
    memory_bytes: int
    cpus: float
    pids: int
    output_bytes: int
    gpu: bool = False
