"""The embedded default (no DATABASE_URL / REDIS_URL): SQLite and kombu's filesystem broker
under a temporary FETALBENCH_VAR, driven entirely through subprocesses as `run.sh` does.

kombu's filesystem transport removes a message file when a worker takes it, so acks_late
cannot hand a message back after a hard crash; the watchdog is what recovers such a
submission. The test checks that recovery path on this broker too.
"""

from __future__ import annotations

import json
import os
import shutil
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

RECOVER = """
import json, time
from datetime import timedelta
from django.utils import timezone
from challenges.models import Submission
from challenges.services.pipeline import recover_stuck
sub = Submission.objects.get()
# What a worker killed with SIGKILL mid-scoring leaves behind: no message, state 'scoring'.
Submission.objects.filter(pk=sub.pk).update(
    status="scoring", attempts=1, state_changed_at=timezone.now() - timedelta(hours=2))
counts = recover_stuck()
deadline = time.time() + 120
while Submission.objects.get().status != "done":
    assert time.time() < deadline, Submission.objects.get().status_detail
    time.sleep(0.3)
sub = Submission.objects.get()
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


def test_embedded_sqlite_and_filesystem_broker(two_site_truth: Path, tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = _env(var)
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "shell", "-c", SETUP)
    out = _manage(env, "load_truth", "fetal-head/test", str(two_site_truth))
    assert "Loaded 20 cases" in out
    assert (var / "truth").is_dir() and not (var / "media" / "truth").exists()

    predictions = make_predictions_zip(two_site_truth, tmp_path / "p.zip", shift=4)
    celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [celery, "-A", "config", "worker", "-Q", "scoring,inference", "--pool=solo"]
            + ["-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT / "platform",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while b"ready." not in log_path.read_bytes():
            assert worker.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        assert "filesystem" in log_path.read_text()
        report = json.loads(
            _manage(env | {"PREDICTIONS_ZIP": str(predictions)}, "shell", "-c", SUBMIT)
            .strip()
            .splitlines()[-1]
        )
        recovered = json.loads(_manage(env, "shell", "-c", RECOVER).strip().splitlines()[-1])
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

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
    assert recovered == {
        "counts": {"requeued": 1, "failed": 0},
        "status": "done",
        "attempts": 2,
        "evaluations": 2,
    }
    assert not list((var / "broker" / "queue").glob("*.msg")), "messages left behind"
