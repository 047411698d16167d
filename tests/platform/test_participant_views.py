"""What a participant reads about their own work (issue 10, items 4, 5, 7, 8, 9, 10): own
scores per site with 95 % intervals (API, page, CLI text) also when the board is hidden,
measured counts, the daily quota and when it frees, the API's one error shape, the site's
own error pages with DEBUG off, and the model run's log with its stderr lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from challenges.models import Case, Challenge, Evaluation, Phase, Site, Submission, Team
from challenges.reports.document import _strategy
from django.utils import timezone
from rest_framework.test import APIClient
from web.forms import SubmissionForm

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _stats(mean: float, n_nan: int = 0) -> dict:
    return {"mean": mean, "std": 0.01, "median": mean, "ci95_low": mean - 0.02,
            "ci95_high": mean + 0.02, "n": 3, "n_nan": n_nan}  # fmt: skip


@pytest.fixture
def hidden_phase(make_user):
    """A phase whose leaderboard is hidden, two sites, and one scored model submission of
    alice's team with measured counts and a run log."""
    challenge = Challenge.objects.create(slug="heads", title="Heads", task_name="hc18")
    challenge.organisers.add(make_user("org"))
    phase = Phase.objects.create(
        challenge=challenge, slug="test", title="Test", leaderboard_visibility="hidden",
        ranking_metrics=[{"metric": "head.hd95"}], daily_limit=3,
        allowed_kinds=["predictions", "model"],
    )  # fmt: skip
    for name in ("north", "south"):
        site = Site.objects.create(challenge=challenge, name=name)
        Case.objects.create(phase=phase, case_id=f"{name}1", site=site,
                            spacing_row_mm=0.5, spacing_col_mm=0.5)  # fmt: skip
    alice = make_user("alice")
    team = Team.objects.create(challenge=challenge, name="Alice Lab")
    team.members.add(alice)
    sub = Submission.objects.create(
        phase=phase, creator=alice, team=team, kind="model", method_name="tiny", status="done",
        progress=1.0, params_total=1_234_567, params_trainable=1_000, params_source="measured",
        flops=4_120_000_000, latency_ms=12.34,
        inference={"status": "ok", "message": "the model finished.", "wall_seconds": 3.2,
                   "exit_code": 0, "log_tail": ["loading", "case 1 done"],
                   "log_streams": ["stderr", "stdout"], "details": {"run_id": "secret-run"}},
    )  # fmt: skip
    aggregates = {scope: {"head": {"dice": _stats(0.9 + d), "hd95": _stats(3 + d)}}
                  for scope, d in (("all", 0), ("north", 0.01), ("south", -0.01))}  # fmt: skip
    Evaluation.objects.create(submission=sub, results={"aggregates": aggregates, "cases": []})
    return phase, sub


def _api(user: str) -> APIClient:
    client = APIClient()
    assert client.login(username=user, password="pw-secret-123")
    return client


# --- item 4: own scores, also on a hidden board ----------------------------------------------


def test_owner_gets_own_scores_per_site_with_intervals_on_a_hidden_board(
    hidden_phase, make_user
) -> None:
    phase, sub = hidden_phase
    client = _api("alice")
    hidden = client.get(f"/api/phases/{phase.pk}/leaderboard/")
    assert hidden.status_code == 404 and "not public" in hidden.json()["detail"]  # says why
    data = client.get(f"/api/submissions/{sub.pk}/").json()
    scores = data["scores"]
    assert scores["sites"] == ["all", "north", "south"]
    assert [m["key"] for m in scores["metrics"]] == ["head.hd95", "head.dice"]  # ranked first
    assert scores["metrics"][0]["ranking"] and scores["metrics"][0]["higher_is_better"] is False
    assert scores["values"]["all"]["head.dice"]["mean"] == pytest.approx(0.9)
    assert scores["values"]["north"]["head.dice"]["ci95_low"] == pytest.approx(0.89)
    assert scores["values"]["south"]["head.hd95"]["ci95_high"] == pytest.approx(3.01)
    # Someone else's: 404, never their scores.
    make_user("bob")
    assert _api("bob").get(f"/api/submissions/{sub.pk}/").status_code == 404


