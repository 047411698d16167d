"""Team pages: create a team, invite (a single-use link), revoke, leave, and the invitation
page where a logged-in user accepts.

The rules are in ``challenges.services.teams``; a refusal is shown as a message (or, on the
invitation page, with the status the API would answer).
"""

from __future__ import annotations

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


@login_required
@require_POST
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    """A new invitation link for the caller's team, listed in the Team section."""
    challenge = get_object_or_404(Challenge, slug=slug)
    team = user_team(request.user, challenge)
    if team is None:
        messages.error(request, "Join the challenge (create a team) before inviting anyone.")
        return _back_to_team(slug)
    try:
        invitation = teams.create_invitation(team, request.user)
    except teams.TeamError as exc:
        messages.error(request, exc.message)
    else:
        expires = invitation.expires_at.strftime("%d %b %Y")
        messages.success(
            request,
            f"Invitation link created (single use, until {expires}): "
            f"{invitation_url(request, invitation.token)}",
        )
    return _back_to_team(slug)


@login_required
@require_POST
def revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    challenge = get_object_or_404(Challenge, slug=slug)
    team = user_team(request.user, challenge)
    invitation = get_object_or_404(team.invitations, pk=pk) if team else None
    if invitation is None:
        messages.error(request, "You are not in a team for this challenge.")
        return _back_to_team(slug)
    try:
        teams.revoke_invitation(invitation, request.user)
    except teams.TeamError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Invitation revoked; its link no longer works.")
    return _back_to_team(slug)


@login_required
@require_POST
def leave(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = get_object_or_404(Challenge, slug=slug)
    team = user_team(request.user, challenge)
    if team is None:
        messages.error(request, "You are not in a team for this challenge.")
        return _back_to_team(slug)
    try:
        deleted = teams.leave_team(request.user, team)
    except teams.TeamError as exc:
        messages.error(request, exc.message)
    else:
        tail = (
            " It had no other members and no submissions, so it was deleted."
            if deleted
            else " Its submissions stay with the team."
        )
        messages.success(request, f"You left team “{team.name}”.{tail}")
    return _back_to_team(slug)


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
