"""API views for a board's stored analysis and its history: snapshots, ``?as_of=``, frozen
final boards and one submission's rank over time (docs/api.md).

Every view here shows a board, so it answers exactly as the board API does: a hidden board is
for the challenge's organisers only (``permissions.can_view_leaderboard``), others get 404 with
the same sentence. Nothing is computed on a request: the worker stored the analyses
(``leaderboards.analyses``) and every recompute its snapshots (``leaderboards.history``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenges.api.schema import BAD_REQUEST, CONFLICT, NOT_FOUND
from challenges.leaderboards.analyses import payload_for, stored_analysis
from challenges.leaderboards.history import (
    AnalysisPending,
    FreezeRefused,
    NoSnapshot,
    canonical_content,
    freeze,
    frozen_board,
    frozen_boards,
    rank_history,
    snapshot_as_of,
    snapshot_board,
    snapshot_meta,
    snapshots,
    verify,
)
from challenges.leaderboards.scopes import Scope, UnknownSite, scope_for
from challenges.models import LeaderboardSnapshot, Phase, Submission
from challenges.permissions import can_view_leaderboard, is_organiser

#: What a caller who may not see a hidden board is told (as the board API says it).
HIDDEN_BOARD = (
    "This phase's leaderboard is not public; your own scores are on your "
    "submissions (`fetalbench status <id>`)."
)
#: Snapshots listed per request by default, and at most.
SNAPSHOT_LIMIT, SNAPSHOT_LIMIT_MAX = 100, 1000
CHECKSUM_RULE = (
    "SHA-256 of `content` as canonical JSON: keys sorted, separators (',', ':'), "
    "non-ASCII kept, UTF-8"
)

SITE_PARAM = OpenApiParameter("site", str, description='Site name; "all" (default) = all cases')
AS_OF_PARAM = OpenApiParameter(
    "as_of",
    str,
    description="ISO 8601 time (e.g. 2025-06-01T12:00:00Z; without an offset: UTC): the "
    "board as the last recompute at or before it left it, from the stored snapshots",
)


def visible_phase(request: Request, pk: int) -> Phase:
    """The phase whose board the caller may see; 404 otherwise (a hidden board's phase is
    public, so the answer says the board is hidden, as the board API does)."""
    phase = get_object_or_404(Phase.objects.select_related("challenge"), pk=pk)
    if not can_view_leaderboard(request.user, phase):
        raise NotFound(HIDDEN_BOARD)
    return phase


def board_scope(phase: Phase, site: str | None) -> Scope:
    try:
        return scope_for(phase, site)
    except UnknownSite:
        raise Http404 from None


def parse_as_of(value: str) -> datetime:
    """An aware datetime from an ISO 8601 text (UTC when it has no offset); ParseError (400)
    naming the expected form otherwise."""
    text = value.strip()
    # A "+02:00" offset typed into a URL arrives as " 02:00" ("+" means a space there).
    text = re.sub(r" (\d\d:?\d\d)$", r"+\1", text)
    try:
        when = parse_datetime(text)
    except ValueError:  # well-formed but impossible (month 13)
        when = None
    if when is None:
        raise ParseError(
            f"as_of={value[:64]!r} is not a time: give an ISO 8601 timestamp such as "
            "2025-06-01T12:00:00Z (without an offset it is read as UTC)"
        )
    if timezone.is_naive(when):
        when = timezone.make_aware(when, UTC)
    return when


def as_of_board(request: Request, pk: int, site: str | None, value: str) -> dict[str, Any]:
    """The board API's answer for ``?as_of=``: the board (all cases, or ``site`` from the
    path or the query) as the last recompute at or before that time left it; 404 before the
    first snapshot, 400 for a bad time or with ``entries=all`` (history keeps the phase's
    board, one row per participant)."""
    phase = visible_phase(request, pk)
    if (request.query_params.get("entries") or "").strip():
        raise ParseError(
            "as_of reads the phase's board history; it cannot be combined with entries"
        )
    scope = board_scope(phase, site or request.query_params.get("site"))
    when = parse_as_of(value)
    try:
        snapshot = snapshot_as_of(phase, scope, when)
    except NoSnapshot as exc:
        raise NotFound(f"No leaderboard history at that time: {exc}.") from None
    return {**snapshot_board(snapshot), "as_of": when.isoformat()}


def _limit(request: Request) -> int:
    text = request.query_params.get("limit")
    if text is None:
        return SNAPSHOT_LIMIT
    if not (text.isascii() and text.isdigit() and len(text) <= 6) or int(text) < 1:
        raise ParseError(f"limit must be a whole number from 1 to {SNAPSHOT_LIMIT_MAX}")
    return min(int(text), SNAPSHOT_LIMIT_MAX)


class BoardAnalysisView(APIView):
    """The stored statistical analysis of a phase's board (all cases or ``?site=``): rank
    intervals, significance map, ties, every ranking method and their agreement. ``current``
    false (``updating`` true): the board changed since, and the newer analysis is being
    computed; ``analysis`` null before the first one."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(parameters=[SITE_PARAM], responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        phase = visible_phase(request, pk)
        scope = board_scope(phase, request.query_params.get("site"))
        found = stored_analysis(phase, scope)
        if found is None:
            found = {
                "phase": phase.pk,
                "site": scope.key,
                "selection": phase.entry_selection,
                "current": False,
                "updating": True,
                "note": "No analysis of this board is stored yet; the worker computes one "
                "after the board's next recompute.",
                "analysis": None,
            }
        # Case-level data only for those who may see every team's per-case results.
        found["analysis"] = payload_for(request.user, phase, found["analysis"])
        return Response(found)


