"""Submission form, the live submission page and "My submissions"."""

from __future__ import annotations

from challenges.leaderboards import phase_table
from challenges.leaderboards.scopes import board_scopes
from challenges.models import Phase, Submission
from challenges.permissions import (
    can_view_case_results,
    can_view_leaderboard,
    can_view_submission,
    is_organiser,
    user_team,
)
from challenges.reports.boards import entry_history
from challenges.services.quota import daily_quota
from challenges.services.run_log import run_summary
from challenges.services.scores import score_rows, submission_scores
from challenges.services.submissions import SubmissionRejected, create_submission
from challenges.services.teams import TeamError, join_challenge
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from web.forms import SubmissionForm


@login_required
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    phase = get_object_or_404(Phase.objects.select_related("challenge"), pk=pk)
    challenge = phase.challenge
    team = user_team(request.user, challenge)
    form_kwargs = {"allowed_kinds": phase.allowed_kinds, "team": team}
    if request.method == "POST":
        form = SubmissionForm(request.POST, request.FILES, **form_kwargs)
        if form.is_valid():
            try:
                # One transaction: a refused submission does not leave a new team behind.
                with transaction.atomic():
                    if team is None and not is_organiser(request.user, challenge):
                        team = join_challenge(
                            request.user, challenge, form.cleaned_data["team_name"]
                        )
                    submission = create_submission(
                        phase, request.user, form.cleaned_data["file"], form.metadata()
                    )
            except TeamError as exc:
                form.add_error("team_name", exc.message)
            except SubmissionRejected as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("web:submission", pk=submission.pk)
    else:
        initial = {"team_name": request.user.get_username()} if team is None else {}
        form = SubmissionForm(initial=initial, **form_kwargs)
    organiser = is_organiser(request.user, challenge)
    quota = daily_quota(phase, request.user, team, exempt=organiser)
    # Say at once when an upload would be refused, instead of offering a form that fails
    # only after the whole file has been sent.
    blocked = ""
    if not organiser and not phase.is_open():
        blocked = "This phase is not open for submissions."
    elif not organiser and quota.exhausted:
        blocked = "You have no submissions left for today. " + quota.sentence()
    return render(
        request,
        "web/submit.html",
        {
            "phase": phase,
            "challenge": challenge,
            "form": form,
            "open": phase.is_open(),
            "quota": quota,
            "blocked": blocked,
        },
    )


def board_ranks(submission: Submission) -> list[dict]:
    """The submission's current place on each board of its phase it is on (all cases, then
    each site): rank, out of how many rows, its 95% rank interval and whether it is
    statistically tied, as the board page shows them. Callers check the board is visible."""
    out = []
    phase = submission.phase
    for scope in board_scopes(phase):
        table = phase_table(phase, scope)
        row = next((r for r in table.rows if r.submission_id == submission.pk), None)
        if row is None:
            continue
        out.append(
            {
                "board": scope.site_name or "All cases",
                "site": scope.site_name,
                "rank": row.rank,
                "of": len(table.rows),
                "rank_low": row.rank_low,
                "rank_high": row.rank_high,
                "tied": row.statistically_tied,
                "pending": table.analysis.get("ranks_pending") or table.stale,
            }
        )
    return out


@login_required
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    submission = get_object_or_404(
        Submission.objects.select_related("phase__challenge", "team", "creator"), pk=pk
    )
    if not can_view_submission(request.user, submission):
        raise Http404
    scores = submission_scores(submission)
    leaderboard_visible = can_view_leaderboard(request.user, submission.phase)
    # Rank over time only where the board may be seen (a hidden board's ranks are not shown
    # to participants) and once the submission could be on it.
    history = (
        entry_history(submission)
        if leaderboard_visible and submission.status == Submission.Status.DONE
        else None
    )
    return render(
        request,
        "web/submission.html",
        {
            "submission": submission,
            "board_ranks": board_ranks(submission) if history is not None else [],
            "scores": scores,
            "score_rows": score_rows(scores),
            "run": run_summary(submission),
            "leaderboard_public": (
                submission.phase.leaderboard_visibility == Phase.Visibility.PUBLIC
            ),
            "leaderboard_visible": leaderboard_visible,
            "history": history,
            "phase": submission.phase,
            "challenge": submission.phase.challenge,
            "show_cases": can_view_case_results(request.user, submission),
            "final_states": list(Submission.FINISHED),
        },
    )


@login_required
def my_submissions(request: HttpRequest) -> HttpResponse:
    submissions = (
        Submission.objects.filter(Q(creator=request.user) | Q(team__members=request.user))
        .distinct()
        .select_related("phase__challenge", "team")
        .order_by("-created_at")[:200]
    )
    return render(request, "web/my_submissions.html", {"submissions": submissions})
