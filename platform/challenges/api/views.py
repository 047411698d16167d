"""API views. Objects a caller may not see answer 404 (not 403) so ids do not leak existence.

Every list is built with select_related/prefetch_related or from materialised leaderboard rows,
so the number of queries does not grow with the number of submissions.
"""

from __future__ import annotations

import json

from django.db.models import Prefetch, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenges.api.history import AS_OF_PARAM, as_of_board
from challenges.api.schema import (
    BAD_REQUEST,
    BOARD,
    CSV_FILE,
    JSON_FILE,
    NOT_FOUND,
    THROTTLED,
    TOO_LARGE,
)
from challenges.api.serializers import (
    ChallengeSerializer,
    JoinSerializer,
    PhaseSerializer,
    QuotaSerializer,
    SubmissionCreateSerializer,
    SubmissionDetailSerializer,
    SubmissionSerializer,
    TeamSerializer,
)
from challenges.api.teams import refusal
from challenges.leaderboards import (
    ENTRIES_ALL,
    EntriesError,
    UnknownSite,
    phase_table,
    scope_for,
    wants_all_entries,
)
from challenges.models import Challenge, Phase, Submission
from challenges.permissions import (
    can_view_case_results,
    can_view_leaderboard,
    is_organiser,
    user_team,
)
from challenges.services.quota import daily_quota
from challenges.services.submissions import SubmissionRejected, create_submission
from challenges.services.teams import TeamError, join_challenge

_PHASES = Phase.objects.select_related("challenge").prefetch_related("challenge__sites")


class ChallengeList(generics.ListAPIView):
    serializer_class = ChallengeSerializer
    permission_classes = [permissions.AllowAny]
    queryset = Challenge.objects.prefetch_related(
        Prefetch("phases", queryset=_PHASES), "sites"
    ).order_by("slug")


class ChallengeDetail(generics.RetrieveAPIView):
    serializer_class = ChallengeSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "slug"
    queryset = ChallengeList.queryset


class PhaseList(generics.ListAPIView):
    serializer_class = PhaseSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        return _PHASES.filter(challenge__slug=self.kwargs["slug"])


class PhaseDetail(generics.RetrieveAPIView):
    serializer_class = PhaseSerializer
    permission_classes = [permissions.AllowAny]
    queryset = _PHASES


class JoinChallenge(APIView):
    """Join a challenge: returns your team, or creates a new one-person team named
    ``team_name`` (default: your user name). A name already taken is refused (409): an existing
    team is joined only through an invitation from one of its members."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=JoinSerializer, responses=TeamSerializer)
    def post(self, request: Request, slug: str) -> Response:
        challenge = get_object_or_404(Challenge, slug=slug)
        form = JoinSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            team = join_challenge(request.user, challenge, form.validated_data.get("team_name"))
        except TeamError as exc:
            return refusal(exc)
        return Response(TeamSerializer(team).data, status=status.HTTP_200_OK)


def _own_submissions(user):
    if user.is_superuser:
        return Submission.objects.select_related("phase__challenge", "team", "creator")
    return (
        Submission.objects.filter(
            Q(creator=user) | Q(team__members=user) | Q(phase__challenge__organisers=user)
        )
        .distinct()
        .select_related("phase__challenge", "team", "creator")
    )


class SubmissionListCreate(generics.ListAPIView):
    """GET: your submissions (yours, your teams', your challenges' as organiser). POST: upload."""

    serializer_class = SubmissionSerializer
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        queryset = _own_submissions(self.request.user)
        phase = self.request.query_params.get("phase")
        # ASCII digits only: str.isdigit() is also true for "²", which int() refuses.
        if phase and phase.isascii() and phase.isdigit() and len(phase) <= 18:
            queryset = queryset.filter(phase_id=int(phase))
        return queryset

    @extend_schema(
        parameters=[OpenApiParameter("phase", int, description="Only submissions to this phase")]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=SubmissionCreateSerializer,
        responses={201: SubmissionSerializer, 400: BAD_REQUEST, 413: TOO_LARGE, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        form = SubmissionCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        phase = data.pop("phase")
        upload = data.pop("file")
        try:
            submission = create_submission(phase, request.user, upload, data)
        except SubmissionRejected as exc:
            return Response({"detail": exc.message}, status=status.HTTP_400_BAD_REQUEST)
        return Response(SubmissionSerializer(submission).data, status=status.HTTP_201_CREATED)


class PhaseQuota(APIView):
    """What is left of the phase's daily submission limit for you (and your team), and when
    the next slot frees; the `fetalbench` client asks before it uploads."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: QuotaSerializer, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        phase = get_object_or_404(Phase.objects.select_related("challenge"), pk=pk)
        quota = daily_quota(
            phase,
            request.user,
            user_team(request.user, phase.challenge),
            exempt=is_organiser(request.user, phase.challenge),
        )
        return Response(quota.as_dict())


