"""Password guessing is throttled per username and per client address on both doors,
`/api/token/` and the login page (issue 9, item 12; OWASP Authentication Cheat Sheet,
"Protect against automated attacks")."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _limits() -> tuple[int, int]:
    return settings.LOGIN_FAILURES_PER_USERNAME, settings.LOGIN_FAILURES_PER_ADDRESS


def test_token_endpoint_answers_429_after_repeated_failures(make_user) -> None:
    make_user("ann")
    per_user, _ = _limits()
    api = APIClient()
    for _ in range(per_user):
        bad = api.post("/api/token/", {"username": "ann", "password": "wrong"})
        assert bad.status_code == 400
    blocked = api.post("/api/token/", {"username": "ann", "password": "wrong"})
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert "Too many failed" in blocked.json()["detail"]
    # The right password does not get through while the username is locked...
    right = api.post("/api/token/", {"username": "ann", "password": "pw-secret-123"})
    assert right.status_code == 429
    # ...and the same username from elsewhere is locked too (per-username counter).
    other = APIClient(REMOTE_ADDR="10.9.8.7")
    assert other.post("/api/token/", {"username": "ann", "password": "x"}).status_code == 429


def test_token_endpoint_limits_one_address_across_usernames(make_user) -> None:
    make_user("bob")
    _, per_address = _limits()
    api = APIClient(REMOTE_ADDR="192.0.2.5")
    for i in range(per_address):
        answer = api.post("/api/token/", {"username": f"guess{i}", "password": "wrong"})
        assert answer.status_code == 400
    assert api.post("/api/token/", {"username": "bob", "password": "x"}).status_code == 429
    # Another address is unaffected.
    fine = APIClient(REMOTE_ADDR="192.0.2.6").post(
        "/api/token/", {"username": "bob", "password": "pw-secret-123"}
    )
    assert fine.status_code == 200 and fine.json()["token"]


def test_success_before_the_limit_clears_the_username_counter(make_user) -> None:
    make_user("cyd")
    per_user, _ = _limits()
    api = APIClient()
    for _ in range(per_user - 1):
        api.post("/api/token/", {"username": "cyd", "password": "wrong"})
    ok = api.post("/api/token/", {"username": "cyd", "password": "pw-secret-123"})
    assert ok.status_code == 200
    for _ in range(per_user - 1):
        assert api.post("/api/token/", {"username": "cyd", "password": "no"}).status_code == 400


def test_login_page_shows_a_clear_message_when_throttled(client, make_user) -> None:
    make_user("dee")
    per_user, _ = _limits()
    for _ in range(per_user):
        page = client.post("/accounts/login/", {"username": "dee", "password": "wrong"})
        assert page.status_code == 200
    page = client.post("/accounts/login/", {"username": "dee", "password": "pw-secret-123"})
    assert page.status_code == 429
    assert int(page["Retry-After"]) > 0
    assert b"Too many failed log-in attempts" in page.content
    assert "_auth_user_id" not in client.session
    # The API door shares the same counter.
    assert APIClient().post("/api/token/", {"username": "dee", "password": "x"}).status_code == 429


def test_usernames_are_counted_case_insensitively(make_user) -> None:
    make_user("eve")
    per_user, _ = _limits()
    api = APIClient()
    for i in range(per_user):
        name = "EVE" if i % 2 else "eve"
        api.post("/api/token/", {"username": name, "password": "wrong"})
    assert api.post("/api/token/", {"username": "Eve", "password": "x"}).status_code == 429


def test_cache_configuration(tmp_path) -> None:
    from config.caches import cache_settings

    redis = cache_settings("redis://r:6379/3", tmp_path)["default"]
    assert redis["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis["LOCATION"] == "redis://r:6379/3"
    files = cache_settings("", tmp_path)["default"]
    assert files["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert str(tmp_path) in str(files["LOCATION"])


def test_api_has_anonymous_and_user_throttles() -> None:
    rest = settings.REST_FRAMEWORK
    assert "rest_framework.throttling.AnonRateThrottle" in rest["DEFAULT_THROTTLE_CLASSES"]
    assert "rest_framework.throttling.UserRateThrottle" in rest["DEFAULT_THROTTLE_CLASSES"]
    assert set(rest["DEFAULT_THROTTLE_RATES"]) >= {"anon", "user"}


def test_admin_login_is_throttled_like_the_other_doors(make_user) -> None:
    """The admin's own log-in page (the door to the most powerful accounts) counts failures
    in the same counters: the right password is refused once the username is locked."""
    from django.test import Client

    make_user("root-ish", is_staff=True, is_superuser=True)
    per_user, _ = _limits()
    client = Client()
    for _ in range(per_user):
        bad = client.post("/admin/login/", {"username": "root-ish", "password": "wrong"})
        assert bad.status_code == 200  # Django's "Please enter the correct username..."
    blocked = client.post("/admin/login/", {"username": "root-ish", "password": "pw-secret-123"})
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert "Too many failed" in blocked.content.decode()
    assert "_auth_user_id" not in client.session
    # The lock is shared: the API's door is closed for this username too.
    api = APIClient()
    assert api.post("/api/token/", {"username": "root-ish", "password": "x"}).status_code == 429


def test_admin_login_success_still_works(make_user) -> None:
    from django.test import Client

    make_user("ops", is_staff=True, is_superuser=True)
    client = Client()
    answer = client.post("/admin/login/?next=/admin/", {"username": "ops", "password": "pw-secret-123"})
    assert answer.status_code == 302 and client.session.get("_auth_user_id")
