"""Team API: your team, invitations (create, list, revoke, accept) and leaving.

The rules live in ``challenges.services.teams``; these views only translate. A refusal answers
``{"detail": <message>, "code": <reason>}`` with the status ``STATUS_OF`` gives the reason
(409 name taken or already in a team, 410 invitation used/revoked/expired, 403 not a member).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenges.api.serializers import (
    InvitationCreateSerializer,
    TeamInvitationSerializer,
    TeamSerializer,
)
from challenges.models import Challenge, Team
from challenges.permissions import user_team
from challenges.services import teams


def refusal(exc: teams.TeamError) -> Response:
    """The API form of a refused membership change."""
    return Response(
        {"detail": exc.message, "code": exc.code}, status=teams.STATUS_OF.get(exc.code, 400)
    )


def _my_team(request: Request, slug: str) -> tuple[Challenge, Team | None]:
    challenge = get_object_or_404(Challenge, slug=slug)
    return challenge, user_team(request.user, challenge)


_NO_TEAM = {"detail": "You are not in a team for this challenge.", "code": "not_member"}


class MyTeam(APIView):
    """Your team in a challenge (404 when you have none)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=TeamSerializer)
    def get(self, request: Request, slug: str) -> Response:
        _, team = _my_team(request, slug)
        if team is None:
            return Response(_NO_TEAM, status=status.HTTP_404_NOT_FOUND)
        return Response(TeamSerializer(team).data)


class LeaveTeam(APIView):
    """Leave your team. Its submissions stay with the team; a team left empty with no
    submissions is deleted (``team_deleted``)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request, slug: str) -> Response:
        _, team = _my_team(request, slug)
        if team is None:
            return Response(_NO_TEAM, status=status.HTTP_404_NOT_FOUND)
        try:
            deleted = teams.leave_team(request.user, team)
        except teams.TeamError as exc:
            return refusal(exc)
        return Response({"left": team.name, "team_deleted": deleted})


class TeamInvitations(APIView):
    """GET: your team's open invitations. POST: a new single-use invitation (``days``, 1-30,
    default 7); send its ``url`` (or ``token``) to the person you invite."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=TeamInvitationSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        _, team = _my_team(request, slug)
        if team is None:
            return Response(_NO_TEAM, status=status.HTTP_404_NOT_FOUND)
        invitations = teams.open_invitations(team).select_related("team__challenge")
        context = {"request": request}
        return Response(TeamInvitationSerializer(invitations, many=True, context=context).data)

    @extend_schema(request=InvitationCreateSerializer, responses={201: TeamInvitationSerializer})
    def post(self, request: Request, slug: str) -> Response:
        _, team = _my_team(request, slug)
        if team is None:
            return Response(_NO_TEAM, status=status.HTTP_404_NOT_FOUND)
        form = InvitationCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            invitation = teams.create_invitation(
                team, request.user, days=form.validated_data.get("days")
            )
        except teams.TeamError as exc:
            return refusal(exc)
        data = TeamInvitationSerializer(invitation, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class RevokeInvitation(APIView):
    """Revoke one of your team's invitations (204; already used or revoked ones stay as they
    are)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, slug: str, pk: int) -> Response:
        _, team = _my_team(request, slug)
        invitation = team.invitations.filter(pk=pk).first() if team is not None else None
        if invitation is None:
            return Response(
                {"detail": "No such invitation in your team.", "code": "not_found"},
                status=status.HTTP_404_NOT_FOUND,
            )
        try:
            teams.revoke_invitation(invitation, request.user)
        except teams.TeamError as exc:
            return refusal(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationDetail(APIView):
    """What an invitation is for (team, challenge, who sent it, ``state``), to its holder."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=TeamInvitationSerializer)
    def get(self, request: Request, token: str) -> Response:
        invitation = teams.find_invitation(token)
        if invitation is None:
            return refusal(teams.TeamError("not_found", "This invitation link is not valid."))
        data = TeamInvitationSerializer(invitation, context={"request": request}).data
        data.pop("token", None)  # the caller has it; no need to echo the secret
        return Response(data)


class AcceptInvitation(APIView):
    """Join the invitation's team; the invitation is used up."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=TeamSerializer)
    def post(self, request: Request, token: str) -> Response:
        try:
            team = teams.accept_invitation(token, request.user)
        except teams.TeamError as exc:
            return refusal(exc)
        return Response(TeamSerializer(team).data)
