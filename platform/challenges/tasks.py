"""Celery tasks. Thin wrappers: the work lives in ``challenges.services.pipeline``.

Scoring and inference tasks are acknowledged late (settings): a worker that dies mid-task gets the message
redelivered where the broker can (Redis); the pipeline's state checks make redelivery
harmless, and the watchdog covers the rest.
"""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

DB_RETRIES = 5


@shared_task(bind=True, name="challenges.tasks.score_submission", acks_late=True)
def score_submission(self, submission_id: int) -> str:
    """Score one submission; a busy or briefly unreachable database means "try again soon"."""
    from challenges.services.pipeline import release, run_scoring

    try:
        return run_scoring(submission_id)
    except OperationalError as exc:
        if self.request.retries >= DB_RETRIES:
            raise  # the watchdog requeues or fails the submission later
        release(submission_id)
        raise self.retry(exc=exc, countdown=2 + 3 * self.request.retries) from exc


@shared_task(bind=True, name="challenges.tasks.run_inference", acks_late=True)
def run_inference(self, submission_id: int) -> str:
    """Run a model or container submission on the test images, then score its output.

    Routed to the `inference` queue (settings.CELERY_TASK_ROUTES): only workers with Docker
    (and a GPU where there is one) consume it.
    """
    from challenges.services.inference import run_inference as run
    from challenges.services.pipeline import release

    try:
        return run(submission_id)
    except OperationalError as exc:
        if self.request.retries >= DB_RETRIES:
            raise
        release(submission_id)
        raise self.retry(exc=exc, countdown=2 + 3 * self.request.retries) from exc


@shared_task(name="challenges.tasks.reap_sandbox_orphans")
def reap_sandbox_orphans() -> dict[str, int]:
    """Remove containers, volumes, images and mounts a crashed inference worker left behind."""
    from django.conf import settings
    from sandbox.reaper import reap_orphans
    from sandbox.runner import docker_client

    return reap_orphans(docker_client(), max_age_seconds=settings.SANDBOX_ORPHAN_AGE_S)


@shared_task(name="challenges.tasks.recover_stuck_submissions")
def recover_stuck_submissions() -> dict[str, int]:
    from challenges.services.pipeline import recover_stuck

    return recover_stuck()
