"""A run owns its submission by attempt, writes only what it owns, survives a database cut and
always ends what it started (issue 9, items 3, 5, 6 and 13), on the real PostgreSQL.

In-process tests call the very functions the worker runs; the database cut is done to a real
Celery worker: its transaction is made to wait on a table lock, then its sessions are ended
by PostgreSQL (`pg_terminate_backend`), exactly what a server restart does to them.
"""

from __future__ import annotations

import io
import tarfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from challenges.models import Evaluation, Submission
from challenges.services.scoring import run_scoring, score_predictions
from challenges.services.states import as_owner, claim, recover_stuck
from challenges.services.submissions import create_submission
from challenges.services.teams import join_challenge
from challenges.services.truth import load_truth
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tests.platform.conftest import make_predictions_zip, upload, wait_for_status


@pytest.fixture
def scored_phase(make_challenge, make_user, two_site_truth, settings):
    """A phase with the two-site truth set loaded and one participant in a team."""
    settings.SCORING_WORKERS = 1
    challenge, phase = make_challenge(daily_limit=0)
    user = make_user("participant")
    join_challenge(user, challenge, "Team P")
    load_truth(phase, two_site_truth)
    return phase, user


def _tar(members: dict[bytes, bytes]) -> bytes:
    """A tar whose member names are raw bytes (tarfile writes them as given)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", encoding="utf-8", errors="surrogateescape") as tar:
        for raw_name, data in members.items():
            info = tarfile.TarInfo(raw_name.decode("utf-8", "surrogateescape"))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# ------------------------------------------------------------------------------ item 5


@pytest.mark.django_db
def test_a_stalled_run_that_resumes_after_the_watchdog_stores_nothing(
    scored_phase, two_site_truth, tmp_path
) -> None:
    phase, user = scored_phase
    predictions = make_predictions_zip(two_site_truth, tmp_path / "p.zip")
    sub = create_submission(phase, user, upload(predictions), {"method_name": "U-Net"})
    stalled = claim(sub.pk)  # attempt 1 starts, then its worker stops (SIGSTOP, swap, GC...)
    assert stalled is not None and stalled.attempts == 1
    later = timezone.now() + settings.SUBMISSION_STATE_DEADLINE + timedelta(seconds=1)
    assert recover_stuck(now=later)["requeued"] == 1
    # Before anyone took it again, the stalled run wakes up: it may not score it.
    path = Path(stalled.file.path)
    assert as_owner(stalled, lambda: score_predictions(stalled, path)) == "superseded"
    sub.refresh_from_db()
    assert (sub.status, sub.attempts) == ("queued", 1)
    # Attempt 2 scores it; then the stalled run wakes up again: still nothing of it is kept.
    assert run_scoring(sub.pk) == "done"
    assert as_owner(stalled, lambda: score_predictions(stalled, path)) == "superseded"
    sub.refresh_from_db()
    assert (sub.status, sub.attempts) == ("done", 2)
    assert Evaluation.objects.filter(submission=sub).count() == 1


# ------------------------------------------------------------------------------ items 3, 13


@pytest.mark.django_db
def test_names_the_database_cannot_store_still_end_the_submission_failed(scored_phase) -> None:
    phase, user = scored_phase
    archive = _tar({b"predictions/\xff\xfe_HC.png": b"not a png", b"notes\x01\x1b[31m.txt": b"x"})
    from django.core.files.uploadedfile import SimpleUploadedFile

    sub = create_submission(
        phase, user, SimpleUploadedFile("my preds.tar", archive, "application/x-tar"), {}
    )
    assert run_scoring(sub.pk) == "failed"
    sub.refresh_from_db()
    assert sub.status == "failed"
    detail = sub.status_detail
    assert "\\xff\\xfe_HC.png" in detail, detail  # the participant's bytes, shown as escapes
    assert "\x00" not in detail and "\x1b" not in detail
    assert str(settings.MEDIA_ROOT) not in detail and "/dev/shm" not in detail
    assert "submission-" not in detail or "my preds.tar" in detail


@pytest.mark.django_db
def test_participant_text_is_private_printable_and_storable() -> None:
    from challenges.services.messages import participant_text

    media = Path(settings.MEDIA_ROOT)
    raw = (
        f"cannot open {media}/submissions/7/submission-7-x1y2.zip\n"
        "\x1b[31mred\x1b[0m and a NUL \x00 and a byte \udcff\n"
        "/dev/shm/fetalbench-unpack-host-1-2-abc/predictions/001_HC.png is bad\n"
        "[ONNXRuntimeError] /onnxruntime_src/onnxruntime/core/session.cc:42 failed"
    )
    text = participant_text(raw, stored_name="submission-7-x1y2.zip", original_name="mine.zip")
    assert str(media) not in text and "/dev/shm" not in text and "onnxruntime_src" not in text
    assert "mine.zip" in text and "predictions/001_HC.png" in text
    assert "red" in text and "\x1b" not in text
    assert "\\x00" in text and "\\xff" in text
    text.encode("utf-8")  # storable
    # A folder of the participant's own that merely ends like a server root stays whole, and
    # text that would display in another order than it reads is shown escaped.
    other = participant_text("member '/var/tmp/x.png' is absolute; see a\u202egnp.exe")
    assert "/var/tmp/x.png" in other and "\\u202e" in other and "\u202e" not in other


# ------------------------------------------------------------------------------ item 6


def _worker_sessions(cursor, node_prefix: str) -> list[tuple[int, str]]:
    cursor.execute(
        "SELECT pid, coalesce(wait_event_type, '') FROM pg_stat_activity "
        "WHERE application_name LIKE %s AND datname = current_database()",
        [node_prefix + "%"],
    )
    return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_database_cut_during_scoring_is_resumed_by_the_retry(
    celery_worker, make_challenge, make_user, two_site_truth, tmp_path
) -> None:
    challenge, phase = make_challenge(slug="cut", daily_limit=0)
    user = make_user("cut-participant")
    join_challenge(user, challenge, "Team Cut")
    load_truth(phase, two_site_truth)
    predictions = make_predictions_zip(two_site_truth, tmp_path / "p.zip")

    db = connection.settings_dict
    dsn = (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} dbname={db['NAME']} "
        f"user={db['USER']}"
    )
    blocker = psycopg.connect(dsn)
    admin = psycopg.connect(dsn, autocommit=True)
    node = "tests-"  # tests/live_worker.py names the worker's sessions after its node
    try:
        # Hold the evaluations table: the worker scores, then waits to store its evaluation.
        blocker.execute("LOCK TABLE challenges_evaluation IN EXCLUSIVE MODE")
        sub = create_submission(phase, user, upload(predictions), {"method_name": "cut"})
        deadline = time.monotonic() + 120
        with admin.cursor() as cursor:
            while not any(wait == "Lock" for _, wait in _worker_sessions(cursor, node)):
                assert time.monotonic() < deadline, "the worker never reached the evaluation"
                time.sleep(0.05)
            assert Submission.objects.get(pk=sub.pk).status == "scoring"
            # The cut: every session of the worker ends, as when PostgreSQL restarts.
            for pid, _ in _worker_sessions(cursor, node):
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        blocker.rollback()
        done = wait_for_status(sub.pk, timeout=60)
    finally:
        blocker.close()
        admin.close()
    assert done.status == "done", done.status_detail
    assert (
        done.attempts == 1
    )  # the retry took its own attempt back; nothing waited for the watchdog
    assert Evaluation.objects.filter(submission=done).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_503_while_the_database_is_away(client, settings) -> None:
    """With the database unreachable, pages and the API say "try again" (503), not 500."""
    settings.DEBUG = False
    real = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = 1  # nothing listens there: connections are refused
    try:
        client.raise_request_exception = False
        for url in ("/api/challenges/", "/"):
            response = client.get(url)
            assert response.status_code == 503, (url, response.status_code)
            assert response.headers.get("Retry-After")
    finally:
        connection.close()
        connection.settings_dict.update(real)


# ------------------------------------------------------------------------------ item 5, real worker

STALL_QUEUES = {"scoring": "stall-scoring", "inference": "stall-inference"}


def _worker_pids(node: str) -> list[int]:
    """Processes whose command line names the worker node (the worker and anything it ran)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"{node}@".encode() in cmdline:
                pids.append(int(entry.name))
    return pids


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_real_worker_stalled_past_the_deadline_stores_nothing_when_it_resumes(
    django_db_blocker, platform_var, make_challenge, make_user, two_site_truth, tmp_path
) -> None:
    """A worker is frozen (SIGSTOP) while it scores; the watchdog hands its submission to
    another run, which scores it; then the frozen worker resumes (SIGCONT) and finishes its
    own scoring: none of it is stored."""
    import os
    import signal

    from tests.live_worker import purge_queues, route_tasks_to, running_worker

    challenge, phase = make_challenge(slug="stall", daily_limit=0)
    user = make_user("stall-participant")
    join_challenge(user, challenge, "Team Stall")
    load_truth(phase, two_site_truth)
    predictions = make_predictions_zip(two_site_truth, tmp_path / "p.zip")
    purge_queues(list(STALL_QUEUES.values()))
    undo = route_tasks_to(STALL_QUEUES)
    log = platform_var / "stall-worker.log"
    db = connection.settings_dict
    dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} dbname={db['NAME']} " \
        f"user={db['USER']}"
    try:
        with running_worker(
            list(STALL_QUEUES.values()),
            platform_var,
            log,
            django_db_blocker,
            env={"FETALBENCH_SCORING_WORKERS": "1"},
            name="stall",
        ):
            node = f"stall-{os.getpid()}"
            sub, frozen = None, []
            for _ in range(5):  # until the worker is caught between claim and first write
                sub, frozen = _freeze_before_first_write(
                    dsn, node, phase, user, upload(predictions)
                )
                if frozen:
                    break
            assert frozen, "the worker was never caught validating (it scored too fast?)"
            try:
                later = timezone.now() + settings.SUBMISSION_STATE_DEADLINE + timedelta(seconds=1)
                assert recover_stuck(now=later)["requeued"] == 1
                assert run_scoring(sub.pk) == "done"  # "another worker" takes attempt 2
            finally:
                for pid in frozen:
                    os.kill(pid, signal.SIGCONT)
            deadline = time.monotonic() + 60
            while b"taken over while attempt 1 ran" not in log.read_bytes():
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
    finally:
        undo()
    sub.refresh_from_db()
    assert (sub.status, sub.attempts) == ("done", 2)
    assert Evaluation.objects.filter(submission=sub).count() == 1


