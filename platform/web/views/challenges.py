"""Home (challenge list), challenge page with its Team section, and phase pages."""

from __future__ import annotations

from challenges.models import Case, Challenge, Phase, Submission
from challenges.permissions import (
    can_view_leaderboard,
    is_organiser,
    user_team,
)
from challenges.services.quota import daily_quota
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from evaluator.tasks import metric_paths
from web.views.teams import team_panel_context


def home(request: HttpRequest) -> HttpResponse:
    challenges = (
        Challenge.objects.prefetch_related(Prefetch("phases", queryset=Phase.objects.all()))
        .annotate(n_submissions=Count("phases__submissions", distinct=True))
        .annotate(n_teams=Count("teams", distinct=True))
        .order_by("title")
    )
    return render(request, "web/home.html", {"challenges": challenges})


def task_metric_paths(challenge: Challenge) -> list[str]:
    """Every metric the challenge's task scores ("class.metric"), biometry included (e.g.
    HC18's head circumference error), as the evaluator lists them; [] for an unknown task."""
    try:
        return metric_paths(challenge.get_task())
    except Exception:  # noqa: BLE001 - a task the evaluator cannot load still gets its page
        return []


def challenge_detail(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = get_object_or_404(Challenge.objects.prefetch_related("phases"), slug=slug)
    phases = challenge.phases.annotate(
        n_cases=Count("cases", distinct=True), n_submissions=Count("submissions", distinct=True)
    )
    team = user_team(request.user, challenge)
    return render(
        request,
        "web/challenge.html",
        {
            "challenge": challenge,
            "phases": phases,
            "team": team,
            "organiser": is_organiser(request.user, challenge),
            "task": challenge.task_spec or {},
            "metric_paths": task_metric_paths(challenge),
            **team_panel_context(request, team),
        },
    )


def phase_detail(request: HttpRequest, pk: int) -> HttpResponse:
    phase = get_object_or_404(Phase.objects.select_related("challenge"), pk=pk)
    sites = (
        Case.objects.filter(phase=phase)
        .values("site__name")
        .annotate(n=Count("id"))
        .order_by("site__name")
    )
    mine = Submission.objects.none()
    team = user_team(request.user, phase.challenge)
    organiser = is_organiser(request.user, phase.challenge)
    quota = None
    if request.user.is_authenticated:
        mine = phase.submissions.filter(creator=request.user).order_by("-created_at")[:20]
        if (team is not None or organiser) and phase.is_open():  # no quota on a closed phase
            quota = daily_quota(phase, request.user, team, exempt=organiser)
    return render(
        request,
        "web/phase.html",
        {
            "phase": phase,
            "challenge": phase.challenge,
            "sites": sites,
            "mine": mine,
            "team": team,
            "organiser": organiser,
            "quota": quota,
            "leaderboard_visible": can_view_leaderboard(request.user, phase),
        },
    )
