"""Queueing a submission's Celery task, by its registered name.

The services never import `challenges.tasks` (which imports them): a task is sent by the name
it is registered under, and `settings.CELERY_TASK_ROUTES` routes it by that name as before.
The message leaves only once the surrounding transaction has committed, so a worker can never
pick up a submission that is not in the database yet (or that a rolled-back request never
created).
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction

from challenges.models import Submission

SCORE_SUBMISSION = "challenges.tasks.score_submission"
RUN_INFERENCE = "challenges.tasks.run_inference"


def queue_scoring(submission: Submission) -> None:
    """Send the submission's task once the surrounding transaction has committed: scoring for
    uploaded masks, inference (then scoring) for models and containers. The watchdog and
    reruns come through here too, so each kind always lands on the queue that can run it."""
    submission_id = submission.pk
    name = RUN_INFERENCE if submission.kind in Submission.RUN_KINDS else SCORE_SUBMISSION
    transaction.on_commit(lambda: current_app.send_task(name, args=(submission_id,)))
