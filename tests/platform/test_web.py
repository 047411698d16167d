"""Web pages rendered by Django's test client: what each page shows, who may see it, and how
bad input is answered (a message on the form, never a crash)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from challenges.leaderboards import recompute
from challenges.models import Case, Challenge, Evaluation, Phase, Site, Submission, Team
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _stats(mean: float) -> dict:
    return {"mean": mean, "std": 0.01, "median": mean, "ci95_low": mean - 0.02,
            "ci95_high": mean + 0.02, "n": 3, "n_nan": 0}  # fmt: skip


@pytest.fixture
def board(make_user):
    """A public phase with two sites and three scored entries of different sizes."""
    challenge = Challenge.objects.create(slug="heads", title="Heads", task_name="hc18")
    phase = Phase.objects.create(
        challenge=challenge, slug="val", title="Validation",
        ranking_metrics=[{"metric": "head.dice"}],
    )  # fmt: skip
    for name in ("north", "south"):
        site = Site.objects.create(challenge=challenge, name=name)
        Case.objects.create(phase=phase, case_id=f"{name}1", site=site,
                            spacing_row_mm=0.5, spacing_col_mm=0.5)  # fmt: skip
    entries = [("Big Lab", "big", "full", 90_000_000, 0.97), ("Small Lab", "small", "lora",
               1_000_000, 0.95), ("Mid Lab", "mid", "decoder_only", 20_000_000, 0.90)]  # fmt: skip
    for team_name, method, strategy, params, dice in entries:
        user = make_user(team_name.lower().replace(" ", ""))
        team = Team.objects.create(challenge=challenge, name=team_name)
        team.members.add(user)
        sub = Submission.objects.create(
            phase=phase, creator=user, team=team, method_name=method, backbone="resnet34",
            fine_tuning_strategy=strategy, params_total=params, status="done", progress=1.0,
        )  # fmt: skip
        aggregates = {scope: {"head": {"dice": _stats(dice - d), "hd95": _stats(3 + d)}}
                      for scope, d in (("all", 0), ("north", 0.01), ("south", -0.01))}  # fmt: skip
        cases = [{"case": "north1", "site": "north", "flags": [],
                  "metrics": {"head": {"dice": dice, "hd95": 3.0}}}]  # fmt: skip
        Evaluation.objects.create(
            submission=sub, results={"aggregates": aggregates, "cases": cases}
        )
    recompute(phase)
    return phase


def test_home_challenge_and_phase_pages(client, board, make_user) -> None:
    home = client.get("/")
    assert home.status_code == 200 and b"Heads" in home.content
    page = client.get("/challenges/heads/")
    assert b"Log in to join" in page.content and b"Validation" in page.content
    make_user("dana", password="pw-dana-123")
    client.login(username="dana", password="pw-dana-123")
    assert b'id="join"' in client.get("/challenges/heads/").content
    joined = client.post("/challenges/heads/join/", {"team_name": "Dana Team"}, follow=True)
    assert b"Team: Dana Team" in joined.content
    phase_page = client.get(f"/phases/{board.pk}/")
    assert b"north" in phase_page.content and b'id="submit-link"' in phase_page.content
    assert client.get("/challenges/nope/").status_code == 404


def test_leaderboard_tabs_columns_and_exports(client, board) -> None:
    page = client.get(f"/phases/{board.pk}/leaderboard/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index(">big<") < html.index(">small<") < html.index(">mid<")  # ranked by dice
    # Headers in words with their direction (issue 10, item 6), not raw keys.
    assert (
        'Dice <span class="arrow">↑</span>' in html
        and 'HD95 (mm) <span class="arrow">↓</span>' in html
    )
    assert "0.970" in html and "± 0.02" in html and "90M" in html
    assert f"/api/phases/{board.pk}/leaderboard.csv" in html and "leaderboard.json" in html
    assert "?site=north" in html and "?site=south" in html
    south = client.get(f"/phases/{board.pk}/leaderboard/?site=south").content.decode()
    assert "0.980" in south and 'class="tab active">south' in south
    assert client.get(f"/phases/{board.pk}/leaderboard/?site=mars").status_code == 404
    csv_text = client.get(f"/api/phases/{board.pk}/leaderboard.csv?site=north").content.decode()
    assert csv_text.splitlines()[1].split(",")[4] == "big"


def test_pareto_page_embeds_the_table(client, board) -> None:
    page = client.get(f"/phases/{board.pk}/pareto/?site=north")
    assert page.status_code == 200
    html = page.content.decode()
    start = html.index('id="pareto-data"')
    start = html.index(">", start) + 1
    data = json.loads(html[start : html.index("</script>", start)])
    assert data["default_metric"] == "head.dice"
    assert {r["method_name"] for r in data["rows"]} == {"big", "small", "mid"}
    assert {r["params_total"] for r in data["rows"]} == {90_000_000, 1_000_000, 20_000_000}
    assert b"pareto.js" in page.content


def test_hidden_leaderboard_is_404_for_participants(client, board, make_user) -> None:
    board.leaderboard_visibility = "hidden"
    board.save()
    assert client.get(f"/phases/{board.pk}/leaderboard/").status_code == 404
    assert client.get(f"/phases/{board.pk}/pareto/").status_code == 404
    make_user("boss", password="pw-boss-123", is_superuser=True, is_staff=True)
    client.login(username="boss", password="pw-boss-123")
    assert client.get(f"/phases/{board.pk}/leaderboard/").status_code == 200


def test_submission_form_errors_and_rejections(client, board, make_user) -> None:
    assert client.get(f"/phases/{board.pk}/submit/").status_code == 302  # login first
    make_user("erin", password="pw-erin-123")
    client.login(username="erin", password="pw-erin-123")
    form = client.get(f"/phases/{board.pk}/submit/").content.decode()
    for field in ("method_name", "team_name", "backbone", "fine_tuning_strategy",
                  "params_total", "params_trainable", "paper_url", "code_url", "file"):  # fmt: skip
        assert f'name="{field}"' in form, field
    bad = client.post(f"/phases/{board.pk}/submit/", {"method_name": "", "params_total": "x",
                      "fine_tuning_strategy": "full"})  # fmt: skip
    assert bad.status_code == 200 and b"This field is required" in bad.content
    both = {"method_name": "m", "fine_tuning_strategy": "full", "params_total": 5,
            "params_trainable": 9, "file": SimpleUploadedFile("p.zip", b"PK")}  # fmt: skip
    assert b"Cannot exceed" in client.post(f"/phases/{board.pk}/submit/", both).content
    board.closes_at = timezone.now() - timedelta(days=1)
    board.save()
    closed = client.post(
        f"/phases/{board.pk}/submit/",
        {"method_name": "m", "fine_tuning_strategy": "full", "team_name": "Erin",
         "file": SimpleUploadedFile("p.zip", b"PK\x05\x06" + b"\0" * 18)},
    )  # fmt: skip
    assert closed.status_code == 200 and b"not open for submissions" in closed.content
    assert not Submission.objects.filter(creator__username="erin").exists()
    # A refused submission leaves no team behind: joining and submitting are one step.
    from challenges.models import Team

    assert not Team.objects.filter(name="Erin").exists()


def test_the_submit_page_says_at_once_when_an_upload_would_be_refused(
    client, board, make_user
) -> None:
    """A closed phase or a used-up quota is said before the file is chosen, not after it
    was uploaded (found by a user walk)."""
    make_user("gus", password="pw-gus-1234")
    client.login(username="gus", password="pw-gus-1234")
    board.daily_limit = 1
    board.save()
    client.post(
        f"/phases/{board.pk}/submit/",
        {"method_name": "m", "fine_tuning_strategy": "full", "team_name": "Gus",
         "file": SimpleUploadedFile("p.zip", b"PK\x05\x06" + b"\0" * 18)},
    )  # fmt: skip
    page = client.get(f"/phases/{board.pk}/submit/").content.decode()
    assert 'id="submit-blocked"' in page and "no submissions left" in page
    assert 'id="submission-form"' not in page
    board.daily_limit = 0
    board.closes_at = timezone.now() - timedelta(days=1)
    board.save()
    page = client.get(f"/phases/{board.pk}/submit/").content.decode()
    assert "not open for submissions" in page and 'id="submission-form"' not in page
    assert 'id="quota"' not in client.get(f"/phases/{board.pk}/").content.decode()


def test_the_submit_page_accepts_a_submission(client, board, make_user) -> None:
    """The page's own path (request.user is a lazy wrapper there, unlike in the API)."""
    make_user("fay", password="pw-fay-1234")
    client.login(username="fay", password="pw-fay-1234")
    sent = client.post(
        f"/phases/{board.pk}/submit/",
        {"method_name": "m", "fine_tuning_strategy": "full", "team_name": "Fay",
         "file": SimpleUploadedFile("p.zip", b"PK\x05\x06" + b"\0" * 18)},
    )  # fmt: skip
    made = Submission.objects.get(creator__username="fay")
    assert sent.status_code == 302 and sent["Location"].endswith(f"/submissions/{made.pk}/")


def test_submission_page_and_my_submissions_permissions(client, board, make_user) -> None:
    sub = Submission.objects.get(method_name="big")
    client.force_login(sub.creator)
    page = client.get(f"/submissions/{sub.pk}/").content.decode()
    assert 'data-status="done"' in page and f"/api/submissions/{sub.pk}/" in page
    assert f'data-cases-api="/api/submissions/{sub.pk}/cases/"' in page
    mine = client.get("/my/submissions/").content.decode()
    assert "big" in mine and ">small<" not in mine
    make_user("frank", password="pw-frank-123")
    client.login(username="frank", password="pw-frank-123")
    assert client.get(f"/submissions/{sub.pk}/").status_code == 404


def test_signup_login_logout(client) -> None:
    made = client.post("/accounts/signup/", {"username": "gina", "password1": "long-pass-42!",
                       "password2": "long-pass-42!"}, follow=True)  # fmt: skip
    assert made.status_code == 200 and b"gina" in made.content and b"Log out" in made.content
    client.post("/accounts/logout/")
    assert b"Log in" in client.get("/").content
    bad = client.post("/accounts/login/", {"username": "gina", "password": "nope"})
    assert bad.status_code == 200 and b"msg-error" in bad.content
