"""The scoring pipeline a Celery worker runs for one submission.

States: queued -> validating -> scoring -> done (with a current Evaluation) or failed (with a
readable ``status_detail``). Model and container submissions first pass through "running
inference" (``challenges.services.inference``), whose output folder then takes the same
``score_predictions`` path as uploaded masks. A task only proceeds from ``queued``: a redelivered message for a
submission that is already done, failed or being worked on does nothing, and a submission
whose worker died is handed back to the queue by the watchdog (``recover_stuck``), which
counts attempts and gives up with a reason after ``MAX_ATTEMPTS``.

A run owns its submission by the attempt number it claimed (`Claim`). Every write it makes
(state, progress, the evaluation) checks that the submission is still in a working state at
that attempt, so a worker that stalled past the deadline and resumed after the watchdog
handed its submission to another run stores nothing (issue 9, item 5); a run retried after a
database outage takes its own attempt back instead of ignoring itself (item 6).
"""

from __future__ import annotations

import contextvars
import logging
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from challenges.models import Evaluation, Submission, truth_dir
from challenges.services.messages import participant_text, upload_names
from challenges.services.messages import redact as redact
from challenges.services.submissions import queue_scoring

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
NO_TRUTH_DETAIL = (
    "The organisers have not loaded the test set for this phase yet; "
    "the submission will be rerun once they do."
)
MAX_PROBLEMS_SHOWN = 50
PROGRESS_MIN_INTERVAL_S = 0.5
PROGRESS_MIN_STEP = 0.02


def scoring_workers() -> int:
    """Processes the evaluator may use for one submission.

    A prefork Celery child is a daemon process and may not start its own pool, so it scores
    serially; a solo/threads worker uses FETALBENCH_SCORING_WORKERS (default: all cores).
    """
    if multiprocessing.current_process().daemon:
        return 1
    configured = os.environ.get("FETALBENCH_SCORING_WORKERS", "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else os.cpu_count() or 1


WORKING = (Submission.Status.INFERRING, Submission.Status.VALIDATING, Submission.Status.SCORING)


@dataclass
class Claim:
    """This run's hold on a submission: valid while it is working at this attempt, and
    after this run itself finished it (to add to its own failure message)."""

    submission_id: int
    attempt: int
    finished: bool = False


class ClaimLost(Exception):
    """The submission is no longer this run's (the watchdog requeued it, a rerun or another
    worker took it): stop and store nothing."""


#: The claim of the run in progress in this process (set by `as_owner`).
_current_claim: contextvars.ContextVar[Claim | None] = contextvars.ContextVar(
    "fetalbench_claim", default=None
)


def owned_rows(submission_id: int):
    """Submissions rows this process may write: all of them outside a run; inside a run,
    the claimed one only while it is still working at the claimed attempt."""
    rows = Submission.objects.filter(pk=submission_id)
    held = _current_claim.get()
    if held is not None and held.submission_id == submission_id:
        states = Submission.FINISHED if held.finished else WORKING
        rows = rows.filter(attempts=held.attempt, status__in=states)
    return rows


def set_state(submission_id: int, status: str, detail: str = "", **extra) -> None:
    """Move a submission to `status` with a participant-facing `detail`.

    The detail is made readable, private and storable first (`messages.participant_text`):
    a message the database refuses must never leave a submission stuck. Inside a run, a
    submission that is no longer this run's raises `ClaimLost` instead of being written.
    """
    updated = owned_rows(submission_id).update(
        status=status,
        status_detail=participant_text(detail),
        state_changed_at=timezone.now(),
        **extra,
    )
    held = _current_claim.get()
    if held is None or held.submission_id != submission_id:
        return
    if not updated:
        raise ClaimLost(submission_id)
    held.finished = status in Submission.FINISHED


def claim(
    submission_id: int,
    status: str = Submission.Status.VALIDATING,
    *,
    resume_attempt: int | None = None,
) -> Submission | None:
    """Move a queued submission to `status` (validating, or running inference for models and
    containers); None when there is nothing to do.

    `resume_attempt` is a retried run's own attempt (after a database outage the hand-back
    may have failed too): a submission still working at that attempt is taken back as is.
    """
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update()
            .select_related("phase__challenge")
            .filter(pk=submission_id)
            .first()
        )
        if submission is None:
            log.warning("Scoring task for unknown submission %s ignored", submission_id)
            return None
        resumed = (
            resume_attempt is not None
            and submission.status in WORKING
            and submission.attempts == resume_attempt
        )
        if submission.status != Submission.Status.QUEUED and not resumed:
            log.info(
                "Submission %s is %s; duplicate or stale task ignored",
                submission_id,
                submission.status,
            )
            return None
        submission.status = status
        submission.status_detail = ""
        submission.progress = 0.0
        if not resumed:
            submission.attempts += 1
        submission.state_changed_at = timezone.now()
        submission.save(
            update_fields=["status", "status_detail", "progress", "attempts", "state_changed_at"]
        )
    return submission


