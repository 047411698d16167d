"""What a sandboxed run produced: one status a participant can act on plus the evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class BackendUnavailable(Exception):
    """The worker cannot run this kind of submission right now (not the participant's fault,
    e.g. Docker is unreachable); the message says so and that a rerun will do."""


class Status(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    OOM = "oom"
    CRASHED = "crashed"
    OUTPUT_TOO_LARGE = "output_too_large"
    REJECTED = "rejected"


@dataclass
class Outcome:
    """Result of one run. `output_dir` holds the copied regular files of /output (also for
    failed runs, for debugging); the evaluator's validation decides whether they are usable."""

    status: Status
    message: str
    log_tail: list[str] = field(default_factory=list)
    #: "stdout"/"stderr" for each line of `log_tail` (sandbox/log_streams.py); empty when the
    #: streams are not known apart (model files log stderr only).
    log_streams: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    output_dir: Path | None = None
    exit_code: int | None = None
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def to_dict(self) -> dict:
        """JSON-ready form for the platform's database and API."""
        return {
            "status": str(self.status),
            "message": self.message,
            "log_tail": list(self.log_tail),
            "log_streams": list(self.log_streams),
            "wall_seconds": round(self.wall_seconds, 3),
            "output_dir": str(self.output_dir) if self.output_dir else None,
            "exit_code": self.exit_code,
            "details": dict(self.details),
        }