def test_submission_page_shows_scores_measured_counts_and_run_log(hidden_phase) -> None:
    phase, sub = hidden_phase
    client = _api("alice")
    page = client.get(f"/submissions/{sub.pk}/").content.decode()
    assert 'id="scores-table"' in page and "All cases" in page and ">north<" in page
    assert "0.900 <span class=\"ci\">[0.880, 0.920]</span>" in page
    assert "leaderboard is not public" in page
    assert "1.23M" in page and "4.12 GFLOPs" in page and "12.3 ms" in page
    assert re.search(r'trainable <span class="pill"[^>]*>declared</span>', page)
    assert 'class="log-line log-stderr">loading</span>' in page
    assert "secret-run" not in page


def test_cli_report_prints_scores_and_measured_counts(hidden_phase) -> None:
    from fetalbench.report import format_measured, format_run, format_scores

    phase, sub = hidden_phase
    data = _api("alice").get(f"/api/submissions/{sub.pk}/").json()
    text = format_scores(data["scores"])
    assert "all cases" in text and "north" in text and "south" in text
    assert "head hd95 ↓ *" in text and "0.900 [0.880, 0.920]" in text
    assert "4.12 G" in format_measured(data) and "12.3 ms" in format_measured(data)
    # Only the total is measured; the trainable part is the participant's word.
    assert "total (measured)" in format_measured(data)
    assert "trainable (declared)" in format_measured(data)
    assert "! loading" in format_run(data["run"])
    assert data["run"]["log"][0] == {"text": "loading", "stream": "stderr"}
    assert "details" not in data["run"]


# --- item 7: quota -----------------------------------------------------------------------------


def test_quota_counts_team_and_own_submissions_and_says_when_a_slot_frees(
    hidden_phase, make_user
) -> None:
    from challenges.services.quota import daily_quota

    phase, sub = hidden_phase
    alice = sub.creator
    mate = make_user("mate")
    sub.team.members.add(mate)
    old = timezone.now() - timedelta(hours=20)
    Submission.objects.filter(pk=sub.pk).update(created_at=old)
    Submission.objects.create(phase=phase, creator=mate, team=sub.team, status="failed")
    Submission.objects.create(phase=phase, creator=mate, team=sub.team, status="queued")
    quota = daily_quota(phase, alice, sub.team)
    assert (quota.limit, quota.used, quota.remaining) == (3, 2, 1)
    assert quota.resets_at == old + timedelta(days=1)

    data = _api("alice").get(f"/api/phases/{phase.pk}/quota/").json()
    assert data["remaining"] == 1 and data["used"] == 2 and data["window_hours"] == 24
    assert data["resets_at"].startswith((old + timedelta(days=1)).isoformat()[:16])
    assert _api("org").get(f"/api/phases/{phase.pk}/quota/").json()["exempt"] is True

    page = _api("alice").get(f"/phases/{phase.pk}/").content.decode()
    assert "1 of 3</strong> submissions left" in page and 'id="quota-resets"' in page
    submit = _api("alice").get(f"/phases/{phase.pk}/submit/").content.decode()
    assert "1 of 3</strong>" in submit


def test_client_refuses_to_upload_when_no_quota_is_left(hidden_phase, tmp_path: Path) -> None:
    """The CLI asks first: a full day's quota stops it before a byte of the file is sent."""
    from fetalbench.api import ApiError, Client

    phase, sub = hidden_phase
    sent = []

    class Fake(Client):
        def _request(self, method, route, **kwargs):
            sent.append(route)
            if route == "phase":
                return {"max_upload_bytes": 10**9}
            if route == "quota":
                return {"limit": 3, "used": 3, "remaining": 0, "resets_at": "2030-01-01T10:00"}
            raise AssertionError(f"{route} must not be requested")

    archive = tmp_path / "big.zip"
    archive.write_bytes(b"PK" + b"\0" * 1000)
    with pytest.raises(ApiError, match="Daily limit reached.*2030-01-01T10:00.*nothing was"):
        Fake(token="t").submit(phase.pk, archive, {})
    assert sent == ["phase", "quota"]


# --- item 8: one error shape -----------------------------------------------------------------


