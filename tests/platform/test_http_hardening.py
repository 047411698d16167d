"""Response headers and API shape that harden the site (issue 9, item 17): a
Content-Security-Policy on every page, HTTPS-only cookies and HSTS when FETALBENCH_HTTPS=1,
paginated lists, and an OpenAPI schema that documents what the views really answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/challenges/", "/api/docs/"])
def test_every_answer_carries_a_strict_csp(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "http" not in policy  # no CDN allowed


@pytest.mark.django_db
def test_swagger_page_loads_nothing_from_a_cdn(client) -> None:
    page = client.get("/api/docs/").content.decode()
    assert "cdn" not in page.lower() and '<script src="/static/' in page.replace("'", '"')


def _settings_in_subprocess(env_extra: dict[str, str], code: str) -> str:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", **env_extra)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "platform")])
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings;"
         + code], env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_https_mode_sets_secure_cookies_hsts_and_proxy_header(tmp_path) -> None:
    code = ("print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
            " settings.SECURE_HSTS_SECONDS > 0, settings.SECURE_PROXY_SSL_HEADER)")  # fmt: skip
    on = _settings_in_subprocess({"FETALBENCH_HTTPS": "1", "FETALBENCH_VAR": str(tmp_path)}, code)
    assert on.split() == ["True", "True", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')"]
    off = _settings_in_subprocess({"FETALBENCH_HTTPS": "0", "FETALBENCH_VAR": str(tmp_path)}, code)
    assert off.split() == ["False", "False", "False", "None"]


@pytest.mark.django_db
def test_list_endpoints_are_paginated(make_challenge) -> None:
    for i in range(3):
        make_challenge(slug=f"c{i}")
    api = APIClient()
    first = api.get("/api/challenges/?page_size=2").json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    assert [c["slug"] for c in second["results"]] == ["c2"] and second["next"] is None
    phases = api.get("/api/challenges/c0/phases/").json()
    assert phases["count"] == 1 and phases["results"][0]["slug"] == "test"
    assert api.get("/api/challenges/?page=99").status_code == 404


@pytest.mark.django_db
def test_schema_documents_errors_and_export_types() -> None:
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    paths = schema["paths"]
    board = paths["/api/phases/{id}/leaderboard/"]["get"]["responses"]
    assert {"200", "400", "404"} <= set(board)
    csv_ok = paths["/api/phases/{id}/leaderboard.csv"]["get"]["responses"]
    assert list(csv_ok["200"]["content"]) == ["text/csv"] and "404" in csv_ok
    json_ok = paths["/api/phases/{id}/leaderboard.json"]["get"]["responses"]
    assert list(json_ok["200"]["content"]) == ["application/json"]
    listed = paths["/api/challenges/"]["get"]
    assert {p["name"] for p in listed["parameters"]} >= {"page", "page_size"}
    submit = paths["/api/submissions/"]["post"]["responses"]
    assert {"201", "400", "413"} <= set(submit)
    assert "429" in paths["/api/token/"]["post"]["responses"]


@pytest.mark.django_db(transaction=True)
def test_client_follows_pages(live_server, make_challenge, make_user, monkeypatch) -> None:
    from challenges.api.pagination import Pages
    from challenges.models import Submission
    from rest_framework.authtoken.models import Token

    from fetalbench.api import Client

    monkeypatch.setattr(Pages, "page_size", 2)
    _, phase = make_challenge()
    user = make_user("pat")
    made = [Submission.objects.create(phase=phase, creator=user).pk for _ in range(5)]
    client = Client(live_server.url, Token.objects.create(user=user).key)
    assert sorted(s["id"] for s in client.submissions()) == sorted(made)
    assert [p["slug"] for p in client.challenge_phases("fetal-head")] == ["test"]
    assert client.phase(phase.pk)["max_upload_bytes"] > 0
