"""Submit exported baselines to a challenge phase through the public REST API.

Baselines go through the same client and endpoint as any participant's model file (a zip of
the TorchScript file and its spec, `kind=model`), with their metadata (backbone, strategy,
trainable and total parameters) so the leaderboard can plot score against trainable size.
The score reported back is the platform's own: the mean over the hidden cases of the phase's
primary ranking metric, read from the submission's per-case results. The leaderboard shows one
row per participant (its best or latest entry), so per-strategy scores cannot come from it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from fetalbench.api import ApiError, Client

#: Our strategies onto the platform's coarse `fine_tuning_strategy` choices; the exact
#: strategy (key and title) goes into `method_name`.
PLATFORM_STRATEGY = {
    "a": "decoder_only",
    "b": "encoder_only",
    "c": "encoder_only",
    "d": "decoder_only",
    "e": "decoder_only",
    "f": "decoder_only",
    "g": "decoder_only",
    "h": "decoder_only",
    "i": "decoder_only",
    "full": "full",
    "scratch": "from_scratch",
}


def submission_metadata(row: dict) -> dict[str, str]:
    """The form fields of one baseline's model submission (a sweep row in, strings out)."""
    return {
        "kind": "model",
        "method_name": f"reference {row['model']} strategy {row['strategy']}: {row['title']}",
        "backbone": row["model"],
        "fine_tuning_strategy": PLATFORM_STRATEGY.get(row["strategy"], "other"),
        "params_total": str(row["total_parameters"]),
        "params_trainable": str(row["trainable_parameters"]),
    }


def submit_bundle(client: Client, phase: int, bundle: Path, row: dict) -> dict:
    """Upload one model zip with the row's metadata; returns the platform's submission."""
    return client.submit(phase, bundle, submission_metadata(row))


def wait_until_done(
    client: Client,
    submission_id: int,
    timeout: float = 1800.0,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """`Client.wait_for_submission`, where only `done` will do: a failed/cancelled one is an
    ApiError carrying the platform's own reason, so the user sees why a baseline did not score
    (a timeout is the client's ApiError)."""
    record = client.wait_for_submission(
        submission_id, timeout=timeout, poll_s=poll_seconds, sleep=sleep
    )
    status = record.get("status")
    if status != "done":
        detail = (record.get("status_detail") or "").strip() or "no detail given"
        raise ApiError(f"submission {submission_id} {status}: {detail}")
    return record


def primary_metric(client: Client, phase: int) -> tuple[str, str]:
    """(class, metric) the phase ranks by first: the leaderboard's first ranking column, or,
    when the board is hidden from us, the phase's own `ranking_metrics`."""
    try:
        board = client.leaderboard(phase)
    except ApiError:
        board = {}
    for column in board.get("columns", []):
        if column.get("ranking"):
            return str(column["class_name"]), str(column["metric"])
    for item in client.phase(phase).get("ranking_metrics") or []:
        return str(item["class"]), str(item["metric"])
    return "", "dice"  # the task's default: its first class's Dice


def platform_score(client: Client, submission_id: int, class_name: str, metric: str) -> float:
    """Mean of `class_name.metric` over the submission's cases, as the platform scored them
    (NaN cases left out, as the platform's aggregate does); NaN when no case has a value.
    An empty `class_name` means the first class each case reports."""
    cases = client.submission_cases(submission_id).get("cases", [])
    values = []
    for case in cases:
        metrics = case.get("metrics") or {}
        name = class_name or next(iter(metrics), "")
        value = (metrics.get(name) or {}).get(metric)
        if isinstance(value, int | float) and math.isfinite(value):
            values.append(float(value))
    return sum(values) / len(values) if values else math.nan


def submit_and_score(
    client: Client,
    phase: int,
    bundles: list[Path],
    rows: list[dict],
    timeout: float = 1800.0,
    poll_seconds: float = 1.0,
) -> list[dict]:
    """Submit every bundle, then wait for each and add the platform's results to its row.

    All uploads go first so the worker scores them back to back instead of idling while we
    wait between uploads. Adds `submission`, `platform_metric`, `platform_score`,
    `platform_params_total`, `platform_params_trainable` and `params_source` to each row.
    """
    class_name, metric = primary_metric(client, phase)
    submitted = [
        submit_bundle(client, phase, b, r)["id"] for b, r in zip(bundles, rows, strict=True)
    ]
    for submission_id, row in zip(submitted, rows, strict=True):
        record = wait_until_done(client, submission_id, timeout, poll_seconds)
        row.update(
            submission=submission_id,
            platform_metric=f"{class_name} {metric}",
            platform_score=platform_score(client, submission_id, class_name, metric),
            platform_params_total=record.get("params_total"),
            platform_params_trainable=record.get("params_trainable"),
            params_source=record.get("params_source"),
        )
    return rows