def test_metadata_errors_have_a_readable_detail_and_the_cli_prints_it(hidden_phase) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fetalbench.api import _readable_error

    phase, sub = hidden_phase
    upload = SimpleUploadedFile("p.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")
    answer = _api("alice").post(
        "/api/submissions/",
        {"phase": phase.pk, "file": upload, "params_total": 10**14, "fine_tuning_strategy": "x"},
    )
    body = answer.json()
    assert answer.status_code == 400
    assert body["detail"].startswith("fine_tuning_strategy: ") or "params_total: " in body["detail"]
    assert "params_total: Ensure this value is less than or equal to" in body["detail"]
    assert set(body["fields"]) == {"params_total", "fine_tuning_strategy"}

    class Answer:
        status_code, text, reason = 400, "", "Bad Request"

        def json(self):
            return body

    assert _readable_error(Answer()) == body["detail"]  # what `fetalbench` prints


# --- item 9: error pages, DEBUG off by default -------------------------------------------------


def test_unknown_pages_get_the_sites_404_and_the_api_a_json_detail(client, make_user) -> None:
    page = client.get("/no/such/page/")
    assert page.status_code == 404
    text = page.content.decode()
    assert "Page not found" in text and 'class="topbar"' in text and "URLconf" not in text
    api = client.get("/api/no-such-thing/")
    assert api.status_code == 404 and api.json() == {"detail": "Not found."}
    # A missing object is said in words, not in Django's "No Submission matches the query".
    client.force_login(make_user("nosy"))
    missing = client.get("/api/submissions/987654/")
    assert missing.status_code == 404 and "does not exist" in missing.json()["detail"]


def test_server_error_page_uses_the_site_style_without_the_database(
    rf, django_assert_num_queries
) -> None:
    from config.errors import server_error
    from django.db import OperationalError

    with django_assert_num_queries(0):
        try:
            raise ValueError("boom")
        except ValueError:
            page = server_error(rf.get("/phases/1/"))
        try:
            raise OperationalError("db away")
        except OperationalError:
            api = server_error(rf.get("/api/phases/1/"))
    assert page.status_code == 500 and 'href="/static/web/site.css"' in page.content.decode()
    assert "Server error" in page.content.decode() and "boom" not in page.content.decode()
    assert api.status_code == 503 and api["Retry-After"] == "30" and b"detail" in api.content


def test_debug_is_off_unless_asked_and_the_local_key_still_works(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.DEBUG, len(settings.SECRET_KEY))"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", "DJANGO_SECRET_KEY")}
    env["FETALBENCH_VAR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", str(len((tmp_path / "secret_key").read_text()))]


# --- item 10: the run log keeps stderr --------------------------------------------------------


def test_failure_message_keeps_the_last_stderr_lines() -> None:
    """A Python model's traceback goes to stderr at once; its buffered stdout is flushed at
    exit, after it: the RuntimeError line must still be quoted."""
    from challenges.services.inference import describe_outcome
    from sandbox.outcome import Outcome, Status

    lines = ["Traceback (most recent call last):", "  File model.py", "RuntimeError: bad"]
    lines += [f"progress {i}" for i in range(40)]
    streams = ["stderr"] * 3 + ["stdout"] * 40
    outcome = Outcome(Status.CRASHED, "the model exited with code 1; see the last log lines.",
                      log_tail=lines, log_streams=streams)  # fmt: skip
    text = describe_outcome(outcome)
    assert "RuntimeError: bad" in text and "progress 39" in text
    assert "line(s) left out" in text


def test_failed_submission_says_it_has_no_per_case_results(hidden_phase) -> None:
    phase, sub = hidden_phase
    sub.status = Submission.Status.FAILED
    sub.save(update_fields=["status"])
    page = _api("alice").get(f"/submissions/{sub.pk}/").content.decode()
    assert "the submission failed, so no case was scored" in page
    assert "Shown once scoring is done" not in page


def test_fine_tuning_strategy_is_optional_and_blank_is_reported_as_not_stated(
    hidden_phase,
) -> None:
    phase, sub = hidden_phase
    page = _api("alice").get(f"/phases/{phase.pk}/submit/").content.decode()
    selected = re.search(r'<select name="fine_tuning_strategy"[^>]*>(.*?)</select>', page, re.S)
    assert selected and "required" not in selected.group(0).split(">")[0]
    assert re.search(r'<option value="" selected>Not stated / other</option>', selected.group(1))
    assert not SubmissionForm.base_fields["fine_tuning_strategy"].required
    sub.fine_tuning_strategy = Submission.Strategy.OTHER
    assert _strategy(sub) == "not stated"
    sub.fine_tuning_strategy = Submission.Strategy.LORA
    assert _strategy(sub) == "LoRA"
