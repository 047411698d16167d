"""The daily submission limit: one place that says which submissions count and what is left.

The rule (issue 9, item 4): within the last 24 hours, the team's submissions and the user's
own submissions in any team count; failed and cancelled ones do not (a broken zip should not
cost a slot). `create_submission` enforces it under a row lock; the pages, the API and the
CLI show the same numbers from `daily_quota`, so the rule is never written twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from challenges.models import Phase, Submission, Team

#: The limit is a rolling window, not a calendar day: a slot frees 24 h after it was used.
WINDOW = timedelta(days=1)


def counted_submissions(
    phase: Phase, user, team: Team | None, now: datetime | None = None
) -> QuerySet[Submission]:
    """The submissions that use up ``user``'s (and ``team``'s) daily limit in ``phase``."""
    since = (now or timezone.now()) - WINDOW
    recent = Submission.objects.filter(phase=phase, created_at__gte=since).exclude(
        status__in=[Submission.Status.FAILED, Submission.Status.CANCELLED]
    )
    # The team's and the user's own (made in any team): leaving a team for a fresh one must
    # not buy a new day's quota.
    return recent.filter(Q(team=team) | Q(creator=user)) if team else recent.filter(creator=user)


@dataclass(frozen=True)
class Quota:
    """What is left of the daily limit. ``limit`` 0 means none; ``exempt`` is organisers."""

    limit: int
    used: int
    remaining: int | None
    resets_at: datetime | None
    exempt: bool = False

    @property
    def exhausted(self) -> bool:
        return self.remaining == 0

    def as_dict(self) -> dict:
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "resets_at": self.resets_at.isoformat() if self.resets_at else None,
            "window_hours": int(WINDOW.total_seconds() // 3600),
            "exempt": self.exempt,
        }

    def sentence(self) -> str:
        """One line for pages and refusals, e.g. "2 of 5 submissions left in the last 24 h"."""
        if self.exempt:
            return "Organisers have no daily limit."
        if not self.limit:
            return "No daily limit."
        text = f"{self.remaining} of {self.limit} submission(s) left for the last 24 hours"
        if self.resets_at:
            text += f"; the next slot frees at {self.resets_at:%Y-%m-%d %H:%M} UTC"
        return text + "."


def daily_quota(
    phase: Phase, user, team: Team | None, *, exempt: bool = False, now: datetime | None = None
) -> Quota:
    """The quota of ``user`` in ``team`` right now. ``resets_at`` is when the oldest counted
    submission leaves the window (one slot frees then), or None when nothing is counted."""
    if exempt:
        return Quota(phase.daily_limit, 0, None, None, exempt=True)
    if not phase.daily_limit:
        return Quota(0, 0, None, None)
    now = now or timezone.now()
    times = list(counted_submissions(phase, user, team, now).values_list("created_at", flat=True))
    used = len(times)
    resets_at = (min(times) + WINDOW) if times else None
    return Quota(phase.daily_limit, used, max(phase.daily_limit - used, 0), resets_at)
