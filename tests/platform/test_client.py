"""The `python -m fetalbench` client: streamed multipart body, readable errors, and the full
login -> submit --wait -> status -> leaderboard round trip against a live server and worker."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

import pytest
from challenges.models import Challenge, Phase, Submission
from challenges.services.truth import load_truth
from demo.baselines import BASELINES, write_baseline_zip
from demo.phantom import write_phantom_truth_set

from fetalbench.cli import format_leaderboard, main
from fetalbench.upload import MultipartFileStream

ROOT = Path(__file__).resolve().parents[2]


def test_multipart_stream_is_a_valid_body_and_reports_progress(tmp_path: Path) -> None:
    payload = os.urandom(300_000)
    path = tmp_path / "preds.zip"
    path.write_bytes(payload)
    seen: list[int] = []
    body = MultipartFileStream({"phase": "3", "method_name": "Ünet"}, "file", path, seen.append)
    chunks = []
    while chunk := body.read(65536):
        chunks.append(chunk)
    raw = b"".join(chunks)
    assert len(raw) == len(body) and seen[-1] == len(body)
    assert seen == sorted(seen) and len(seen) > 3  # several progress updates
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {body.content_type}\r\n\r\n".encode() + raw
    )
    parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
    assert parts["phase"].get_content() == "3"
    assert parts["method_name"].get_payload(decode=True).decode() == "Ünet"
    assert parts["file"].get_filename() == "preds.zip"
    assert parts["file"].get_payload(decode=True) == payload


def test_unreachable_server_gives_a_message_not_a_traceback(capsys, tmp_path: Path) -> None:
    code = main(["--url", "http://127.0.0.1:9", "--token", "x", "status", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the server" in err and "Traceback" not in err
    code = main(
        ["--url", "http://127.0.0.1:9", "--token", "x", "submit", "--phase", "1"]
        + [str(tmp_path / "missing.zip"), "--method", "m"]
    )
    assert code == 2 and "no such file" in capsys.readouterr().err


def test_format_leaderboard_shows_directions_and_ci() -> None:
    board = {
        "site": "all",
        "columns": [
            {"key": "head.dice", "label": "head dice", "higher_is_better": True},
            {"key": "head.hd95", "label": "head hd95", "higher_is_better": False},
        ],
        "rows": [
            {"rank": 1, "participant": "A", "method_name": "m", "fine_tuning_strategy": "full",
             "backbone": "r34", "params_total": 24_000_000, "params_source": "measured",
             "values": {"head.dice": {"mean": 0.95, "ci95_low": 0.94, "ci95_high": 0.96},
                        "head.hd95": {"mean": 2.5, "ci95_low": None, "ci95_high": None}}},
        ],
    }  # fmt: skip
    text = format_leaderboard(board)
    assert "head dice ↑" in text and "head hd95 ↓" in text
    # A measurement with no better side (the API's direction is null) gets no arrow.
    board["columns"].append(
        {"key": "head.hc_pred_mm", "label": "HC pred (mm)", "higher_is_better": False,
         "direction": None}
    )  # fmt: skip
    text = format_leaderboard(board)
    assert "HC pred (mm)" in text and "HC pred (mm) ↓" not in text
    assert "0.95 ± 0.01" in text and "24M*" in text
    assert "no entries" in format_leaderboard({"site": "site-a", "columns": [], "rows": []})


def test_format_leaderboard_shows_rank_intervals_and_ties() -> None:
    """The 95% rank interval and the tied mark the board shows, pending as '-'."""
    row = {"rank": 2, "participant": "A", "method_name": "m", "values": {}}
    board = {
        "site": "all",
        "columns": [],
        "rows": [
            {**row, "rank_low": 1, "rank_high": 3, "tied_with": [7]},
            {**row, "rank": 3, "rank_low": 3, "rank_high": 3, "tied_with": []},
            {**row, "rank": 4},
        ],
    }
    lines = format_leaderboard(board).splitlines()
    assert "95% ranks" in lines[0]
    assert lines[2].split()[:2] == ["2", "1-3"] and " ~ " in lines[2]
    assert lines[3].split()[:3] == ["3", "3", "A"]
    assert lines[4].split()[:3] == ["4", "-", "A"]
    assert "statistically tied" in lines[-1]


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fetalbench", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_login_submit_wait_status_leaderboard(
    celery_worker, live_server, make_user, tmp_path: Path
) -> None:
    make_user("carol", password="carol-secret-1")
    challenge = Challenge.objects.create(slug="cli-heads", title="CLI heads", task_name="hc18")
    phase = Phase.objects.create(challenge=challenge, slug="val", title="Val")
    truth = write_phantom_truth_set(tmp_path / "truth", "hc18", 1, seed=11)
    load_truth(phase, truth.root)
    archive = write_baseline_zip(truth, BASELINES[0], tmp_path / "p.zip")

    env = dict(os.environ)
    env.update(
        FETALBENCH_URL=live_server.url,
        FETALBENCH_CONFIG=str(tmp_path / "cfg.json"),
        PYTHONPATH=str(ROOT),
    )
    env.pop("FETALBENCH_TOKEN", None)
    done = _cli("login", "-u", "carol", "-p", "carol-secret-1", env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cfg.json").is_file()

    refused = _cli("submit", "--phase", str(phase.pk), str(archive), "--method", "m", env=env)
    assert refused.returncode == 2 and "Join the challenge" in refused.stderr

    from challenges.services.teams import join_challenge
    from django.contrib.auth import get_user_model

    join_challenge(get_user_model().objects.get(username="carol"), challenge, "Carol Lab")
    args = ["submit", "--phase", str(phase.pk), str(archive), "--method", "CLI U-Net"]
    args += ["--strategy", "decoder_only", "--backbone", "resnet34", "--params-total", "24436369"]
    args += ["--params-trainable", "3151697", "--wait"]
    done = _cli(*args, env=env)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "done" in done.stdout and "upload" in done.stderr  # tqdm bars go to stderr
    sub = Submission.objects.get(method_name="CLI U-Net")
    assert sub.status == "done" and sub.fine_tuning_strategy == "decoder_only"
    assert sub.params_trainable == 3151697 and sub.team.name == "Carol Lab"

    status = _cli("status", str(sub.pk), env=env)
    assert status.returncode == 0 and f"submission {sub.pk}: done" in status.stdout

    board = _cli("leaderboard", str(phase.pk), env=env)
    assert board.returncode == 0 and "CLI U-Net" in board.stdout and "↑" in board.stdout
    site = _cli("leaderboard", str(phase.pk), "--site", "site-b", "--csv", env=env)
    rows = list(csv.DictReader(io.StringIO(site.stdout)))
    assert site.returncode == 0 and rows[0]["method_name"] == "CLI U-Net"
    every = _cli("leaderboard", str(phase.pk), "--all-entries", "--csv", env=env)
    every_rows = list(csv.DictReader(io.StringIO(every.stdout)))
    assert every.returncode == 0 and [r["submission_id"] for r in every_rows] == [str(sub.pk)]
    missing = _cli("status", "999999", env=env)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