class SnapshotList(APIView):
    """A board's history, newest first (``limit``, default 100): one snapshot per recompute
    that changed it, without rows, with Kendall's tau-b against the previous snapshot."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[
            SITE_PARAM,
            OpenApiParameter("limit", int, description="How many (1-1000, default 100)"),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        phase = visible_phase(request, pk)
        scope = board_scope(phase, request.query_params.get("site"))
        found = snapshots(phase, scope, limit=_limit(request))
        return Response(
            {
                "phase": phase.pk,
                "site": scope.key,
                "selection": phase.entry_selection,
                "snapshots": [snapshot_meta(s) for s in found],
            }
        )


class SnapshotDetail(APIView):
    """One snapshot of a phase's board, with its rows."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND})
    def get(self, request: Request, pk: int, snapshot: int) -> Response:
        phase = visible_phase(request, pk)
        found = get_object_or_404(
            LeaderboardSnapshot.objects.select_related("site", "phase__challenge"),
            pk=snapshot,
            phase=phase,
        )
        return Response(snapshot_board(found))


class FreezeRequest(serializers.Serializer):
    site = serializers.CharField(required=False, allow_blank=True, max_length=100)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)


def frozen_answer(snapshot: LeaderboardSnapshot, viewer) -> dict[str, Any]:
    """A frozen board with its canonical content, checksum and whether it verifies
    (``verified`` is checked on the stored, whole content). A viewer who may not see other
    teams' per-case results gets the content with its analysis redacted
    (``analyses.payload_for``; ``content_redacted`` true): the checksum covers the whole,
    which the organisers' answer carries, so they can recompute it."""
    content = canonical_content(snapshot)
    shown = payload_for(viewer, snapshot.phase, content["analysis"])
    redacted = shown is not content["analysis"]
    return {
        **snapshot_board(snapshot),
        "permalink": f"/api/frozen/{snapshot.slug}/",
        "content": {**content, "analysis": shown} if redacted else content,
        "content_redacted": redacted,
        "checksum": snapshot.checksum,
        "checksum_rule": CHECKSUM_RULE,
        "verified": verify(snapshot),
    }


class FrozenBoards(APIView):
    """GET: the phase's frozen final boards. POST (organisers): freeze the board of
    ``site`` (default all cases) as it is now, with an optional ``title``."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        phase = visible_phase(request, pk)
        boards = [
            snapshot_meta(s) | {"permalink": f"/api/frozen/{s.slug}/"} for s in frozen_boards(phase)
        ]
        return Response({"phase": phase.pk, "frozen": boards})

    @extend_schema(
        request=FreezeRequest,
        responses={201: OpenApiTypes.OBJECT, 400: BAD_REQUEST, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request: Request, pk: int) -> Response:
        phase = get_object_or_404(Phase.objects.select_related("challenge"), pk=pk)
        if not is_organiser(request.user, phase.challenge):
            raise Http404  # as for any object the caller may not act on
        form = FreezeRequest(data=request.data)
        form.is_valid(raise_exception=True)
        scope = board_scope(phase, form.validated_data.get("site") or None)
        try:
            frozen = freeze(
                phase,
                scope,
                by=request.user.get_username(),
                title=form.validated_data.get("title", ""),
            )
        except AnalysisPending as exc:  # try again once the worker has stored them
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except FreezeRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(frozen_answer(frozen, request.user), status=status.HTTP_201_CREATED)


class FrozenBoardDetail(APIView):
    """A frozen board by its permalink (slug, or id): rows, analysis, ``content`` and its
    SHA-256 ``checksum`` (``verified``: the stored content still hashes to it)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND})
    def get(self, request: Request, ref: str) -> Response:
        try:
            found = frozen_board(ref)
        except NoSnapshot:
            raise Http404 from None
        if not can_view_leaderboard(request.user, found.phase):
            raise NotFound(HIDDEN_BOARD)
        return Response(frozen_answer(found, request.user))


class SubmissionRankHistory(APIView):
    """A submission's rank on its phase's board (``?site=``) at every snapshot that has it,
    oldest first: whoever may see the board may see it."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(parameters=[SITE_PARAM], responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        submission = Submission.objects.select_related("phase__challenge").filter(pk=pk).first()
        if submission is None or not can_view_leaderboard(request.user, submission.phase):
            raise Http404
        scope = board_scope(submission.phase, request.query_params.get("site"))
        return Response(
            {
                "submission": submission.pk,
                "phase": submission.phase_id,
                "site": scope.key,
                "selection": submission.phase.entry_selection,
                "history": rank_history(submission, scope),
            }
        )
