"""Web page routes; the API lives under /api/ (challenges.api_urls)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from web.views import accounts, challenges, frozen, leaderboards, statistics, submissions, teams

app_name = "web"

urlpatterns = [
    path("", challenges.home, name="home"),
    path("challenges/<slug:slug>/", challenges.challenge_detail, name="challenge"),
    path("challenges/<slug:slug>/join/", teams.join, name="join"),
    path("challenges/<slug:slug>/team/invite/", teams.invite, name="team-invite"),
    path(
        "challenges/<slug:slug>/team/invitations/<int:pk>/revoke/",
        teams.revoke,
        name="team-revoke",
    ),
    path("challenges/<slug:slug>/team/leave/", teams.leave, name="team-leave"),
    path("invitations/<str:token>/", teams.invitation, name="invitation"),
    path("phases/<int:pk>/", challenges.phase_detail, name="phase"),
    path("phases/<int:pk>/submit/", submissions.submit, name="submit"),
    path("phases/<int:pk>/leaderboard/", leaderboards.leaderboard, name="leaderboard"),
    path(
        "phases/<int:pk>/leaderboard/recompute/",
        leaderboards.recompute,
        name="leaderboard-recompute",
    ),
    path("phases/<int:pk>/pareto/", leaderboards.pareto, name="pareto"),
    path("phases/<int:pk>/statistics/", statistics.statistics, name="statistics"),
    path("phases/<int:pk>/report.html", statistics.report_html, name="report-html"),
    path("phases/<int:pk>/report.pdf", statistics.report_pdf, name="report-pdf"),
    path("boards/<str:ref>/", frozen.frozen, name="frozen-board"),
    path("submissions/<int:pk>/", submissions.submission_detail, name="submission"),
    path("my/submissions/", submissions.my_submissions, name="my-submissions"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
]
