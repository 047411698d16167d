"""In a browser: a board the worker still has to rank (a per-case ranking method just
chosen) says so and reloads itself, under the CSP, once the worker's analysis is in; and the
pages changed with it render without console errors (screenshots for a person to look at)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from challenges.leaderboards import recompute
from challenges.leaderboards.history import freeze
from challenges.models import Phase, Submission

from tests.browser_fixtures import SHOTS
from tests.platform.statistics_boards import analyse, make_board
from tests.platform.test_browser_statistics import Watched

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOT_DIR = Path(os.environ.get("FETALBENCH_SCREENSHOTS") or SHOTS)


def _login(watched: Watched, base: str, username: str) -> None:
    page = watched.page
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-secret-123")
    page.click("button[type=submit], input[type=submit]")


def test_pending_board_reloads_itself_when_the_worker_has_ranked_it(
    browser, live_server, make_user
) -> None:
    phase, subs = make_board(make_user, slug="refresh")
    analyse(phase)
    phase.ranking_method = Phase.RankingMethod.RANK_THEN_AGGREGATE
    phase.save()
    recompute(phase)  # rows in the provisional mean order, ranks pending
    base = live_server.url
    watched = Watched(browser)
    page = watched.page
    watched.visit(f"{base}/phases/{phase.pk}/leaderboard/")
    # A scoring worker another test of the session started may have ranked the board
    # already (the recompute queued its analysis); then there is nothing pending to see.
    if page.locator("#ranks-pending-notice").count():
        assert "mean order meanwhile" in page.locator("#ranks-pending-notice").inner_text()
        watched.shot("fix-board-ranks-pending.png")
        analyse(phase)  # the worker's step
        page.wait_for_selector("#ranks-pending-notice", state="detached", timeout=20_000)
    else:
        analyse(phase)
        watched.visit(f"{base}/phases/{phase.pk}/leaderboard/")
    assert "Ranked by mean per-case rank" in page.locator("#ranked-by").inner_text()
    assert page.locator('th[data-col="score"]').inner_text().startswith("Mean case rank")
    watched.shot("fix-board-ranked.png")

    # The other changed pages, as a participant and as a visitor.
    freeze(phase, by="organiser", title="Final ranking")
    failed = Submission.objects.create(phase=phase, creator=subs[1].creator, team=subs[1].team,
                                       method_name="broken", status="failed")  # fmt: skip
    _login(watched, base, subs[1].creator.username)
    for name, path in (
        ("fix-submission-rank.png", f"/submissions/{subs[1].pk}/"),
        ("fix-submission-failed.png", f"/submissions/{failed.pk}/"),
        ("fix-statistics.png", f"/phases/{phase.pk}/statistics/"),
        ("fix-home.png", "/"),
        ("fix-challenge.png", f"/challenges/{phase.challenge.slug}/"),
        ("fix-submit.png", f"/phases/{phase.pk}/submit/"),
        ("fix-report.png", f"/phases/{phase.pk}/report.html?download=0"),
    ):
        watched.visit(base + path)
        watched.shot(name)
    phase.leaderboard_visibility = Phase.Visibility.HIDDEN
    phase.save()
    response = page.goto(f"{base}/phases/{phase.pk}/leaderboard/")
    assert response.status == 404 and "not public" in page.inner_text("#error-page")
    watched.shot("fix-hidden-board.png")
    # Only the hidden board's own 404 (no favicon or other missing file anywhere).
    assert [p for p in watched.problems if "/leaderboard/" not in p] == [], watched.problems
