"""What a model or container run left for its owners to read: the summary kept on the
submission (`Submission.inference`) and the log excerpt, stderr lines included.

The excerpt rule lives in `sandbox.log_streams.excerpt`; this module applies it to what the
worker stores and to what the API and the submission page show, for failed and successful
runs alike (a run that worked but scored badly is debugged from its log too).
"""

from __future__ import annotations

from typing import Any

from sandbox.log_streams import excerpt

from challenges.models import Submission
from challenges.services.messages import participant_text

#: Lines kept on the submission, and lines quoted in a failure message.
LOG_LINES_KEPT = 50
LOG_LINES_SHOWN = 20
SUMMARY_KEYS = ("status", "message", "wall_seconds", "exit_code")


def kept_log(lines: list[str], streams: list[str], limit: int = LOG_LINES_KEPT) -> dict[str, list]:
    """``{"log_tail": [...], "log_streams": [...]}`` to store: the excerpt, made storable."""
    picked = excerpt(lines, streams, limit)
    return {
        "log_tail": [participant_text(text) for text, _ in picked],
        "log_streams": [stream for _, stream in picked],
    }


def shown_log(lines: list[str], streams: list[str], limit: int = LOG_LINES_SHOWN) -> list[str]:
    """The lines a failure message quotes (stderr's last lines always among them)."""
    return [text for text, _ in excerpt(lines, streams, limit)]


def run_summary(submission: Submission) -> dict[str, Any] | None:
    """The run's summary for the submission's owners (API and page), or None for uploaded
    predictions and runs that have not finished. Server-side details (run ids, image
    digests) stay out: the owners get the outcome and the log."""
    summary = submission.inference or {}
    if submission.kind not in Submission.RUN_KINDS or not summary:
        return None
    out = {key: summary.get(key) for key in SUMMARY_KEYS}
    lines = [str(line) for line in summary.get("log_tail") or []]
    streams = [str(s) for s in summary.get("log_streams") or []]
    out["log"] = [
        {"text": line, "stream": streams[i] if len(streams) == len(lines) else ""}
        for i, line in enumerate(lines)
    ]
    return out
