"""Celery tasks. Thin wrappers: the work lives in ``challenges.services.scoring``,
``challenges.services.inference`` and ``challenges.services.states`` (the watchdog).

The services never import this module: they queue a task by its registered name
(``challenges.services.dispatch``), so the names below are part of the contract.

Scoring and inference tasks are acknowledged late (settings): a worker that dies mid-task gets the message
redelivered where the broker can (Redis); the pipeline's state checks make redelivery
harmless, and the watchdog covers the rest.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from sandbox.containers.backend import docker_client
from sandbox.containers.reaper import reap_orphans

from challenges import leaderboards
from challenges.leaderboards.analyses import analyse_phase
from challenges.models import Phase
from challenges.services.inference import run_inference as run_model
from challenges.services.scoring import run_scoring
from challenges.services.states import recover_stuck, release

DB_RETRIES = 5


@shared_task(bind=True, name="challenges.tasks.score_submission", acks_late=True)
def score_submission(self, submission_id: int, resume_attempt: int | None = None) -> str:
    """Score one submission; a busy or briefly unreachable database means "try again soon"."""
    try:
        return run_scoring(submission_id, resume_attempt=resume_attempt)
    except OperationalError as exc:
        _retry_after_database_error(self, submission_id, exc, resume_attempt)
        raise  # not reached: retry raises


@shared_task(bind=True, name="challenges.tasks.run_inference", acks_late=True)
def run_inference(self, submission_id: int, resume_attempt: int | None = None) -> str:
    """Run a model or container submission on the test images, then score its output.

    Routed to the `inference` queue (settings.CELERY_TASK_ROUTES): only workers with Docker
    (and a GPU where there is one) consume it.
    """
    try:
        return run_model(submission_id, resume_attempt=resume_attempt)
    except OperationalError as exc:
        _retry_after_database_error(self, submission_id, exc, resume_attempt)
        raise


def _retry_after_database_error(
    task, submission_id: int, exc: OperationalError, resume_attempt: int | None
) -> None:
    """Hand the submission back and retry soon, carrying the attempt this run had claimed:
    when the database is still away the hand-back fails too, and the retry must recognise
    the submission it finds "scoring" as its own instead of ignoring it (issue 9, item 6)."""
    if task.request.retries >= DB_RETRIES:
        return  # the caller re-raises; the watchdog requeues or fails the submission later
    attempt = getattr(exc, "claimed_attempt", resume_attempt)
    if attempt is None:
        release(submission_id)
    raise task.retry(
        exc=exc,
        countdown=2 + 3 * task.request.retries,
        kwargs={"resume_attempt": attempt},
    ) from exc


@shared_task(name="challenges.tasks.reap_sandbox_orphans")
def reap_sandbox_orphans() -> dict[str, int]:
    """Remove containers, volumes, images and mounts a crashed inference worker left behind."""
    return reap_orphans(docker_client(), max_age_seconds=settings.SANDBOX_ORPHAN_AGE_S)


@shared_task(name="challenges.tasks.recover_stuck_submissions")
def recover_stuck_submissions() -> dict[str, int]:
    """The watchdog's beat task (`states.recover_stuck`)."""
    return recover_stuck()


@shared_task(name="challenges.tasks.recompute_leaderboard", acks_late=True)
def recompute_leaderboard(phase_id: int) -> int:
    """Rebuild a phase's board after its ranking changed (queued on commit by
    ``challenges.board_triggers``; scoring queue). A phase deleted meanwhile needs nothing."""
    phase = Phase.objects.filter(pk=phase_id).first()
    return 0 if phase is None else leaderboards.recompute(phase)


@shared_task(name="challenges.tasks.analyse_leaderboards", acks_late=True)
def analyse_leaderboards(phase_id: int) -> dict[str, str]:
    """Analyse a phase's boards (rank intervals, significance, ties, the per-case ranking
    methods' ranks) after a recompute, and store the results (queued by name on commit by
    ``leaderboards.history.queue_analysis``; scoring queue). Its own task, so the recompute
    that follows every scored submission stays fast; a board whose content was analysed
    already is not analysed again, so a burst of recomputes costs one analysis each board."""
    return analyse_phase(phase_id)