def as_owner(submission: Submission, work: Callable[[], str]) -> str:
    """Run `work` holding the claim on `submission`; 'superseded' when it was lost.

    A database error leaves with the claimed attempt attached (`claimed_attempt`), so the
    task's retry can take its own attempt back.
    """
    token = _current_claim.set(Claim(submission.pk, submission.attempts))
    try:
        return work()
    except ClaimLost:
        log.warning(
            "Submission %s was taken over while attempt %s ran; its results are dropped",
            submission.pk,
            submission.attempts,
        )
        return "superseded"
    except OperationalError as exc:
        exc.claimed_attempt = submission.attempts  # type: ignore[attr-defined]
        raise
    except Exception as exc:  # noqa: BLE001 - nothing may leave a submission working
        return fail_safely(submission.pk, exc)
    finally:
        _current_claim.reset(token)


def fail_safely(submission_id: int, exc: BaseException) -> str:
    """Record that a run crashed, whatever it crashed on; even if writing the detail fails
    (it should not: `participant_text` makes it storable), the submission ends failed."""
    log.error(
        "Run for submission %s crashed: %s",
        submission_id,
        redact("".join(traceback.format_exception(exc))),
    )
    detail = (
        f"Scoring failed with an internal error ({type(exc).__name__}); "
        "the organisers can see the worker log and rerun it."
    )
    try:
        set_state(submission_id, Submission.Status.FAILED, detail)
    except ClaimLost:
        return "superseded"
    except Exception:  # noqa: BLE001 - the last resort must not fail on its own message
        log.exception("Could not record the failure of submission %s", submission_id)
        owned_rows(submission_id).update(
            status=Submission.Status.FAILED,
            status_detail="Scoring failed with an internal error.",
            state_changed_at=timezone.now(),
        )
    return Submission.Status.FAILED


def release(submission_id: int) -> None:
    """Hand a submission this run had claimed back to the queue (before a task retry)."""
    try:
        Submission.objects.filter(
            pk=submission_id,
            status__in=[
                Submission.Status.INFERRING,
                Submission.Status.VALIDATING,
                Submission.Status.SCORING,
            ],
        ).update(status=Submission.Status.QUEUED, state_changed_at=timezone.now())
    except OperationalError:
        log.warning("Could not release submission %s; the retry will resume it", submission_id)


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
            if not owned_rows(self.submission_id).update(
                progress=value, state_changed_at=timezone.now()
            ) and _current_claim.get() is not None:
                raise ClaimLost(self.submission_id)
        else:
            return
        self.last_write, self.last_value = now, value


def describe_invalid(exc: Exception) -> str:
    """All validation problems, one a line (the first MAX_PROBLEMS_SHOWN), for participants."""
    report = getattr(exc, "report", None)
    problems = [p for p in getattr(report, "problems", None) or [] if getattr(p, "is_error", True)]
    if not problems:
        return redact(f"The submission is invalid: {exc}")
    lines = [f"The submission is invalid ({len(problems)} problem(s)):"]
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        case = getattr(problem, "case", None)
        code = getattr(problem, "code", "")
        message = getattr(problem, "message", str(problem))
        where = f"{case}: " if case else ""
        # One line per problem, whatever the names in it hold: a member name with newlines
        # must not forge lines of the report ("- all cases are fine [ok]").
        line = f"- {where}{message}".replace("\r", "\\r").replace("\n", "\\n")
        lines.append(line + (f" [{code}]" if code else ""))
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more.")
    return redact("\n".join(lines))


