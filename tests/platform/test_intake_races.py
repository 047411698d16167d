"""Intake under pressure (issue 9, items 4 and 7): parallel uploads cannot beat the daily
limit, and metadata the database cannot store is refused before any file is kept.

Over real HTTP against the live server (a threaded WSGI server) on the real PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests
from challenges.models import Submission
from django.conf import settings

from tests.platform.conftest import zip_bytes

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pw-secret-123"


def _token(base: str, username: str) -> str:
    response = requests.post(
        f"{base}/api/token/", json={"username": username, "password": PASSWORD}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _stored_uploads() -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / "submissions"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.fixture(autouse=True)
def _no_worker_takes_them():
    """Tasks go to a queue no worker reads: a session worker that scored (and failed) the
    uploads meanwhile would free quota slots, since failed submissions do not count."""
    from tests.live_worker import purge_queues, route_tasks_to

    nowhere = {"scoring": "intake-races-unread", "inference": "intake-races-unread"}
    undo = route_tasks_to(nowhere)
    yield
    undo()
    purge_queues(["intake-races-unread"])


@pytest.fixture
def participant(live_server, make_challenge, make_user):
    from challenges.services.teams import join_challenge

    challenge, phase = make_challenge(slug="race", daily_limit=2)
    user = make_user("racer")
    join_challenge(user, challenge, "Racers")
    return live_server.url, phase, _token(live_server.url, "racer")


def test_parallel_uploads_do_not_beat_the_daily_limit(participant) -> None:
    base, phase, token = participant
    barrier = threading.Barrier(10)
    codes: list[int] = []

    def submit(number: int) -> None:
        data = zip_bytes({f"predictions/{number:03d}_HC.png": b"x" * (100 + number)})
        barrier.wait()
        response = requests.post(
            f"{base}/api/submissions/",
            headers={"Authorization": f"Token {token}"},
            data={"phase": phase.pk, "method_name": f"run {number}"},
            files={"file": (f"p{number}.zip", data, "application/zip")},
            timeout=60,
        )
        codes.append(response.status_code)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes).count(201) == 2, codes
    assert all(code in (201, 400, 429) for code in codes), codes
    assert Submission.objects.filter(phase=phase).count() == 2


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("params_total", str(2**63), "params_total"),
        ("params_total", str(10**14), "params_total"),
        ("params_trainable", "-1", "params_trainable"),
        ("method_name", "U-Net\x00", "method_name"),
    ],
)
def test_unstorable_metadata_is_refused_and_leaves_no_file(participant, field, value, words):
    base, phase, token = participant
    before = _stored_uploads()
    response = requests.post(
        f"{base}/api/submissions/",
        headers={"Authorization": f"Token {token}"},
        data={"phase": phase.pk, field: value},
        files={"file": ("p.zip", zip_bytes({"predictions/001_HC.png": b"x"}), "application/zip")},
        timeout=60,
    )
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert words in response.text
    assert Submission.objects.filter(phase=phase).count() == 0
    assert _stored_uploads() == before, "the refused upload was kept on disk"


def test_a_row_the_database_refuses_leaves_no_file(participant) -> None:
    """Whatever refuses the row after the file was stored (here PostgreSQL itself, through a
    trigger), the file goes too: no orphan upload on disk."""
    from django.db import connection

    base, phase, token = participant
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN "
            "IF NEW.method_name = 'boom' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON challenges_submission "
            "FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
        )
    try:
        before = _stored_uploads()
        response = requests.post(
            f"{base}/api/submissions/",
            headers={"Authorization": f"Token {token}"},
            data={"phase": phase.pk, "method_name": "boom"},
            files={"file": ("p.zip", zip_bytes({"a/001_HC.png": b"x"}), "application/zip")},
            timeout=60,
        )
        assert response.status_code >= 500
        assert Submission.objects.filter(phase=phase).count() == 0
        assert _stored_uploads() == before, "the refused submission's file was kept on disk"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_boom ON challenges_submission")
            cursor.execute("DROP FUNCTION refuse_boom()")


def test_leaving_for_a_fresh_team_does_not_reset_the_daily_limit(participant) -> None:
    from challenges.models import Team
    from challenges.services.submissions import SubmissionRejected, create_submission
    from challenges.services.teams import join_challenge, leave_team
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    _, phase, _ = participant
    user = get_user_model().objects.get(username="racer")

    def upload() -> SimpleUploadedFile:
        return SimpleUploadedFile("p.zip", zip_bytes({"a/001_HC.png": b"x"}), "application/zip")

    create_submission(phase, user, upload(), {})
    create_submission(phase, user, upload(), {})
    leave_team(user, Team.objects.get(name="Racers"))
    join_challenge(user, phase.challenge, "Racers Reborn")
    with pytest.raises(SubmissionRejected, match="Daily limit"):
        create_submission(phase, user, upload(), {})