def _freeze_before_first_write(dsn: str, node: str, phase, user, upload_file):
    """Submit; hold the submission's row while the worker validates (its next write, the
    move to "scoring", is a single autocommitted UPDATE), freeze the worker (SIGSTOP) once
    that UPDATE waits on the row, then let PostgreSQL finish it. Returns (submission, pids)
    or (submission, []) when the worker got past validating before the row was held."""
    import os
    import signal

    blocker = psycopg.connect(dsn)
    try:
        sub = create_submission(phase, user, upload_file, {"method_name": "s"})
        deadline = time.monotonic() + 60
        while True:
            (status,) = blocker.execute(
                "SELECT status FROM challenges_submission WHERE id = %s FOR UPDATE", [sub.pk]
            ).fetchone()
            if status == "validating":
                break
            blocker.rollback()
            if status != "queued":
                wait_for_status(sub.pk, timeout=60)
                return sub, []
            assert time.monotonic() < deadline, "the worker never claimed it"
            time.sleep(0.002)
        with psycopg.connect(dsn, autocommit=True) as admin:
            while not any(w == "Lock" for _, w in _worker_sessions(admin.cursor(), node)):
                assert time.monotonic() < deadline, "the worker never wrote again"
                time.sleep(0.02)
            frozen = _worker_pids(node)
            for pid in frozen:
                os.kill(pid, signal.SIGSTOP)
            blocker.rollback()  # its UPDATE completes in PostgreSQL; the worker sleeps on
            while True:  # ...and commits: no session of the frozen worker is busy any more
                busy = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s "
                    "AND datname = current_database() AND state <> 'idle'",
                    [node + "%"],
                ).fetchone()[0]
                if not busy:
                    break
                assert time.monotonic() < deadline, "the frozen worker's write never finished"
                time.sleep(0.02)
        return sub, frozen
    finally:
        blocker.close()
