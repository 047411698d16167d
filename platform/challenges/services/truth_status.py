"""Which scores predate a phase's current truth set, and rescoring them.

Every evaluation records the truth version it was scored against (a content hash of the
whole set, `evaluator.truth.truth_version`); the phase records the version now loaded. When
they differ, a label or case changed after the score was computed: boards and submission
pages say so (`web/_truth_notice.html`) and organisers rerun those submissions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from challenges.models import Evaluation, Phase, Submission
from challenges.services.submissions import rerun_submission


@dataclass(frozen=True)
class TruthNotice:
    """What a page says about scores computed against an earlier truth set."""

    stale: int  # scores shown that predate the current truth
    rescoring: int  # of those, submissions queued or being scored again now
    loaded_at: datetime | None
    version: str

    @property
    def short_version(self) -> str:
        return self.version[:12]


def stale_evaluations(phase: Phase) -> QuerySet[Evaluation]:
    """Current evaluations of the phase scored against another (or an unknown) truth version.

    Empty while the phase has no recorded version (no truth loaded since versions exist):
    nothing is known to be out of date then.
    """
    if not phase.truth_version:
        return Evaluation.objects.none()
    return Evaluation.objects.filter(submission__phase=phase, is_current=True).exclude(
        truth_version=phase.truth_version
    )


def _notice(phase: Phase, evaluations: QuerySet[Evaluation]) -> TruthNotice | None:
    rows = list(evaluations.values_list("submission__status", flat=True))
    if not rows:
        return None
    rescoring = sum(status in Submission.IN_PROGRESS for status in rows)
    return TruthNotice(len(rows), rescoring, phase.truth_loaded_at, phase.truth_version)


def board_notice(phase: Phase, submission_ids: Iterable[int] | None = None) -> TruthNotice | None:
    """The notice for a board showing `submission_ids` (all of the phase's when None)."""
    evaluations = stale_evaluations(phase)
    if submission_ids is not None:
        evaluations = evaluations.filter(submission_id__in=list(submission_ids))
    return _notice(phase, evaluations)


def submission_notice(submission: Submission) -> TruthNotice | None:
    """The notice for one submission whose current score predates the phase's truth."""
    phase = submission.phase
    return _notice(phase, stale_evaluations(phase).filter(submission=submission))


def stale_submissions(phase: Phase) -> QuerySet[Submission]:
    """Finished submissions whose current score predates the truth (the ones to rerun)."""
    ids = stale_evaluations(phase).values_list("submission_id", flat=True)
    return Submission.objects.filter(pk__in=ids, status=Submission.Status.DONE)


def rerun_stale(phase: Phase) -> int:
    """Queue every stale-scored submission of the phase for scoring again; returns how many."""
    reason = "Test set updated by the organisers: scoring again."
    count = 0
    for submission in stale_submissions(phase).only("pk", "kind"):
        rerun_submission(submission, reason=reason)
        count += 1
    return count
