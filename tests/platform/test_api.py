"""REST API shape and cost: token auth, schema, join, listing, and queries per request that
stay flat as the number of submissions grows."""

from __future__ import annotations

import pytest
from challenges.leaderboards import recompute
from challenges.models import Case, Evaluation, Site, Submission, Team
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _fill(phase, challenge, make_user, n: int, start: int = 0) -> None:
    site = Site.objects.get_or_create(challenge=challenge, name="s1")[0]
    Case.objects.get_or_create(
        phase=phase, case_id="c1", site=site, defaults={"spacing_row_mm": 1, "spacing_col_mm": 1}
    )
    for i in range(start, start + n):
        user = make_user(f"u{i}")
        team = Team.objects.create(challenge=challenge, name=f"team {i}")
        team.members.add(user)
        sub = Submission.objects.create(phase=phase, creator=user, team=team, status="done")
        stats = {"mean": i / 100, "ci95_low": 0.0, "ci95_high": 1.0}
        Evaluation.objects.create(
            submission=sub,
            results={
                "aggregates": {"all": {"head": {"dice": stats}}, "s1": {"head": {"dice": stats}}}
            },
        )
    recompute(phase)


def _queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow(make_challenge, make_user) -> None:
    challenge, phase = make_challenge()
    org = challenge.organisers.first()
    org.set_password("pw-secret-123")
    org.save()
    client = APIClient()
    client.login(username=org.username, password="pw-secret-123")
    urls = [
        f"/api/phases/{phase.pk}/leaderboard/",
        f"/api/phases/{phase.pk}/leaderboard/?site=s1",
        f"/api/phases/{phase.pk}/leaderboard.csv",
        "/api/submissions/",
        "/api/challenges/",
    ]
    _fill(phase, challenge, make_user, 3)
    small = {url: _queries(client, url) for url in urls}
    _fill(phase, challenge, make_user, 30, start=3)
    large = {url: _queries(client, url) for url in urls}
    assert large == small
    board = client.get(f"/api/phases/{phase.pk}/leaderboard/").json()
    assert len(board["rows"]) == 33 and board["rows"][0]["participant"] == "team 32"


def test_token_join_and_schema(make_challenge, make_user) -> None:
    make_challenge(slug="hc")
    make_user("ann")
    client = APIClient()
    bad = client.post("/api/token/", {"username": "ann", "password": "wrong"})
    assert bad.status_code == 400
    token = client.post("/api/token/", {"username": "ann", "password": "pw-secret-123"}).json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token['token']}")
    team = client.post("/api/challenges/hc/join/").json()
    assert team["name"] == "ann" and team["members"] == ["ann"]
    assert client.post("/api/challenges/nope/join/").status_code == 404
    challenges = client.get("/api/challenges/").json()  # paginated: count, next, results
    assert challenges["count"] == 1 and challenges["next"] is None
    first = challenges["results"][0]
    assert first["slug"] == "hc" and first["phases"][0]["slug"] == "test"
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/submissions/" in schema.content


def test_submission_errors_are_readable(make_challenge, make_user) -> None:
    challenge, phase = make_challenge()
    make_user("ann")
    client = APIClient()
    client.login(username="ann", password="pw-secret-123")
    missing = client.post("/api/submissions/", {"phase": phase.pk})
    # The documented shape (docs/api.md): a readable detail, field errors kept under "fields".
    assert missing.status_code == 400
    assert missing.json()["detail"] == "file: No file was submitted."
    assert "file" in missing.json()["fields"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("p.zip", b"PK", "application/zip")
    rejected = client.post("/api/submissions/", {"phase": phase.pk, "file": upload})
    assert rejected.status_code == 400 and "Join the challenge" in rejected.json()["detail"]
    unknown_site = client.get(f"/api/phases/{phase.pk}/leaderboard/?site=elsewhere")
    assert unknown_site.status_code == 404


def test_leaderboard_every_entry_api_and_exports(make_challenge, make_user) -> None:
    """`?entries=all`: one row per scored submission in the API, CSV and JSON; the default
    stays one row per team; an unknown value is a 400 that says what to send."""
    challenge, phase = make_challenge()
    _fill(phase, challenge, make_user, 2)
    team = Team.objects.get(name="team 0")
    extra = Submission.objects.create(
        phase=phase, creator=team.members.first(), team=team, status="done", method_name="again"
    )
    stats = {"mean": 0.5, "ci95_low": 0.4, "ci95_high": 0.6}
    Evaluation.objects.create(
        submission=extra,
        results={"aggregates": {"all": {"head": {"dice": stats}}, "s1": {"head": {"dice": stats}}}},
    )
    recompute(phase)
    client = APIClient()
    base = f"/api/phases/{phase.pk}/leaderboard"
    assert [r["participant"] for r in client.get(base + "/").json()["rows"]] == [
        "team 0",
        "team 1",
    ]
    every = client.get(base + "/?entries=all").json()
    assert every["entry_selection"] == "all"
    assert [(r["participant"], r["rank"]) for r in every["rows"]] == [
        ("team 0", 1),
        ("team 1", 2),
        ("team 0", 3),
    ]
    assert every["rows"][0]["submission_id"] == extra.pk
    site = client.get(base + "/sites/s1/?entries=all").json()
    assert site["site"] == "s1" and len(site["rows"]) == 3
    csv_response = client.get(base + ".csv?entries=all&site=s1")
    assert csv_response.status_code == 200
    assert "-s1-all-entries.csv" in csv_response["Content-Disposition"]
    assert len(csv_response.content.decode().splitlines()) == 4
    json_response = client.get(base + ".json?entries=all")
    assert "-all-all-entries.json" in json_response["Content-Disposition"]
    assert len(json_response.json()["rows"]) == 3
    bad = client.get(base + "/?entries=everything")
    assert bad.status_code == 400 and "entries=all" in bad.json()["detail"]
    assert client.get(base + ".csv?entries=1").status_code == 400
