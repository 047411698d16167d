"""The watchdog requeues submissions stuck past the deadline and gives up after MAX_ATTEMPTS,
running through the real worker (the beat task is the same Celery task)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from challenges.models import Evaluation, Submission
from challenges.services.states import MAX_ATTEMPTS, recover_stuck
from challenges.services.submissions import create_submission
from challenges.services.truth import load_truth
from challenges.tasks import recover_stuck_submissions
from django.conf import settings
from django.utils import timezone

from tests.platform.conftest import make_predictions_zip, upload, wait_for_status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _stick(submission: Submission, attempts: int) -> None:
    """What a worker killed mid-scoring leaves behind."""
    Submission.objects.filter(pk=submission.pk).update(
        status=Submission.Status.SCORING,
        attempts=attempts,
        progress=0.4,
        state_changed_at=timezone.now() - settings.SUBMISSION_STATE_DEADLINE - timedelta(minutes=1),
    )


def test_stuck_submission_is_requeued_then_failed(
    celery_worker, two_site_truth: Path, make_challenge, make_user, tmp_path
) -> None:
    organiser = make_user("org")
    _, phase = make_challenge(organiser=organiser)
    load_truth(phase, two_site_truth)
    predictions = make_predictions_zip(two_site_truth, tmp_path / "p.zip")
    submission = create_submission(phase, organiser, upload(predictions), {"method_name": "x"})
    assert wait_for_status(submission.pk).status == Submission.Status.DONE

    # A recent "scoring" is left alone: a worker may be on it.
    Submission.objects.filter(pk=submission.pk).update(
        status=Submission.Status.SCORING, state_changed_at=timezone.now()
    )
    assert recover_stuck() == {"requeued": 0, "failed": 0}

    _stick(submission, attempts=1)
    assert recover_stuck() == {"requeued": 1, "failed": 0}
    submission.refresh_from_db()
    assert submission.status in Submission.IN_PROGRESS or submission.status == "done"
    done = wait_for_status(submission.pk)
    assert done.status == Submission.Status.DONE, done.status_detail
    assert done.attempts == 2
    assert Evaluation.objects.filter(submission=submission, is_current=True).count() == 1
    assert Evaluation.objects.filter(submission=submission).count() == 2

    # After MAX_ATTEMPTS the beat task (through the worker) fails it with a reason.
    _stick(submission, attempts=MAX_ATTEMPTS)
    recover_stuck_submissions.delay()
    failed = wait_for_status(submission.pk, timeout=60)
    assert failed.status == Submission.Status.FAILED
    assert f"after {MAX_ATTEMPTS} attempts" in failed.status_detail
    assert "scoring" in failed.status_detail
