"""Issue 10, item 2: a change to what decides a board re-ranks it, wherever the phase is saved.

With a worker: an organiser changes the ranking method in the admin (Django test client) and
the API and the page follow, re-ranked by the worker after commit. Without one: the board says
it is stale (its rows were ranked by the old settings) and an organiser re-ranks it from the
page. Boards are built from Evaluation rows as the worker writes them (no truth set needed).
"""

from __future__ import annotations

import time
from html.parser import HTMLParser

import pytest
from challenges.leaderboards import leaderboard_table, recompute
from challenges.models import Case, Evaluation, Phase, Site, Submission, Team

from tests.platform.test_leaderboard import _results


def _board(make_challenge, make_user, organiser=None):
    """red best on dice, blue best on hd95 and HC error: primary (dice) ranks red first, the
    mean of the task's three ranking metrics (dice, hd95, hc_abs_diff_mm) ranks blue first."""
    challenge, phase = make_challenge(organiser=organiser)
    site = Site.objects.create(challenge=challenge, name="hc18")
    Case.objects.create(phase=phase, case_id="c1", site=site, spacing_row_mm=1, spacing_col_mm=1)
    scores = {
        "red": {"dice": 0.95, "hd95": 9.0, "hc_abs_diff_mm": 8.0},
        "blue": {"dice": 0.90, "hd95": 2.0, "hc_abs_diff_mm": 1.0},
    }
    for name, values in scores.items():
        team = Team.objects.create(challenge=challenge, name=name)
        user = make_user(f"user-{name}")
        team.members.add(user)
        sub = Submission.objects.create(
            phase=phase, creator=user, team=team, status=Submission.Status.DONE
        )
        Evaluation.objects.create(submission=sub, results=_results({"all": values, "hc18": values}))
    recompute(phase)
    return phase


class _FormValues(HTMLParser):
    """The values a browser would send for the admin's change form, read from its HTML, so
    the test does not hard-code the form's fields (the admin is edited by others)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None
        self._first: str | None = None
        self._multiple = False

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.data.setdefault(name, []).append(a.get("value") or default)
        elif tag == "select" and name:
            self._select = name
            self._first = None
            self._multiple = "multiple" in a
            self.data.setdefault(name, [])
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a:
                self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data) -> None:
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag) -> None:
        if tag == "select" and self._select:
            # A single select with nothing selected sends its first option, as a browser does.
            if not self.data[self._select] and not self._multiple and self._first is not None:
                self.data[self._select].append(self._first)
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def _admin_form(client, phase: Phase) -> dict[str, list[str]]:
    page = client.get(f"/admin/challenges/phase/{phase.pk}/change/")
    assert page.status_code == 200, page.status_code
    parser = _FormValues()
    parser.feed(page.content.decode())
    assert "ranking_method" in parser.data, sorted(parser.data)
    return parser.data


def _errors(response) -> str:
    """The admin form's error messages (what a refused save said)."""
    import re

    html = response.content.decode()
    return " | ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S))


def _api_order(client, phase: Phase) -> tuple[str, list[str], bool]:
    board = client.get(f"/api/phases/{phase.pk}/leaderboard/").json()
    return board["ranking_method"], [r["participant"] for r in board["rows"]], board.get("stale")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_admin_ranking_change_reranks_in_the_worker(
    celery_worker, client, make_challenge, make_user
) -> None:
    organiser = make_user("org", is_staff=True, is_superuser=True)
    phase = _board(make_challenge, make_user, organiser)
    assert _api_order(client, phase)[:2] == ("primary", ["red", "blue"])

    client.force_login(organiser)
    data = _admin_form(client, phase)
    data["ranking_method"] = ["mean_rank"]
    # The task's own three ranking metrics, chosen explicitly (the form's selects).
    for slot, path in enumerate(["head.dice", "head.hd95", "head.hc_abs_diff_mm"], start=1):
        if f"ranking_metric_{slot}" in data:
            data[f"ranking_metric_{slot}"] = [path]
    data["_save"] = ["Save"]
    response = client.post(f"/admin/challenges/phase/{phase.pk}/change/", data)
    assert response.status_code == 302, _errors(response)
    assert Phase.objects.get(pk=phase.pk).ranking_method == "mean_rank"

    deadline = time.monotonic() + 60
    while _api_order(client, phase) != ("mean_rank", ["blue", "red"], False):
        assert time.monotonic() < deadline, (_api_order(client, phase), celery_worker.read_text())
        time.sleep(0.25)
    page = client.get(f"/phases/{phase.pk}/leaderboard/").content.decode()
    assert page.index(">blue<") < page.index(">red<")
    assert 'id="stale-notice"' not in page
    assert "Mean rank" in page  # the score ranked by, as its own column


@pytest.mark.django_db  # on_commit never fires inside the test's transaction: no worker runs
def test_stale_board_says_so_and_organisers_rerank_it(client, make_challenge, make_user) -> None:
    organiser = make_user("org")
    phase = _board(make_challenge, make_user, organiser)
    assert leaderboard_table(phase).stale is False

    phase.entry_selection = Phase.EntrySelection.LATEST  # from a shell: the board's rows stay
    phase.ranking_method = Phase.RankingMethod.MEAN_RANK
    phase.save()
    assert _api_order(client, phase) == ("mean_rank", ["red", "blue"], True)

    url = f"/phases/{phase.pk}/leaderboard/"
    public = client.get(url).content.decode()
    assert 'id="stale-notice"' in public and "out of date" in public
    assert 'id="recompute-board"' not in public  # only organisers get the button
    assert client.post(f"{url}recompute/").status_code == 404

    client.force_login(organiser)
    own = client.get(url).content.decode()
    assert 'id="recompute-board"' in own
    after = client.post(f"{url}recompute/", {"site": "hc18"}, follow=True)
    assert after.redirect_chain[-1][0] == f"{url}?site=hc18"
    assert _api_order(client, phase) == ("mean_rank", ["blue", "red"], False)
    assert 'id="stale-notice"' not in client.get(url).content.decode()


@pytest.mark.django_db
def test_only_board_settings_queue_a_recompute(
    make_challenge, make_user, django_capture_on_commit_callbacks
) -> None:
    from unittest import mock

    from challenges.board_triggers import RECOMPUTE_LEADERBOARD
    from challenges.tasks import recompute_leaderboard

    # The trigger sends the task by its registered name (it never imports the Celery module).
    assert recompute_leaderboard.name == RECOMPUTE_LEADERBOARD
    phase = _board(make_challenge, make_user)
    with mock.patch("challenges.board_triggers.current_app") as app:
        delay = app.send_task
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            phase.title = "Renamed"
            phase.daily_limit = 9
            phase.save()
        assert callbacks == [] and not delay.called
        for field, value in [
            ("ranking_method", "mean_rank"),
            ("ranking_metrics", [{"metric": "head.hd95"}]),
            ("entry_selection", "latest"),
            ("leaderboard_visibility", "hidden"),
        ]:
            delay.reset_mock()
            with django_capture_on_commit_callbacks(execute=True):
                setattr(phase, field, value)
                phase.save()
            delay.assert_called_once_with(RECOMPUTE_LEADERBOARD, args=(phase.pk,)), field
    # A new phase has no board to re-rank.
    with django_capture_on_commit_callbacks() as callbacks:
        Phase.objects.create(challenge=phase.challenge, slug="other", title="Other")
    assert callbacks == []
