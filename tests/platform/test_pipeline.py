"""Submission intake rules and the scoring pipeline run in-process (the worker runs the very
same `run_scoring`; the e2e tests cover it through Celery)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from challenges.models import Evaluation, LeaderboardEntry, Submission, Team
from challenges.services.scoring import ProgressReporter, run_scoring
from challenges.services.submissions import (
    SubmissionRejected,
    create_submission,
    rerun_submission,
)
from challenges.services.teams import join_challenge
from challenges.services.truth import TruthLoadError, load_truth
from django.utils import timezone

from tests.platform.conftest import make_predictions_zip, upload, zip_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def joined(make_challenge, make_user):
    challenge, phase = make_challenge(daily_limit=2)
    user = make_user("participant")
    join_challenge(user, challenge, "Team P")
    return phase, user


def _file(name: str = "p.zip", data: bytes | None = None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data or zip_bytes({"a.png": b"x"}), "application/zip")


def test_intake_stores_file_with_hash_and_queues_on_commit(
    joined, django_capture_on_commit_callbacks
) -> None:
    phase, user = joined
    with django_capture_on_commit_callbacks() as callbacks:
        sub = create_submission(phase, user, _file(), {"method_name": "U-Net", "backbone": "r18"})
    assert len(callbacks) == 1  # the task is sent only after commit
    assert sub.status == "queued" and len(sub.sha256) == 64 and sub.team.name == "Team P"
    assert Path(sub.file.path).is_file()
    with pytest.raises(ValueError):
        sub.file.url  # noqa: B018 - private files have no URL


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"closes_at": timezone.now() - timedelta(days=1)}, "not open"),
        ({"opens_at": timezone.now() + timedelta(days=1)}, "not open"),
        ({"allowed_kinds": ["model"]}, "accepts model"),
    ],
)
def test_phase_rules(joined, change, message) -> None:
    phase, user = joined
    for key, value in change.items():
        setattr(phase, key, value)
    phase.save()
    with pytest.raises(SubmissionRejected, match=message):
        create_submission(phase, user, _file(), {})


def test_must_join_size_limit_and_metadata(joined, make_user, settings) -> None:
    phase, user = joined
    with pytest.raises(SubmissionRejected, match="Join the challenge"):
        create_submission(phase, make_user("stranger"), _file(), {})
    settings.SUBMISSION_MAX_BYTES = 10
    with pytest.raises(SubmissionRejected, match="limit is 10 bytes"):
        create_submission(phase, user, _file(), {})
    settings.SUBMISSION_MAX_BYTES = 10**6
    with pytest.raises(SubmissionRejected) as info:
        create_submission(
            phase,
            user,
            _file(),
            {"fine_tuning_strategy": "magic", "params_total": "-3", "paper_url": "ftp://x"},
        )
    for problem in ("fine_tuning_strategy", "params_total", "paper_url"):
        assert problem in info.value.message


def test_daily_limit_ignores_failed(joined) -> None:
    phase, user = joined
    first = create_submission(phase, user, _file(), {})
    Submission.objects.filter(pk=first.pk).update(status=Submission.Status.FAILED)
    create_submission(phase, user, _file(), {})
    create_submission(phase, user, _file(), {})
    with pytest.raises(SubmissionRejected, match="Daily limit"):
        create_submission(phase, user, _file(), {})


def test_no_truth_fails_with_reason(joined) -> None:
    phase, user = joined
    sub = create_submission(phase, user, _file(), {})
    assert run_scoring(sub.pk) == "failed"
    sub.refresh_from_db()
    assert "not loaded the test set" in sub.status_detail


def test_loading_truth_reruns_submissions_that_waited_for_it(joined, two_site_truth) -> None:
    phase, user = joined
    sub = create_submission(phase, user, _file(), {})
    run_scoring(sub.pk)
    load_truth(phase, two_site_truth)
    sub.refresh_from_db()
    assert sub.status == "queued" and sub.attempts == 0


def test_bad_truth_folder_is_refused(joined, tmp_path) -> None:
    phase, _ = joined
    with pytest.raises(TruthLoadError, match="cases.csv"):
        load_truth(phase, tmp_path)
    with pytest.raises(TruthLoadError, match="not a folder"):
        load_truth(phase, tmp_path / "nope")
    (tmp_path / "cases.csv").write_text("case,site\nx,a\n")
    with pytest.raises(TruthLoadError, match="spacing_row_mm"):
        load_truth(phase, tmp_path)


def test_scoring_in_process_is_idempotent(joined, two_site_truth, tmp_path, settings) -> None:
    settings.SCORING_WORKERS = 1
    phase, user = joined
    load_truth(phase, two_site_truth)
    zip_path = make_predictions_zip(two_site_truth, tmp_path / "p.zip")
    sub = create_submission(phase, user, upload(zip_path), {})
    assert run_scoring(sub.pk) == "done"
    sub.refresh_from_db()
    assert (sub.status, sub.progress, sub.attempts) == ("done", 1.0, 1)
    assert LeaderboardEntry.objects.filter(phase=phase, site__isnull=True).count() == 1
    assert LeaderboardEntry.objects.filter(phase=phase).count() == 3  # all + 2 sites
    # A redelivered message for a finished submission does nothing.
    assert run_scoring(sub.pk) == "skipped"
    assert Evaluation.objects.filter(submission=sub).count() == 1
    # A rerun scores it again and keeps one current evaluation.
    rerun_submission(sub)
    assert run_scoring(sub.pk) == "done"
    assert Evaluation.objects.filter(submission=sub, is_current=True).count() == 1
    assert Evaluation.objects.filter(submission=sub).count() == 2
    assert run_scoring(987654) == "skipped"


def test_progress_is_throttled(joined) -> None:
    phase, user = joined
    sub = create_submission(phase, user, _file(), {})
    reporter = ProgressReporter(sub.pk)
    reporter(0, 1000)
    sub.refresh_from_db()
    assert sub.status == "scoring"
    writes = 0
    for done in range(1, 1001):
        before = reporter.last_write
        reporter(done, 1000)
        writes += reporter.last_write != before
    sub.refresh_from_db()
    assert sub.progress == 1.0
    assert writes <= 5  # a tight loop: only the final value gets through the time throttle


def test_team_is_reused_when_joining_twice(make_challenge, make_user) -> None:
    challenge, _ = make_challenge()
    user = make_user("u")
    assert join_challenge(user, challenge, "A") == join_challenge(user, challenge, "B")
    assert Team.objects.filter(challenge=challenge).count() == 1
