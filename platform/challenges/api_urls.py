"""REST API routes, mounted under /api/ (see docs/api.md)."""

from django.urls import path

from challenges.api import history, teams, views
from challenges.api.token import obtain_auth_token

urlpatterns = [
    path("token/", obtain_auth_token, name="api-token"),
    path("challenges/", views.ChallengeList.as_view(), name="api-challenge-list"),
    path("challenges/<slug:slug>/", views.ChallengeDetail.as_view(), name="api-challenge-detail"),
    path("challenges/<slug:slug>/phases/", views.PhaseList.as_view(), name="api-phase-list"),
    path("challenges/<slug:slug>/join/", views.JoinChallenge.as_view(), name="api-challenge-join"),
    path("challenges/<slug:slug>/team/", teams.MyTeam.as_view(), name="api-team"),
    path("challenges/<slug:slug>/team/leave/", teams.LeaveTeam.as_view(), name="api-team-leave"),
    path(
        "challenges/<slug:slug>/team/invitations/",
        teams.TeamInvitations.as_view(),
        name="api-team-invitations",
    ),
    path(
        "challenges/<slug:slug>/team/invitations/<int:pk>/",
        teams.RevokeInvitation.as_view(),
        name="api-team-invitation",
    ),
    path("invitations/<str:token>/", teams.InvitationDetail.as_view(), name="api-invitation"),
    path(
        "invitations/<str:token>/accept/",
        teams.AcceptInvitation.as_view(),
        name="api-invitation-accept",
    ),
    path("phases/<int:pk>/", views.PhaseDetail.as_view(), name="api-phase-detail"),
    path("phases/<int:pk>/quota/", views.PhaseQuota.as_view(), name="api-phase-quota"),
    path("phases/<int:pk>/leaderboard/", views.Leaderboard.as_view(), name="api-leaderboard"),
    path(
        "phases/<int:pk>/leaderboard/sites/<str:site>/",
        views.Leaderboard.as_view(),
        name="api-leaderboard-site",
    ),
    path(
        "phases/<int:pk>/leaderboard.csv",
        views.LeaderboardCsv.as_view(),
        name="api-leaderboard-csv",
    ),
    path(
        "phases/<int:pk>/leaderboard.json",
        views.LeaderboardJson.as_view(),
        name="api-leaderboard-json",
    ),
    path(
        "phases/<int:pk>/leaderboard/analysis/",
        history.BoardAnalysisView.as_view(),
        name="api-leaderboard-analysis",
    ),
    path(
        "phases/<int:pk>/leaderboard/snapshots/",
        history.SnapshotList.as_view(),
        name="api-leaderboard-snapshots",
    ),
    path(
        "phases/<int:pk>/leaderboard/snapshots/<int:snapshot>/",
        history.SnapshotDetail.as_view(),
        name="api-leaderboard-snapshot",
    ),
    path(
        "phases/<int:pk>/leaderboard/frozen/",
        history.FrozenBoards.as_view(),
        name="api-leaderboard-frozen",
    ),
    path("frozen/<str:ref>/", history.FrozenBoardDetail.as_view(), name="api-frozen-board"),
    path("submissions/", views.SubmissionListCreate.as_view(), name="api-submission-list"),
    path("submissions/<int:pk>/", views.SubmissionDetail.as_view(), name="api-submission-detail"),
    path(
        "submissions/<int:pk>/cases/", views.SubmissionCases.as_view(), name="api-submission-cases"
    ),
    path(
        "submissions/<int:pk>/rank-history/",
        history.SubmissionRankHistory.as_view(),
        name="api-submission-rank-history",
    ),
]
