"""Bad input answers 4xx, never 500: NUL characters anywhere in a query (issue 9, item 9) and
open redirects after sign-up and login (item 11)."""

from __future__ import annotations

import pytest
from challenges.models import Site

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/api/phases/{pk}/leaderboard/?site=a%00b",
        "/api/phases/{pk}/leaderboard.csv?site=%00",
        "/api/phases/{pk}/leaderboard.json?site=x%00",
        "/api/phases/{pk}/leaderboard/?entries=all%00",
        "/api/phases/{pk}/leaderboard/?n%00ame=1",
        "/phases/{pk}/leaderboard/?site=%00",
        "/phases/{pk}/pareto/?site=s%00",
        "/api/submissions/?phase=1%00",
        "/?x=%00",
    ],
)
def test_nul_in_a_query_is_a_400(client, make_challenge, path: str) -> None:
    challenge, phase = make_challenge()
    Site.objects.create(challenge=challenge, name="s1")
    response = client.get(path.format(pk=phase.pk))
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_nul_in_a_path_segment_is_a_400(client, make_challenge) -> None:
    _, phase = make_challenge()
    response = client.get(f"/api/phases/{phase.pk}/leaderboard/sites/a%00b/")
    assert response.status_code == 400


def test_clean_queries_still_work(client, make_challenge) -> None:
    challenge, phase = make_challenge()
    Site.objects.create(challenge=challenge, name="s1")
    assert client.get(f"/api/phases/{phase.pk}/leaderboard/?site=s1").status_code == 200
    assert client.get(f"/api/phases/{phase.pk}/leaderboard/?site=zz").status_code == 404


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "http://evil.example", "javascript:alert(1)"],
)
def test_signup_never_redirects_off_site(client, target: str) -> None:
    response = client.post(
        f"/accounts/signup/?next={target}",
        {"username": "gina", "password1": "long-pass-42!", "password2": "long-pass-42!"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_signup_keeps_a_same_site_next(client) -> None:
    response = client.post(
        "/accounts/signup/?next=/my/submissions/",
        {"username": "gina", "password1": "long-pass-42!", "password2": "long-pass-42!"},
    )
    assert response.status_code == 302 and response["Location"] == "/my/submissions/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
def test_login_never_redirects_off_site(client, make_user, target: str) -> None:
    make_user("hana")
    response = client.post(
        "/accounts/login/", {"username": "hana", "password": "pw-secret-123", "next": target}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    response = client.post(
        f"/accounts/login/?next={target}", {"username": "hana", "password": "pw-secret-123"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
