"""Scoring one submission's masks: uploaded predictions, or a model's inference output.

`run_scoring` is the scoring queue's run (claimed through `states.claim_runnable`);
`score_predictions` validates and scores a folder or archive of masks, stores the evaluation
while the run still owns the submission, and returns a `ScoringResult` (the status, and on a
failure its code and the detail as stored) so a caller never re-reads it from the database.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from challenges import leaderboards
from challenges.models import Evaluation, Submission, truth_dir
from challenges.services.messages import describe_invalid, participant_text, upload_names
from challenges.services.states import (
    ClaimLost,
    Failure,
    claim_runnable,
    current_claim,
    fail_safely,
    owned_rows,
    set_state,
)

log = logging.getLogger(__name__)

PROGRESS_MIN_INTERVAL_S = 0.5
PROGRESS_MIN_STEP = 0.02


@dataclass(frozen=True)
class ScoringResult:
    """How scoring ended: `status` (done, failed or 'superseded'), and for a failure its
    `failure_code` (`Submission.FailureCode`) and `detail`, the text as stored."""

    status: str
    failure_code: str = ""
    detail: str = ""


def scoring_workers() -> int:
    """Processes the evaluator may use for one submission.

    A prefork Celery child is a daemon process and may not start its own pool, so it scores
    serially; a solo/threads worker uses settings.SCORING_WORKERS (FETALBENCH_SCORING_WORKERS;
    0 or unset: all cores).
    """
    if multiprocessing.current_process().daemon:
        return 1
    return settings.SCORING_WORKERS if settings.SCORING_WORKERS > 0 else os.cpu_count() or 1


class ProgressReporter:
    """Evaluator progress callback that writes to the database at a bounded rate.

    The first call also moves the submission from validating to scoring: the evaluator
    reports progress only once the whole submission has passed validation.
    """

    def __init__(self, submission_id: int):
        self.submission_id = submission_id
        self.last_write = 0.0
        self.last_value = 0.0
        self.scoring = False

    def __call__(self, done: int, total: int) -> None:
        value = min(1.0, done / total) if total else 0.0
        now = time.monotonic()
        if not self.scoring:
            self.scoring = True
            set_state(self.submission_id, Submission.Status.SCORING, progress=value)
        elif (
            now - self.last_write >= PROGRESS_MIN_INTERVAL_S
            and value - self.last_value >= PROGRESS_MIN_STEP
        ) or (value >= 1.0 > self.last_value):
            # Progress doubles as a heartbeat: the watchdog only steps in when it stops.
            if (
                not owned_rows(self.submission_id).update(
                    progress=value, state_changed_at=timezone.now()
                )
                and current_claim() is not None
            ):
                raise ClaimLost(self.submission_id)
        else:
            return
        self.last_write, self.last_value = now, value


def run_scoring(submission_id: int, resume_attempt: int | None = None) -> str:
    """Score one predictions submission end to end; returns the final status (or 'skipped',
    or 'superseded' when another run took the submission over meanwhile)."""
    return claim_runnable(
        submission_id,
        Submission.Status.VALIDATING,
        (Submission.Kind.PREDICTIONS,),
        lambda submission: score_predictions(submission, Path(submission.file.path)).status,
        resume_attempt=resume_attempt,
        wrong_kind="cannot be scored by this worker",
    )


def score_predictions(
    submission: Submission,
    predictions: Path,
    *,
    explain_invalid: Callable[[str], str] | None = None,
) -> ScoringResult:
    """Validate and score a folder or archive of masks for `submission` (uploaded predictions
    or a model's inference output); stores the evaluation and says how it ended.

    `explain_invalid` turns the validation report into the message stored (a model run adds
    what /output should hold and its log): the failure is written once, whole, so nobody
    watching the submission reads a first, shorter message that is then replaced."""
    from evaluator.scoring import InvalidSubmission, score_submission  # numpy & co.

    submission_id = submission.pk
    try:
        task = submission.phase.challenge.get_task()
        results = score_submission(
            task,
            truth_dir(submission.phase_id),
            predictions,
            workers=scoring_workers(),
            progress=ProgressReporter(submission_id),
        )
    except InvalidSubmission as exc:
        detail = participant_text(
            describe_invalid(exc),
            **upload_names(submission.file.name, submission.original_filename),
        )
        if explain_invalid is not None:
            detail = explain_invalid(detail)
        stored = set_state(
            submission_id, Submission.Status.FAILED, detail, failure_code=Failure.INVALID
        )
        log.info("Submission %s is invalid", submission_id)
        return ScoringResult(Submission.Status.FAILED, Failure.INVALID, stored)
    except (ClaimLost, OperationalError):
        raise
    except Exception as exc:  # noqa: BLE001 - a worker must record every failure
        return ScoringResult(fail_safely(submission_id, exc), Failure.INTERNAL_ERROR)
    _store_evaluation(submission, results)
    return ScoringResult(Submission.Status.DONE)


def _store_evaluation(submission: Submission, results: dict) -> None:
    with transaction.atomic():
        # Stored only while the submission is still this run's (a late writer stores nothing).
        if not owned_rows(submission.pk).select_for_update().exists():
            raise ClaimLost(submission.pk)
        Evaluation.objects.filter(submission=submission, is_current=True).update(is_current=False)
        Evaluation.objects.create(
            submission=submission,
            results=results,
            evaluator_version=str(results.get("evaluator_version", ""))[:50],
            # The content the evaluator hashed as it started: a set swapped in meanwhile
            # leaves this at the old version, so the score shows as stale, never as current.
            truth_version=str((results.get("inputs") or {}).get("truth_version", ""))[:64],
        )
        set_state(submission.pk, Submission.Status.DONE, "", progress=1.0)
        # Ranked in the same commit as "done": whoever sees the submission done finds it on
        # the boards (one phase lock, ~ms at 1,000 entries; benchmarks/leaderboard.md).
        try:
            with transaction.atomic():
                leaderboards.recompute(submission.phase, scored=submission)
        except OperationalError:  # the scores are kept; only the board waits
            log.exception(
                "Leaderboard of phase %s not recomputed; run recompute_leaderboards",
                submission.phase_id,
            )
    log.info("Submission %s scored", submission.pk)
