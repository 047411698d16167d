"""The board page while the worker still has to rank it (a per-case ranking method just
chosen), what a participant may open from it, and a hidden board's words (usability fixes of
issue 12's pages)."""

from __future__ import annotations

import re

import pytest
from challenges.leaderboards import recompute
from challenges.models import Phase

from tests.platform.statistics_boards import analyse, make_board

pytestmark = pytest.mark.django_db


def test_per_case_method_says_ranks_are_being_computed_then_shows_its_score(
    client, make_user
) -> None:
    phase, subs = make_board(make_user, slug="pending")
    organiser = make_user("pending-org")
    phase.challenge.organisers.add(organiser)
    analyse(phase)
    phase.ranking_method = Phase.RankingMethod.TEST_THEN_RANK
    phase.save()
    url = f"/phases/{phase.pk}/leaderboard/"
    # Straight after the change (no recompute yet): the statistics page does not pass the
    # previous method's analysis off as current.
    stats = client.get(f"/phases/{phase.pk}/statistics/").content.decode()
    assert 'data-state="updating"' in stats and "Being updated" in stats

    client.force_login(organiser)
    answer = client.post(f"{url}recompute/", follow=True).content.decode()
    assert "Re-rank queued" in answer and "re-ranked with the current settings" not in answer
    page = client.get(url).content.decode()
    assert "Ranks being computed by the worker; shown in the mean order meanwhile" in page
    assert "out of date" not in page
    api = f"/api/phases/{phase.pk}/leaderboard/"
    assert re.search(rf'id="board-refresh"[^>]*data-api="{api}"', page)
    assert "board_refresh.js" in page
    assert "Provisionally in the order of the primary metric" in page
    assert "Significant wins" in page
    assert re.findall(r'<td data-col="score" data-value=""', page)

    analyse(phase)  # the worker's analysis ranks the board
    page = client.get(url).content.decode()
    assert "Ranks being computed" not in page and 'id="board-refresh"' not in page
    assert "Ranked by significant wins" in page
    scores = re.findall(r'<td data-col="score" data-value="([^"]*)"', page)
    assert len(scores) == len(subs) and all(scores)


def test_participant_gets_links_only_to_submissions_they_may_open(client, make_user) -> None:
    phase, subs = make_board(make_user, slug="links")
    client.force_login(subs[1].creator)
    page = client.get(f"/phases/{phase.pk}/leaderboard/").content.decode()
    assert f'href="/submissions/{subs[1].pk}/"' in page
    for other in (subs[0], subs[2]):
        assert f'href="/submissions/{other.pk}/"' not in page
        assert client.get(f"/submissions/{other.pk}/").status_code == 404


def test_hidden_board_says_it_is_not_public(client, make_user) -> None:
    phase, _ = make_board(make_user, slug="hiddenb")
    phase.leaderboard_visibility = Phase.Visibility.HIDDEN
    phase.save()
    recompute(phase)
    response = client.get(f"/phases/{phase.pk}/leaderboard/")
    assert response.status_code == 404
    assert "This leaderboard is not public" in response.content.decode()


def test_submission_page_shows_its_current_rank_with_interval(client, make_user) -> None:
    phase, subs = make_board(make_user, slug="ownrank")
    analyse(phase)
    client.force_login(subs[1].creator)
    page = client.get(f"/submissions/{subs[1].pk}/").content.decode()
    assert 'id="board-ranks"' in page
    for board in ("all", "north", "south"):
        row = re.search(rf'<tr data-board="{board}">(.*?)</tr>', page, re.S)
        assert row, board
        assert re.search(r'data-col="rank">\d+ <span class="muted">of 5</span>', row.group(1))
        assert re.search(r'data-col="interval">\d+(\.\d)?–\d+(\.\d)?<', row.group(1))
    # Entries 1 and 2 are built indistinguishable: the all-cases board marks the tie.
    all_row = re.search(r'<tr data-board="all">(.*?)</tr>', page, re.S).group(1)
    assert "tied-mark" in all_row
    # A hidden board: no rank on the page.
    phase.leaderboard_visibility = Phase.Visibility.HIDDEN
    phase.save()
    assert 'id="board-ranks"' not in client.get(f"/submissions/{subs[1].pk}/").content.decode()


def test_challenge_page_has_no_dangling_separator_before_submit(client, make_user) -> None:
    phase, subs = make_board(make_user, slug="dangling")
    phase.leaderboard_visibility = Phase.Visibility.HIDDEN
    phase.save()
    client.force_login(subs[0].creator)
    page = client.get(f"/challenges/{phase.challenge.slug}/").content.decode()
    cell = re.search(r'<td class="right">(.*?)</td>', page, re.S).group(1).strip()
    assert not cell.startswith("·") and "Leaderboard" not in cell


def test_home_card_is_plain_text_and_challenge_page_lists_the_hc_metrics(
    client, make_user
) -> None:
    phase, _ = make_board(make_user, slug="cardtext")
    challenge = phase.challenge
    challenge.description = (
        "Segment the **fetal head** with `nnU-Net` & friends: <script>x()</script>"
        " [docs](https://example.org).\n\nSecond paragraph."
    )
    challenge.save()
    home = client.get("/").content.decode()
    card = re.search(r'<article class="card">.*?</article>', home, re.S).group(0)
    assert "Segment the fetal head with nnU-Net &amp; friends" in card
    assert "`" not in card and "**" not in card and "<script>" not in card
    assert "Second paragraph" not in card and "](" not in card
    page = client.get(f"/challenges/{challenge.slug}/").content.decode()
    metrics = re.search(r'id="task-metrics">(.*?)</p>', page, re.S).group(1)
    assert "head.hc_abs_diff_mm" in metrics and "head.hd95" in metrics
