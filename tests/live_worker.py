"""Start and stop a real Celery worker on the pytest-django test database.

Used by the session fixture `celery_worker` in tests/conftest.py (the platform and the
reference-model suites share that one worker) and by suites that need a worker of their own
on other queues (tests/platform/test_inference_hostile.py).

Stopping is thorough because the test database is dropped right after: the worker runs in a
process group of its own (its scoring pool and anything else it forks go down with it) and
connects under an application name of its own (its node name), so that after it has gone any
of its backends PostgreSQL still lists are ended. Otherwise PostgreSQL refuses the drop
("database test_... is being accessed by other users") and pytest-django only warns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def purge_queues(queues: list[str]) -> None:
    """Empty the queues, so that a worker does not pick up tasks of an earlier session."""
    from config.celery import app

    with app.connection_for_write() as conn:
        for queue in queues:
            with contextlib.suppress(Exception):  # a queue never used is empty
                conn.default_channel.queue_purge(queue)


def route_tasks_to(queues: dict[str, str]) -> Callable[[], None]:
    """Send run_inference/score_submission from this process (the live server's and the
    tests') to `queues` ({"inference": ..., "scoring": ...}); returns the undo. A worker of a
    test's own on those queues then gets them, not the session's shared worker."""
    from config.celery import app

    old = app.conf.task_routes
    routes = dict(old or {})
    routes["challenges.tasks.run_inference"] = {"queue": queues["inference"]}
    routes["challenges.tasks.score_submission"] = {"queue": queues["scoring"]}

    def apply(value) -> None:
        app.conf.task_routes = value
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)  # cached Router holds the old table

    apply(routes)
    return lambda: apply(old)


def worker_database_url() -> str:
    """The DATABASE_URL of the test database pytest-django created (skips without PostgreSQL:
    a worker process cannot share an in-memory or file SQLite test database)."""
    from django.db import connection

    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set: the worker tests need the real Redis")
    db = connection.settings_dict
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("DATABASE_URL does not point at PostgreSQL")
    return (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


@contextlib.contextmanager
def running_worker(
    queues: list[str],
    var: Path,
    log_path: Path,
    db_blocker: Any,
    *,
    env: dict[str, str] | None = None,
    name: str | None = None,
) -> Iterator[Path]:
    """`celery -A config worker -Q <queues>` on the test database with FETALBENCH_VAR=var,
    until it says "ready."; yields its log file and stops it (and its sessions) on exit.

    `db_blocker` is pytest-django's `django_db_blocker`: the database is opened only to end
    the worker's sessions at the end, never for the tests in between.
    """
    worker_env = dict(os.environ, **(env or {}))
    worker_env["DATABASE_URL"] = worker_database_url()
    worker_env["FETALBENCH_VAR"] = str(var)
    node = f"{name or 'tests'}-{os.getpid()}"
    worker_env["PGAPPNAME"] = node  # its database sessions' application_name (libpq)
    worker_env.setdefault("FETALBENCH_SCORING_WORKERS", "2")
    celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
    command = [celery, "-A", "config", "worker", "-Q", ",".join(queues), "--pool=solo"]
    command += ["-n", f"{node}@%h", "-l", "info"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=ROOT / "platform",
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with everything it forks
        )
    try:
        deadline = time.monotonic() + 60
        while b"ready." not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Celery worker did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield log_path
    finally:
        stop_process_group(proc)
        with db_blocker.unblock():
            end_worker_sessions(node)


def stop_process_group(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM the worker's process group (a warm shutdown), SIGKILL what is left after
    `timeout` seconds, and reap the worker."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the pool's children, if they outlived it
    proc.wait()


def wait_until_quiet(queues: list[str], timeout: float = 60.0, settle: int = 3) -> bool:
    """Wait until the platform's queues are empty and no other session on the test database
    is inside a statement or a transaction, `settle` polls in a row; False on timeout.

    A scored submission queues work that outlives its test (the board analysis, issue 12); a
    transactional test's teardown TRUNCATEs every table, and PostgreSQL ends one of the two
    as a deadlock when that work still reads them. Waiting here keeps the teardown alone.
    """
    from config.celery import app
    from django.db import connection

    if connection.vendor != "postgresql":
        return True
    busy = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
    )
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        waiting = 0
        with app.connection_for_read() as conn:
            for queue in queues:
                with contextlib.suppress(Exception):  # a queue never declared holds nothing
                    waiting += conn.default_channel.queue_declare(queue, passive=True).message_count
        with connection.cursor() as cursor:
            cursor.execute(busy)
            working = cursor.fetchone()[0]
        quiet = quiet + 1 if not waiting and not working else 0
        if quiet >= settle:
            return True
        time.sleep(0.2)
    return False


def end_worker_sessions(app_name: str, timeout: float = 5.0) -> list[int]:
    """Wait for the sessions a worker opened under `app_name` to close, then end any that
    remain; returns the backend pids that had to be ended (normally none). Other workers'
    sessions carry other names and are left alone."""
    from django.db import connection

    query = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = %s AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute(query, [app_name])
            pids = [row[0] for row in cursor.fetchall()]
            if not pids or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pids


def end_stray_sessions() -> list[str]:
    """End every other session on the test database; returns what each was last running.

    For the very end of a session that ran a worker or the live server, once both have
    stopped: anything still connected then is a leftover (a live-server request thread, a
    thread of a client library), and PostgreSQL would refuse to drop the database for it.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, left(query, 120) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        rows = cursor.fetchall()
        for pid, _ in rows:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    return [query for _, query in rows]
