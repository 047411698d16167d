"""End to end on PostgreSQL + Redis + a real Celery worker: an organiser loads a two-site
truth set (real HC18 and PSFHS heads), participants upload perturbed predictions over HTTP
(DRF client with a token, and `requests` against the live server), the worker scores them and
the leaderboards (overall and per site) and the CSV export match the evaluator run directly.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import requests
from challenges.models import Case, Site, Submission, truth_dir
from django.core.management import call_command
from rest_framework.test import APIClient

from evaluator.scoring import score_submission
from tests.platform.conftest import make_predictions_zip, wait_for_status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _token(client: APIClient, username: str) -> str:
    response = client.post(
        "/api/token/", {"username": username, "password": "pw-secret-123"}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def test_upload_score_and_leaderboards(
    celery_worker, two_site_truth: Path, make_user, make_challenge, live_server, tmp_path
) -> None:
    challenge, phase = make_challenge(slug="fetal-head", daily_limit=1)
    call_command("load_truth", "fetal-head/test", str(two_site_truth), "--layout", "canonical")
    assert Case.objects.filter(phase=phase).count() == 20
    assert sorted(Site.objects.filter(challenge=challenge).values_list("name", flat=True)) == [
        "hc18",
        "psfhs",
    ]
    assert (truth_dir(phase.pk) / "cases.csv").is_file()

    make_user("alice")
    make_user("bob")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {_token(api, 'alice')}")
    joined = api.post("/api/challenges/fetal-head/join/", {"team_name": "Team Alice"})
    assert joined.status_code == 200 and joined.json()["name"] == "Team Alice"

    # 1. An invalid submission: two cases missing, one extra file, one at the wrong size.
    bad = make_predictions_zip(
        two_site_truth, tmp_path / "bad.zip", drop=2, extra=True, wrong_size=1
    )
    with bad.open("rb") as handle:
        response = api.post(
            "/api/submissions/", {"phase": phase.pk, "file": handle, "method_name": "broken"}
        )
    assert response.status_code == 201, response.content
    failed = wait_for_status(response.json()["id"])
    assert failed.status == Submission.Status.FAILED
    detail = failed.status_detail
    cases = [c.case_id for c in Case.objects.filter(phase=phase).order_by("case_id")]
    assert "not_a_case_999" in detail
    for missing in cases[:2]:
        assert missing in detail, detail
    assert cases[2] in detail, detail  # the one at the wrong size
    assert "4 problem(s)" in detail, detail
    assert str(truth_dir(phase.pk)) not in detail

    # 2. A valid one from Alice: the failed one did not use up her daily limit of 1.
    good_a = make_predictions_zip(two_site_truth, tmp_path / "a.zip", shift=2)
    with good_a.open("rb") as handle:
        response = api.post(
            "/api/submissions/",
            {
                "phase": phase.pk,
                "file": handle,
                "method_name": "U-Net",
                "fine_tuning_strategy": "decoder_only",
                "params_total": 1000,
                "params_trainable": 100,
            },
        )
    assert response.status_code == 201, response.content
    alice_id = response.json()["id"]
    with good_a.open("rb") as handle:
        over = api.post("/api/submissions/", {"phase": phase.pk, "file": handle})
    assert over.status_code == 400 and "Daily limit" in over.json()["detail"]

    # 3. Bob goes through the live server with plain HTTP.
    base = live_server.url
    token = requests.post(
        f"{base}/api/token/", data={"username": "bob", "password": "pw-secret-123"}, timeout=30
    ).json()["token"]
    headers = {"Authorization": f"Token {token}"}
    assert requests.post(f"{base}/api/challenges/fetal-head/join/", headers=headers, timeout=30).ok
    good_b = make_predictions_zip(two_site_truth, tmp_path / "b.zip", shift=6)
    with good_b.open("rb") as handle:
        response = requests.post(
            f"{base}/api/submissions/",
            headers=headers,
            data={"phase": phase.pk, "method_name": "Shifted"},
            files={"file": ("b.zip", handle, "application/zip")},
            timeout=60,
        )
    assert response.status_code == 201, response.text
    bob_id = response.json()["id"]

    assert wait_for_status(alice_id).status == Submission.Status.DONE
    assert wait_for_status(bob_id).status == Submission.Status.DONE
    detail = requests.get(f"{base}/api/submissions/{bob_id}/", headers=headers, timeout=30).json()
    assert detail["status"] == "done" and detail["progress"] == 1.0

    # The evaluator, run directly on the same files, is the oracle.
    expected_a = score_submission("hc18", two_site_truth, good_a, workers=1, n_bootstrap=10)
    expected_b = score_submission("hc18", two_site_truth, good_b, workers=1, n_bootstrap=10)

    def mean(results: dict, scope: str, metric: str) -> float:
        return results["aggregates"][scope]["head"][metric]["mean"]

    board = api.get(f"/api/phases/{phase.pk}/leaderboard/").json()
    assert [r["participant"] for r in board["rows"]] == ["Team Alice", "bob"]
    assert [r["rank"] for r in board["rows"]] == [1, 2]
    columns = {c["key"]: c["higher_is_better"] for c in board["columns"]}
    assert columns["head.dice"] is True and columns["head.hd95"] is False
    for row, expected in zip(board["rows"], (expected_a, expected_b), strict=True):
        for metric in ("dice", "hd95", "assd"):
            assert row["values"][f"head.{metric}"]["mean"] == pytest.approx(
                mean(expected, "all", metric), rel=1e-9
            )
    for site in ("hc18", "psfhs"):
        site_board = requests.get(f"{base}/api/phases/{phase.pk}/leaderboard/?site={site}").json()
        assert site_board["site"] == site
        values = {r["submission_id"]: r["values"] for r in site_board["rows"]}
        assert values[alice_id]["head.dice"]["mean"] == pytest.approx(
            mean(expected_a, site, "dice"), rel=1e-9
        )
        assert values[bob_id]["head.hd"]["mean"] == pytest.approx(
            mean(expected_b, site, "hd"), rel=1e-9
        )

    exported = requests.get(f"{base}/api/phases/{phase.pk}/leaderboard.csv", timeout=30)
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["submission_id"]) for r in rows] == [alice_id, bob_id]
    assert float(rows[0]["head.dice.mean"]) == pytest.approx(mean(expected_a, "all", "dice"))
    assert float(rows[1]["head.hd95.mean"]) == pytest.approx(mean(expected_b, "all", "hd95"))

    # Per-case results: Alice sees hers; Bob gets 404 for hers (per_case_visibility=owners).
    own = api.get(f"/api/submissions/{alice_id}/cases/").json()
    assert len(own["cases"]) == 20
    by_case = {c["case"]: c for c in expected_a["cases"]}
    first = own["cases"][0]
    assert first["metrics"]["head"]["dice"] == pytest.approx(
        by_case[first["case"]]["metrics"]["head"]["dice"]
    )
    other = requests.get(f"{base}/api/submissions/{alice_id}/cases/", headers=headers, timeout=30)
    assert other.status_code == 404
