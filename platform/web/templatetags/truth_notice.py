"""`{% truth_notice as notice %}`: the stale-score notice of the page being rendered.

Boards, Pareto plots and submission pages include one template (`web/_truth_notice.html`)
that reads what the page already has in its context (the phase, the board's rows or the
submission), so the views that own those pages need no change to show it.
"""

from __future__ import annotations

from challenges.permissions import is_organiser
from challenges.services.truth_status import TruthNotice, board_notice, submission_notice
from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def truth_notice(context) -> dict | None:
    """{"notice": TruthNotice, "scope": "submission"|"board", "rerun_url": admin link for
    organisers} when scores on the page predate the phase's truth set, else None."""
    phase = context.get("phase")
    if phase is None or not getattr(phase, "truth_version", ""):
        return None
    submission = context.get("submission")
    notice: TruthNotice | None
    if submission is not None:
        notice, scope = submission_notice(submission), "submission"
    else:
        table = context.get("table")
        rows = getattr(table, "rows", None)
        ids = [row.submission_id for row in rows] if rows is not None else None
        notice, scope = board_notice(phase, ids), "board"
    if notice is None:
        return None
    request = context.get("request")
    user = getattr(request, "user", None)
    rerun_url = (
        reverse("admin:challenges_phase_rerun_stale", args=[phase.pk])
        if user is not None and user.is_staff and is_organiser(user, phase.challenge)
        else ""
    )
    return {"notice": notice, "scope": scope, "rerun_url": rerun_url}
