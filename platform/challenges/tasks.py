"""Celery tasks. Thin wrappers: the work lives in ``challenges.services.pipeline``.

Both tasks are acknowledged late (settings): a worker that dies mid-task gets the message
redelivered; the pipeline's state checks make redelivery harmless.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="challenges.tasks.score_submission", acks_late=True)
def score_submission(submission_id: int) -> str:
    from challenges.services.pipeline import run_scoring

    return run_scoring(submission_id)


@shared_task(name="challenges.tasks.recover_stuck_submissions")
def recover_stuck_submissions() -> dict[str, int]:
    from challenges.services.pipeline import recover_stuck

    return recover_stuck()
