"""The embedded default (no DATABASE_URL / REDIS_URL): SQLite and kombu's filesystem broker
under a temporary FETALBENCH_VAR, driven entirely through subprocesses as `run.sh` does.

acks_late on kombu's filesystem transport: the transport deletes a message file as soon as a
worker takes it and keeps the unacknowledged message only in the worker's memory, so a worker
killed with SIGKILL mid-task loses it (a restarted worker gets nothing). The test shows exactly
that, then shows the watchdog recovering the submission on this broker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaluator.scoring import score_submission
from tests.platform.conftest import ROOT, make_predictions_zip

pytestmark = pytest.mark.slow

SETUP = """
from django.contrib.auth.models import User
from challenges.models import Challenge, Phase
org = User.objects.create_superuser("org", password="pw-secret-123")
User.objects.create_user("pat", password="pw-secret-123")
c = Challenge.objects.create(slug="fetal-head", title="Fetal head", task_name="hc18")
c.organisers.add(org)
Phase.objects.create(challenge=c, slug="test", title="Test")
"""

SUBMIT = """
import json, os, time
from rest_framework.test import APIClient
from challenges.models import Phase, Submission
phase = Phase.objects.get(challenge__slug="fetal-head", slug="test")
api = APIClient()
token = api.post("/api/token/", {"username": "pat", "password": "pw-secret-123"}).json()["token"]
api.credentials(HTTP_AUTHORIZATION="Token " + token)
assert api.post("/api/challenges/fetal-head/join/").status_code == 200
with open(os.environ["PREDICTIONS_ZIP"], "rb") as handle:
    created = api.post("/api/submissions/", {"phase": phase.pk, "file": handle})
assert created.status_code == 201, created.content
sid = created.json()["id"]
deadline = time.time() + 120
while api.get(f"/api/submissions/{sid}/").json()["status"] not in ("done", "failed"):
    assert time.time() < deadline, "scoring timed out"
    time.sleep(0.3)
print(json.dumps({
    "submission": api.get(f"/api/submissions/{sid}/").json(),
    "board": api.get(f"/api/phases/{phase.pk}/leaderboard/").json(),
    "hc18": api.get(f"/api/phases/{phase.pk}/leaderboard/?site=hc18").json(),
}))
"""

SUBMIT_ONLY = """
import os
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from challenges.models import Phase
from challenges.services.submissions import create_submission
phase = Phase.objects.get(challenge__slug="fetal-head", slug="test")
with open(os.environ["PREDICTIONS_ZIP"], "rb") as handle:
    upload = SimpleUploadedFile("p.zip", handle.read())
print(create_submission(phase, User.objects.get(username="pat"), upload, {}).pk)
"""

RECOVER = """
import json, os, time
from datetime import timedelta
from django.utils import timezone
from challenges.models import Submission
from challenges.services.states import recover_stuck
sid = int(os.environ["SUBMISSION_ID"])
# Past the deadline, as the beat task would find it half an hour later.
Submission.objects.filter(pk=sid).update(state_changed_at=timezone.now() - timedelta(hours=2))
counts = recover_stuck()
deadline = time.time() + 120
while Submission.objects.get(pk=sid).status != "done":
    assert time.time() < deadline, Submission.objects.get(pk=sid).status_detail
    time.sleep(0.3)
sub = Submission.objects.get(pk=sid)
print(json.dumps({"counts": counts, "status": sub.status, "attempts": sub.attempts,
                  "evaluations": sub.evaluations.count()}))
"""


def _env(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(FETALBENCH_VAR=str(var), FETALBENCH_SCORING_WORKERS="1", LOG_LEVEL="WARNING")
    return env


def _manage(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def _start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
    with open(log_path, "ab") as log:
        worker = subprocess.Popen(
            [celery, "-A", "config", "worker", "-Q", "scoring,inference", "--pool=solo"]
            + ["-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT / "platform",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while log_path.read_bytes().count(b"ready.") < _start_worker.started + 1:
        assert worker.poll() is None and time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.1)
    _start_worker.started += 1
    return worker


_start_worker.started = 0


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _status(var: Path, submission_id: int) -> str:
    with sqlite3.connect(var / "db.sqlite3", timeout=30) as db:
        row = db.execute(
            "SELECT status FROM challenges_submission WHERE id = ?", (submission_id,)
        ).fetchone()
    return row[0]


def test_embedded_sqlite_and_filesystem_broker(two_site_truth: Path, tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = _env(var)
    _start_worker.started = 0
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "shell", "-c", SETUP)
    out = _manage(env, "load_truth", "fetal-head/test", str(two_site_truth))
    assert "Loaded 20 cases" in out
    assert (var / "truth").is_dir() and not (var / "media" / "truth").exists()
    queue = var / "broker" / "queue"

    predictions = make_predictions_zip(two_site_truth, tmp_path / "p.zip", shift=4)
    log_path = tmp_path / "worker.log"
    with_zip = env | {"PREDICTIONS_ZIP": str(predictions)}
    worker = _start_worker(env, log_path)
    try:
        assert "filesystem" in log_path.read_text()
        report = _last_json(_manage(with_zip, "shell", "-c", SUBMIT))

        # Hard-kill the worker mid-task: the message is gone from the filesystem queue.
        sid = int(_manage(with_zip, "shell", "-c", SUBMIT_ONLY).strip().splitlines()[-1])
        deadline = time.monotonic() + 60
        while (status := _status(var, sid)) == "queued":
            assert time.monotonic() < deadline, "the worker never took the submission"
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed_mid_task = status in ("validating", "scoring") and _status(var, sid) == status
        print(f"worker killed while {status}; mid-task: {killed_mid_task}")
        if killed_mid_task:
            assert not list(queue.glob("*.msg")), "filesystem transport kept the message"
            worker = _start_worker(env, log_path)
            time.sleep(2)
            assert _status(var, sid) == status, "message was redelivered after SIGKILL"
        else:  # the worker finished first (very fast machine): recover a done one
            worker = _start_worker(env, log_path)
            _manage(
                env,
                "shell",
                "-c",
                f"from challenges.models import Submission; "
                f"Submission.objects.filter(pk={sid}).update(status='scoring')",
            )
        recovered = _last_json(_manage(env | {"SUBMISSION_ID": str(sid)}, "shell", "-c", RECOVER))
    finally:
        _stop(worker)

    assert report["submission"]["status"] == "done", report["submission"]["status_detail"]
    expected = score_submission("hc18", two_site_truth, predictions, workers=1, n_bootstrap=10)
    row = report["board"]["rows"][0]
    for metric in ("dice", "hd95", "hc_abs_diff_mm"):
        key = f"head.{metric}"
        if key in row["values"]:
            assert row["values"][key]["mean"] == pytest.approx(
                expected["aggregates"]["all"]["head"][metric]["mean"], rel=1e-9
            )
    assert report["hc18"]["rows"][0]["values"]["head.dice"]["mean"] == pytest.approx(
        expected["aggregates"]["hc18"]["head"]["dice"]["mean"], rel=1e-9
    )
    assert recovered["counts"] == {"requeued": 1, "failed": 0}
    assert recovered["status"] == "done"
    assert recovered["attempts"] == 2
    assert not list(queue.glob("*.msg")), "messages left behind"
