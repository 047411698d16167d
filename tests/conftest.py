"""Fixtures shared by every suite that drives the running platform (tests/platform,
tests/reference_models): the session's var folder, the settings that point at it, a live
Celery worker on the test database, and the domain objects tests start from. The Docker
fixtures every container-running suite shares are a plugin, tests/docker_fixtures.py, and so
is the Chromium every browser test drives, tests/browser_fixtures.py.

One worker per session, whoever asks first: two workers consuming the same queues would race
for each other's tasks, and one of them would not find the other's truth sets. pytest-django's
`live_server` is session-wide already; it is extended here only so that its request threads
leave no database session behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.live_worker import end_stray_sessions, purge_queues, running_worker, wait_until_quiet

#: Docker for every suite that runs containers: the daemon, image archives, offline builds.
pytest_plugins = ["tests.docker_fixtures", "tests.browser_fixtures"]

#: The queues the platform's tasks are routed to (config/celery.py).
PLATFORM_QUEUES = ["scoring", "inference"]


@pytest.fixture(scope="session")
def platform_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's var/ folder (uploads, truth sets, inference scratch), shared with the
    worker through FETALBENCH_VAR."""
    return tmp_path_factory.mktemp("fetalbench-var")


@pytest.fixture(scope="session")
def private_roots(platform_var: Path) -> Iterator[Path]:
    """Point MEDIA_ROOT/TRUTH_ROOT at the session folder, where the worker looks too."""
    from django.conf import settings

    old = settings.MEDIA_ROOT, settings.TRUTH_ROOT, settings.PASSWORD_HASHERS
    settings.MEDIA_ROOT = platform_var / "media"
    settings.TRUTH_ROOT = platform_var / "truth"
    # Tests create dozens of users: a fast hasher keeps them from dominating the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield platform_var
    settings.MEDIA_ROOT, settings.TRUTH_ROOT, settings.PASSWORD_HASHERS = old


@pytest.fixture(scope="session")
def _no_sessions_left(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Torn down after the worker and the live server (which request it first) and before
    pytest-django drops the test database: ends any session still connected to it, so the
    drop is not refused ("database test_... is being accessed by other users")."""
    yield
    with django_db_blocker.unblock():
        end_stray_sessions()


@pytest.fixture(scope="session")
def celery_worker(
    _no_sessions_left, django_db_setup, django_db_blocker, private_roots: Path
) -> Iterator[Path]:
    """`celery -A config worker -Q scoring,inference` on the test database for the rest of
    the session; yields its log file (in the session's var folder). Stopped, with its
    database sessions, before pytest-django drops the test database."""
    purge_queues(PLATFORM_QUEUES)
    log = private_roots / "worker.log"
    with running_worker(PLATFORM_QUEUES, private_roots, log, django_db_blocker) as log_path:
        yield log_path


@pytest.fixture(autouse=True)
def _worker_done_before_teardown(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the session's worker, let the work it queued (board analyses
    run after each scored submission) finish before the test's database is flushed.

    Set up after pytest-django's own autouse fixtures, so torn down before their flush."""
    yield
    if "celery_worker" in request.fixturenames:
        wait_until_quiet(PLATFORM_QUEUES)


@pytest.fixture(scope="session")
def live_server(_no_sessions_left, live_server):  # noqa: F811 - extends pytest-django's
    """pytest-django's live server, whose request threads close their database connection at
    the end of each request.

    With the site's CONN_MAX_AGE a request thread keeps its connection; one serving a client
    that keeps its HTTP connection alive (a requests.Session) never ends, so its database
    session outlived the tests and PostgreSQL refused to drop the test database ("being
    accessed by other users").
    """
    from django.db import connection

    old = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 0  # the dict every new thread's connection uses
    yield live_server
    connection.settings_dict["CONN_MAX_AGE"] = old


# --------------------------------------------------------------------------------------------
# Domain objects


@pytest.fixture
def make_user(django_user_model) -> Callable:
    def make(username: str, password: str = "pw-secret-123", **extra):
        return django_user_model.objects.create_user(username, password=password, **extra)

    return make


@pytest.fixture
def make_challenge(make_user) -> Callable:
    """A challenge (task hc18, binary head) with one open phase; returns (challenge, phase)."""

    def make(slug: str = "fetal-head", organiser=None, **phase_fields):
        from challenges.models import Challenge, Phase

        challenge = Challenge.objects.create(slug=slug, title=slug.title(), task_name="hc18")
        challenge.organisers.add(organiser or make_user(f"{slug}-organiser"))
        phase = Phase.objects.create(
            challenge=challenge, slug="test", title="Test phase", **phase_fields
        )
        return challenge, phase

    return make
