"""End to end: `python -m reference_models reproduce --phase` against a live server.

Real PostgreSQL, Redis and a real Celery worker process (queues scoring,inference), the Django
live server over HTTP, and a phase whose hidden test set is 6 real HC18 images. Two
strategies of `unet-tiny` train for a few steps at 64x64, are exported to TorchScript, zipped
with their spec, submitted with their metadata through `fetalbench.api.Client`, run on the
hidden images by the platform, scored, and reported back in the printed table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from tests.reference_models.conftest import HC18, _mini_hc18_release

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

STRATEGIES = ("a", "scratch")  # decoder + head on a frozen random encoder; everything


@pytest.fixture(scope="module")
def hc18_truth_6(tmp_path_factory) -> Path:
    """6 real HC18 images imported by the evaluator's importer (images kept: the platform
    feeds them to the model)."""
    if not (HC18 / "training_set_pixel_size_and_HC.csv").is_file():
        pytest.skip(f"real HC18 data not found at {HC18} (see ../shared/data/README.md)")
    from evaluator.importers.hc18 import import_hc18

    base = tmp_path_factory.mktemp("hc18-6")
    import_hc18(_mini_hc18_release(base / "release", 6), base / "truth", progress=False)
    return base / "truth"


def _parameter_counts(checkpoint: Path, strategy: str) -> tuple[int, int]:
    """(total, trainable) of the trained model as `count_parameters` measures them."""
    from reference_models.nets.zoo import count_parameters
    from reference_models.training.checkpoints import model_from_checkpoint
    from reference_models.training.strategies import apply_strategy, get_strategy

    model, _ = model_from_checkpoint(checkpoint)
    apply_strategy(model, get_strategy(strategy))
    return count_parameters(model), count_parameters(model, trainable_only=True)


@pytest.mark.usefixtures("celery_worker")  # the session's one worker (tests/conftest.py)
def test_reproduce_submits_each_strategy_and_reports_platform_scores(
    make_user, make_challenge, hc18_truth_6, live_server, tmp_path, capsys
) -> None:
    from challenges.models import Submission
    from django.core.management import call_command

    from reference_models.cli import main

    _, phase = make_challenge(
        slug="fetal-head", daily_limit=0, allowed_kinds=["predictions", "model"]
    )
    call_command("load_truth", "fetal-head/test", str(hc18_truth_6), "--layout", "canonical")
    make_user("baseline")
    base = live_server.url
    token = requests.post(
        f"{base}/api/token/", data={"username": "baseline", "password": "pw-secret-123"}, timeout=30
    ).json()["token"]
    joined = requests.post(
        f"{base}/api/challenges/fetal-head/join/",
        data={"team_name": "Reference baselines"},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert joined.status_code == 200, joined.text

    status = main(
        ["reproduce", "--config", "cpu_quick", "--model", "unet-tiny"]
        + ["--strategies", ",".join(STRATEGIES), "--data", str(hc18_truth_6)]
        + ["--out", str(tmp_path / "runs"), "--size", "64", "--batch-size", "2"]
        + ["--epochs", "1", "--max-steps", "2", "--threads", "1", "--no-progress"]
        + ["--phase", str(phase.pk), "--token", token, "--url", base, "--wait-timeout", "120"]
    )
    out = capsys.readouterr()
    assert status == 0, out.err

    submissions = list(Submission.objects.filter(phase=phase).order_by("pk"))
    assert len(submissions) == len(STRATEGIES)
    for key, submission in zip(STRATEGIES, submissions, strict=True):
        assert submission.status == Submission.Status.DONE, submission.status_detail
        assert submission.kind == Submission.Kind.MODEL
        total, trainable = _parameter_counts(
            tmp_path / "runs" / f"unet-tiny-{key}" / "model.pt", key
        )
        assert submission.params_source == Submission.ParamsSource.MEASURED
        assert submission.params_total == total  # measured by the platform from the .pt file
        assert submission.params_trainable == trainable  # declared by reproduce
        assert submission.backbone == "unet-tiny"
        assert submission.method_name.startswith(f"reference unet-tiny strategy {key}:")
        expected = {"a": "decoder_only", "scratch": "from_scratch"}[key]
        assert submission.fine_tuning_strategy == expected
    # Strategy (a) trains only the decoder and head: fewer trainable than the whole.
    assert submissions[0].params_trainable < submissions[0].params_total
    assert submissions[1].params_trainable == submissions[1].params_total

    # One leaderboard row per participant: the baselines' best entry, with measured counts.
    board = requests.get(f"{base}/api/phases/{phase.pk}/leaderboard/", timeout=30).json()
    assert len(board["rows"]) == 1
    row = board["rows"][0]
    by_id = {s.pk: s for s in submissions}
    assert row["submission_id"] in by_id and row["params_source"] == "measured"
    assert row["params_total"] == by_id[row["submission_id"]].params_total

    # The printed table carries each submission id and the platform's score for it.
    table = [line for line in out.out.splitlines() if line.startswith("| unet-tiny |")]
    assert len(table) == len(STRATEGIES)
    assert "platform head dice" in out.out or "platform" in out.out.splitlines()[0]
    scores = {}
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert int(cells[-3]) in by_id
        assert re.fullmatch(r"\d\.\d{3}", cells[-2]), line
        assert int(cells[-1].replace(",", "")) == by_id[int(cells[-3])].params_total
        scores[int(cells[-3])] = float(cells[-2])
    # The table's score is the one the platform ranks by (the board's row agrees).
    assert scores[row["submission_id"]] == pytest.approx(row["score"], abs=5e-4)