@extend_schema(responses={200: SubmissionDetailSerializer, 404: NOT_FOUND})
class SubmissionDetail(generics.RetrieveAPIView):
    """One of your submissions, with its own scores (also when the board is hidden) and, for
    model and container runs, the run's summary and log."""

    serializer_class = SubmissionDetailSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return _own_submissions(self.request.user)


class SubmissionCases(APIView):
    """Per-case metrics of one submission (owners; everyone when the phase allows it)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        submission = (
            Submission.objects.select_related("phase__challenge", "team").filter(pk=pk).first()
        )
        if submission is None or not can_view_case_results(request.user, submission):
            raise Http404
        evaluation = submission.evaluations.filter(is_current=True).first()
        if evaluation is None:
            return Response({"submission": submission.pk, "status": submission.status, "cases": []})
        cases = [
            {
                "case": c.get("case"),
                "site": c.get("site"),
                "flags": c.get("flags", []),
                "metrics": c.get("metrics", {}),
            }
            for c in evaluation.results.get("cases", [])
        ]
        return Response(
            {
                "submission": submission.pk,
                "status": submission.status,
                "evaluator_version": evaluation.evaluator_version,
                "cases": cases,
            }
        )


_SITE_PARAM = OpenApiParameter("site", str, description='Site name; "all" (default) = all cases')
_ENTRIES_PARAM = OpenApiParameter(
    "entries",
    str,
    enum=["all"],
    description='"all": every scored submission as its own row; left out: one row per '
    "participant (its best or latest entry, as the phase says)",
)


def _table_for(request: Request, pk: int, site: str | None):
    phase = get_object_or_404(Phase.objects.select_related("challenge"), pk=pk)
    if not can_view_leaderboard(request.user, phase):
        # Phases are public (they are listed); only the board is hidden, so say so.
        raise NotFound(
            "This phase's leaderboard is not public; your own scores are on your "
            "submissions (`fetalbench status <id>`)."
        )
    try:
        all_entries = wants_all_entries(request.query_params.get("entries"))
    except EntriesError as exc:
        raise ParseError(str(exc)) from None
    try:
        scope = scope_for(phase, site or request.query_params.get("site"))
    except UnknownSite:
        raise Http404 from None
    return phase, phase_table(phase, scope, all_entries=all_entries)


class Leaderboard(APIView):
    """A phase's leaderboard (all cases or one site), with each column's direction."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[_SITE_PARAM, _ENTRIES_PARAM, AS_OF_PARAM],
        responses={200: BOARD, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int, site: str | None = None) -> Response:
        as_of = request.query_params.get("as_of")
        if as_of is not None:  # the board as it was then, from its stored snapshots
            return Response(as_of_board(request, pk, site, as_of))
        _, table = _table_for(request, pk, site)
        return Response(table.as_dict())


class _FileNegotiation(BaseContentNegotiation):
    """A download is what its URL says (.csv or .json) whatever the Accept header asks, as
    DRF's docs suggest for such views ("Custom content negotiation"); errors are JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None


class LeaderboardExport(APIView):
    """The same table as a downloadable file; `fmt` ("csv" or "json") is set per subclass."""

    permission_classes = [permissions.AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _FileNegotiation
    fmt = "json"

    def get(self, request: Request, pk: int) -> HttpResponse:
        phase, table = _table_for(request, pk, None)
        name = f"{phase.challenge.slug}-{phase.slug}-{table.scope_key}"
        if table.entry_selection == ENTRIES_ALL:
            name += "-all-entries"
        if self.fmt == "csv":
            response = HttpResponse(table.to_csv(), content_type="text/csv; charset=utf-8")
        else:
            body = json.dumps(table.as_dict(), indent=1)
            response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{name}.{self.fmt}"'
        return response


class LeaderboardCsv(LeaderboardExport):
    """The leaderboard as CSV (text cells that a spreadsheet would run are neutralised)."""

    fmt = "csv"

    @extend_schema(
        parameters=[_SITE_PARAM, _ENTRIES_PARAM],
        responses={
            (200, "text/csv"): CSV_FILE,
            (400, "application/json"): BAD_REQUEST,
            (404, "application/json"): NOT_FOUND,
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        return super().get(request, pk)


class LeaderboardJson(LeaderboardExport):
    """The leaderboard as a JSON file (the API's table, as an attachment)."""

    fmt = "json"

    @extend_schema(
        parameters=[_SITE_PARAM, _ENTRIES_PARAM],
        responses={200: JSON_FILE, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        return super().get(request, pk)
