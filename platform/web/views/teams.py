"""Team pages: create a team, invite (a single-use link), revoke, leave, and the invitation
page where a logged-in user accepts.

The rules are in ``challenges.services.teams``; a refusal is shown as a message (or, on the
invitation page, with the status the API would answer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from challenges.models import Challenge, Team
from challenges.permissions import user_team
from challenges.services import teams
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST


def invitation_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("web:invitation", args=[token]))


def team_panel_context(request: HttpRequest, team: Team | None) -> dict[str, Any]:
    """What the challenge page's Team section shows to a member: members and open links."""
    if team is None:
        return {"team_members": [], "team_invitations": []}
    invitations = [
        {"invitation": inv, "url": invitation_url(request, inv.token)}
        for inv in teams.open_invitations(team)
    ]
    return {
        "team_members": list(team.members.order_by("username")),
        "team_invitations": invitations,
    }


def _back_to_team(slug: str) -> HttpResponse:
    return redirect(reverse("web:challenge", args=[slug]) + "#team")


@login_required
@require_POST
def join(request: HttpRequest, slug: str) -> HttpResponse:
    """Create a new team (or show the one you are in); a taken name is refused."""
    challenge = get_object_or_404(Challenge, slug=slug)
    team_name = (request.POST.get("team_name") or "").strip() or None
    try:
        team = teams.join_challenge(request.user, challenge, team_name)
    except teams.TeamError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"You are in team “{team.name}” for {challenge.title}.")
    return _back_to_team(slug)


NOT_IN_A_TEAM = "You are not in a team for this challenge."


def _team_action(
    request: HttpRequest, slug: str, act: Callable[[Team], str], *, no_team: str
) -> HttpResponse:
    """Do `act` to the caller's team in challenge `slug` and show its success message; a
    caller without a team sees `no_team`, a refused action (TeamError) the refusal."""
    challenge = get_object_or_404(Challenge, slug=slug)
    team = user_team(request.user, challenge)
    if team is None:
        messages.error(request, no_team)
        return _back_to_team(slug)
    try:
        done = act(team)
    except teams.TeamError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return _back_to_team(slug)


@login_required
@require_POST
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    """A new invitation link for the caller's team, listed in the Team section."""

    def create(team: Team) -> str:
        invitation = teams.create_invitation(team, request.user)
        expires = invitation.expires_at.strftime("%d %b %Y")
        return (
            f"Invitation link created (single use, until {expires}): "
            f"{invitation_url(request, invitation.token)}"
        )

    return _team_action(
        request,
        slug,
        create,
        no_team="Join the challenge (create a team) before inviting anyone.",
    )


@login_required
@require_POST
def revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def revoke_one(team: Team) -> str:
        teams.revoke_invitation(get_object_or_404(team.invitations, pk=pk), request.user)
        return "Invitation revoked; its link no longer works."

    return _team_action(request, slug, revoke_one, no_team=NOT_IN_A_TEAM)


@login_required
@require_POST
def leave(request: HttpRequest, slug: str) -> HttpResponse:
    def leave_it(team: Team) -> str:
        deleted = teams.leave_team(request.user, team)
        tail = (
            " It had no other members and no submissions, so it was deleted."
            if deleted
            else " Its submissions stay with the team."
        )
        return f"You left team “{team.name}”.{tail}"

    return _team_action(request, slug, leave_it, no_team=NOT_IN_A_TEAM)


@login_required
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """GET: what the invitation is for. POST: accept it and join the team."""
    found = teams.find_invitation(token)
    if found is None:
        problem = teams.TeamError("not_found", "This invitation link is not valid.")
        return _invitation_page(request, None, problem)
    challenge = found.team.challenge
    if request.method == "POST":
        try:
            team = teams.accept_invitation(token, request.user)
        except teams.TeamError as exc:
            return _invitation_page(request, found, exc)
        messages.success(request, f"You joined team “{team.name}” for {challenge.title}.")
        return _back_to_team(challenge.slug)
    return _invitation_page(request, found, teams.invitation_problem(found))


def _invitation_page(request: HttpRequest, found, problem) -> HttpResponse:
    current = user_team(request.user, found.team.challenge) if found is not None else None
    status = teams.STATUS_OF.get(problem.code, 400) if problem is not None else 200
    context = {"invitation": found, "problem": problem, "current_team": current}
    return render(request, "web/invitation.html", context, status=status)