def run_scoring(submission_id: int, resume_attempt: int | None = None) -> str:
    """Score one predictions submission end to end; returns the final status (or 'skipped',
    or 'superseded' when another run took the submission over meanwhile)."""
    submission = claim(submission_id, resume_attempt=resume_attempt)
    if submission is None:
        return "skipped"
    return as_owner(submission, lambda: _score_upload(submission))


def _score_upload(submission: Submission) -> str:
    submission_id = submission.pk
    if not has_truth(submission):
        return Submission.Status.FAILED
    if submission.kind != Submission.Kind.PREDICTIONS:
        set_state(
            submission_id,
            Submission.Status.FAILED,
            f"{submission.get_kind_display()} submissions cannot be scored by this worker.",
        )
        return Submission.Status.FAILED
    if not submission.file or not submission.file.storage.exists(submission.file.name):
        set_state(submission_id, Submission.Status.FAILED, "The uploaded file is missing.")
        return Submission.Status.FAILED
    return score_predictions(submission, Path(submission.file.path))


def has_truth(submission: Submission) -> bool:
    """False (and the submission failed with the promise of a rerun) without a truth set."""
    if (truth_dir(submission.phase_id) / "cases.csv").is_file():
        return True
    set_state(submission.pk, Submission.Status.FAILED, NO_TRUTH_DETAIL)
    return False


def score_predictions(submission: Submission, predictions: Path) -> str:
    """Validate and score a folder or archive of masks for `submission` (uploaded predictions
    or a model's inference output); stores the evaluation and returns the final status."""
    from evaluator.scoring import InvalidSubmission, score_submission

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
            describe_invalid(exc), **upload_names(submission.file.name, submission.original_filename)
        )
        set_state(submission_id, Submission.Status.FAILED, detail)
        log.info("Submission %s is invalid", submission_id)
        return Submission.Status.FAILED
    except (ClaimLost, OperationalError):
        raise
    except Exception as exc:  # noqa: BLE001 - a worker must record every failure
        return fail_safely(submission_id, exc)
    _store_evaluation(submission, results)
    return Submission.Status.DONE


def _store_evaluation(submission: Submission, results: dict) -> None:
    from challenges import leaderboards

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
    log.info("Submission %s scored", submission.pk)
    for attempt in range(3):
        try:
            leaderboards.recompute(submission.phase)
            return
        except OperationalError:  # busy database: the scores are safe, only the board waits
            time.sleep(1 + attempt)
    log.error(
        "Leaderboard of phase %s not recomputed; run recompute_leaderboards", submission.phase_id
    )


def recover_stuck(now: datetime | None = None) -> dict[str, int]:
    """Requeue submissions stuck in a working state past the deadline, or fail them."""
    now = now or timezone.now()
    deadline = now - settings.SUBMISSION_STATE_DEADLINE
    counts = {"requeued": 0, "failed": 0}
    with transaction.atomic():
        stuck = list(
            Submission.objects.select_for_update(skip_locked=True).filter(
                status__in=Submission.IN_PROGRESS, state_changed_at__lt=deadline
            )
        )
        for submission in stuck:
            was = submission.status
            if submission.attempts < MAX_ATTEMPTS:
                set_state(
                    submission.pk,
                    Submission.Status.QUEUED,
                    f"Requeued: no progress while {was} for more than "
                    f"{_minutes(settings.SUBMISSION_STATE_DEADLINE)}.",
                    progress=0.0,
                )
                queue_scoring(submission)
                counts["requeued"] += 1
            else:
                set_state(
                    submission.pk,
                    Submission.Status.FAILED,
                    f"Gave up after {submission.attempts} attempts: the submission was stuck "
                    f"while {was} for more than {_minutes(settings.SUBMISSION_STATE_DEADLINE)}. "
                    "Ask the organisers to rerun it.",
                )
                counts["failed"] += 1
    if stuck:
        log.warning("Watchdog: %s", counts)
    return counts


def _minutes(delta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min" if seconds >= 120 else f"{seconds} s"
