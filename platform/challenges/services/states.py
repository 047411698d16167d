"""The submission lifecycle: every state change a worker or the watchdog makes goes through here.

States: queued -> validating -> scoring -> done (with a current Evaluation) or failed (with a
readable ``status_detail`` and a ``failure_code`` to match on). Model and container submissions
first pass through "running inference" (``challenges.services.inference``). A task only
proceeds from ``queued`` (`claim_runnable`): a redelivered message for a submission that is
already done, failed or being worked on does nothing, and a submission whose worker died is
handed back to the queue by the watchdog (`recover_stuck`), which counts attempts and gives up
with a reason after ``MAX_ATTEMPTS``.

A run owns its submission by the attempt number it claimed (`Claim`). Every write it makes
(state, progress, the evaluation) checks that the submission is still in a working state at
that attempt (`owned_rows`), so a worker that stalled past the deadline and resumed after the
watchdog handed its submission to another run stores nothing (issue 9, item 5); a run retried
after a database outage takes its own attempt back instead of ignoring itself (item 6).
"""

from __future__ import annotations

import contextvars
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from challenges.models import Submission, truth_dir
from challenges.services.dispatch import queue_scoring
from challenges.services.messages import NO_TRUTH_DETAIL, participant_text, redact

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
WORKING = (Submission.Status.INFERRING, Submission.Status.VALIDATING, Submission.Status.SCORING)
Failure = Submission.FailureCode


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


def current_claim() -> Claim | None:
    """The claim of the run in progress in this process, if any."""
    return _current_claim.get()


def owned_rows(submission_id: int):
    """Submissions rows this process may write: all of them outside a run; inside a run,
    the claimed one only while it is still working at the claimed attempt."""
    rows = Submission.objects.filter(pk=submission_id)
    held = _current_claim.get()
    if held is not None and held.submission_id == submission_id:
        states = Submission.FINISHED if held.finished else WORKING
        rows = rows.filter(attempts=held.attempt, status__in=states)
    return rows


def set_state(
    submission_id: int, status: str, detail: str = "", *, failure_code: str = "", **extra
) -> str:
    """Move a submission to `status` with a participant-facing `detail`; returns the detail
    as stored.

    The detail is made readable, private and storable first (`messages.participant_text`):
    a message the database refuses must never leave a submission stuck. `failure_code` says
    why a submission failed (`Submission.FailureCode`); any other state clears it. Inside a
    run, a submission that is no longer this run's raises `ClaimLost` instead of being written.
    """
    stored = participant_text(detail)
    updated = owned_rows(submission_id).update(
        status=status,
        status_detail=stored,
        failure_code=failure_code if status == Submission.Status.FAILED else "",
        state_changed_at=timezone.now(),
        **extra,
    )
    held = _current_claim.get()
    if held is None or held.submission_id != submission_id:
        return stored
    if not updated:
        raise ClaimLost(submission_id)
    held.finished = status in Submission.FINISHED
    return stored


def fail(submission_id: int, failure_code: str, detail: str) -> str:
    """Fail a submission with a reason; returns the final status (`set_state` for the rest)."""
    set_state(submission_id, Submission.Status.FAILED, detail, failure_code=failure_code)
    return Submission.Status.FAILED


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
        submission.failure_code = ""
        submission.progress = 0.0
        if not resumed:
            submission.attempts += 1
        submission.state_changed_at = timezone.now()
        submission.save(
            update_fields=[
                "status",
                "status_detail",
                "failure_code",
                "progress",
                "attempts",
                "state_changed_at",
            ]
        )
    return submission


def claim_runnable(
    submission_id: int,
    status: str,
    kinds: tuple[str, ...],
    work: Callable[[Submission], str],
    *,
    resume_attempt: int | None = None,
    wrong_kind: str,
) -> str:
    """The one preamble of every run (scoring and inference): claim the queued submission at
    `status`, then, holding the claim (`as_owner`), check that its phase has a truth set, that
    it is of one of `kinds` and that its file is there, and run `work(submission)`.

    `wrong_kind` ends the message for a kind this worker does not run ("cannot be scored by
    this worker"). Returns the final status; 'skipped' when there was nothing to claim,
    'superseded' when another run took the submission over meanwhile.
    """
    submission = claim(submission_id, status, resume_attempt=resume_attempt)
    if submission is None:
        return "skipped"

    def checked() -> str:
        if not has_truth(submission):
            return Submission.Status.FAILED
        if submission.kind not in kinds:
            return fail(
                submission.pk,
                Failure.WRONG_WORKER,
                f"{submission.get_kind_display()} submissions {wrong_kind}.",
            )
        if not submission.file or not submission.file.storage.exists(submission.file.name):
            return fail(submission.pk, Failure.MISSING_FILE, "The uploaded file is missing.")
        return work(submission)

    return as_owner(submission, checked)


def has_truth(submission: Submission) -> bool:
    """False (and the submission failed with the promise of a rerun) without a truth set."""
    if (truth_dir(submission.phase_id) / "cases.csv").is_file():
        return True
    fail(submission.pk, Failure.NO_TRUTH, NO_TRUTH_DETAIL)
    return False


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
        set_state(
            submission_id, Submission.Status.FAILED, detail, failure_code=Failure.INTERNAL_ERROR
        )
    except ClaimLost:
        return "superseded"
    except Exception:  # noqa: BLE001 - the last resort must not fail on its own message
        log.exception("Could not record the failure of submission %s", submission_id)
        owned_rows(submission_id).update(
            status=Submission.Status.FAILED,
            status_detail="Scoring failed with an internal error.",
            failure_code=Failure.INTERNAL_ERROR,
            state_changed_at=timezone.now(),
        )
    return Submission.Status.FAILED


def release(submission_id: int) -> None:
    """Hand a submission this run had claimed back to the queue (before a task retry)."""
    try:
        Submission.objects.filter(pk=submission_id, status__in=WORKING).update(
            status=Submission.Status.QUEUED, state_changed_at=timezone.now()
        )
    except OperationalError:
        log.warning("Could not release submission %s; the retry will resume it", submission_id)


def recover_stuck(now: datetime | None = None) -> dict[str, int]:
    """The watchdog: requeue submissions stuck in a working state past the deadline, or fail
    them after MAX_ATTEMPTS."""
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
                fail(
                    submission.pk,
                    Failure.GAVE_UP,
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
