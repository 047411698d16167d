"""Who sees what: hidden labels are unreachable, other teams' files and per-case results are
404, the admin is for staff, anonymous users read public leaderboards only, and no API
answer ever contains a server path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from challenges.leaderboards import recompute
from challenges.models import Evaluation, Phase, Submission, truth_dir
from challenges.services.submissions import create_submission
from challenges.services.teams import join_challenge
from challenges.services.truth import load_truth
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.platform.conftest import zip_bytes

pytestmark = pytest.mark.django_db
SECRET = "SECRET-LABEL-MARKER"


@pytest.fixture
def world(make_challenge, make_user, tmp_path):
    """A phase with a tiny synthetic truth set, two teams and one scored submission each."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from evaluator.truth import write_truth_set

    label = np.zeros((16, 16), np.uint8)
    label[4:12, 4:12] = 1
    truth = write_truth_set(
        tmp_path / "truth", [("case1", "s1", (0.5, 0.5), label, {"note": SECRET})]
    )
    organiser = make_user("org")
    challenge, phase = make_challenge(organiser=organiser)
    load_truth(phase, truth.root if hasattr(truth, "root") else tmp_path / "truth")
    subs = {}
    for name in ("red", "blue"):
        user = make_user(name)
        join_challenge(user, challenge, name)
        sub = create_submission(
            phase, user, SimpleUploadedFile("p.zip", zip_bytes({"case1.png": b"x"})), {}
        )
        Submission.objects.filter(pk=sub.pk).update(status="done")
        results = {
            "cases": [{"case": "case1", "site": "s1", "flags": [], "metrics": {"head": {}}}],
            "aggregates": {"all": {"head": {"dice": {"mean": 0.9}}}},
        }
        Evaluation.objects.create(submission=sub, results=results)
        subs[name] = sub
    recompute(phase)
    return phase, subs


def _api(username: str | None) -> APIClient:
    client = APIClient()
    if username:
        client.login(username=username, password="pw-secret-123")
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/truth/{p}/cases.csv",
        "/var/truth/{p}/cases.csv",
        "/media/submissions/",
        "/private-uploads-never-served/submissions/phase-{p}/",
        "/static/../truth/{p}/cases.csv",
        "/static/..%2f..%2ftruth/{p}/cases.csv",
        "/api/../truth/{p}/labels/case1.png",
        "/%2e%2e/var/truth/{p}/cases.csv",
        "/api/phases/{p}/truth/",
        "/api/phases/{p}/cases.csv",
    ],
)
def test_no_url_serves_truth_or_uploads(world, url) -> None:
    phase, _ = world
    assert (truth_dir(phase.pk) / "cases.csv").read_text().count(SECRET) == 1
    for client in (Client(), _api("red")):
        response = client.get(url.format(p=phase.pk))
        assert response.status_code in (301, 302, 400, 404), url
        body = b"".join(response) if response.streaming else response.content
        assert SECRET.encode() not in body


def test_other_teams_submissions_are_404(world) -> None:
    phase, subs = world
    blue = _api("blue")
    red_id = subs["red"].pk
    assert blue.get(f"/api/submissions/{red_id}/").status_code == 404
    assert blue.get(f"/api/submissions/{red_id}/cases/").status_code == 404
    listed = [s["id"] for s in blue.get("/api/submissions/").json()["results"]]
    assert listed == [subs["blue"].pk]
    assert _api("red").get(f"/api/submissions/{red_id}/cases/").status_code == 200
    assert _api("org").get(f"/api/submissions/{red_id}/cases/").status_code == 200
    assert _api(None).get(f"/api/submissions/{red_id}/cases/").status_code == 404


def test_per_case_everyone_makes_done_results_public(world) -> None:
    phase, subs = world
    phase.per_case_visibility = Phase.PerCaseVisibility.EVERYONE
    phase.save()
    assert _api(None).get(f"/api/submissions/{subs['red'].pk}/cases/").status_code == 200
    assert _api("blue").get(f"/api/submissions/{subs['red'].pk}/").status_code == 404


def test_admin_is_for_staff_only(world) -> None:
    for client in (Client(), _api("red")):
        response = client.get("/admin/challenges/submission/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_anonymous_reads_public_leaderboards_only(world) -> None:
    phase, _ = world
    anon = _api(None)
    assert anon.get(f"/api/phases/{phase.pk}/leaderboard/").status_code == 200
    assert anon.get(f"/api/phases/{phase.pk}/leaderboard.csv").status_code == 200
    assert anon.get("/api/submissions/").status_code in (401, 403)
    assert anon.post("/api/challenges/fetal-head/join/").status_code in (401, 403)
    phase.leaderboard_visibility = Phase.Visibility.HIDDEN
    phase.save()
    for url in ("leaderboard/", "leaderboard.csv", "leaderboard.json"):
        assert anon.get(f"/api/phases/{phase.pk}/{url}").status_code == 404
        assert _api("red").get(f"/api/phases/{phase.pk}/{url}").status_code == 404
        assert _api("org").get(f"/api/phases/{phase.pk}/{url}").status_code == 200


def test_api_answers_never_contain_server_paths(world) -> None:
    phase, subs = world
    forbidden = [str(settings.TRUTH_ROOT), str(settings.MEDIA_ROOT), "submissions/phase-", SECRET]
    urls = [
        "/api/challenges/",
        "/api/challenges/fetal-head/",
        f"/api/phases/{phase.pk}/",
        "/api/submissions/",
        f"/api/submissions/{subs['red'].pk}/",
        f"/api/submissions/{subs['red'].pk}/cases/",
        f"/api/phases/{phase.pk}/leaderboard/",
        f"/api/phases/{phase.pk}/leaderboard.json",
        "/api/schema/",
    ]
    for username in ("red", "org"):
        client = _api(username)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            body = response.content.decode()
            for needle in forbidden:
                assert needle not in body, (url, needle)
    fields = json.loads(_api("red").get(f"/api/submissions/{subs['red'].pk}/").content)
    assert "file" not in fields


def test_pages_hide_other_teams_submissions(world) -> None:
    from django.urls import NoReverseMatch, reverse

    phase, subs = world
    try:
        page = reverse("web:submission", args=[subs["red"].pk])
        board = reverse("web:leaderboard", args=[phase.pk])
    except NoReverseMatch:
        pytest.skip("web pages not present")
    blue = Client()
    blue.force_login(subs["blue"].creator)
    assert blue.get(page).status_code in (403, 404)
    assert Client().get(page).status_code in (302, 403, 404)
    red = Client()
    red.force_login(subs["red"].creator)
    assert red.get(page).status_code == 200
    assert Client().get(board).status_code == 200
    phase.leaderboard_visibility = Phase.Visibility.HIDDEN
    phase.save()
    assert Client().get(board).status_code in (403, 404)
    for client in (blue, red):
        body = client.get(page if client is red else board).content.decode()
        for needle in (str(settings.TRUTH_ROOT), str(settings.MEDIA_ROOT), SECRET):
            assert needle not in body
