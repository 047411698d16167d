"""A phase whose task lists NSD ranks by it, through the real scoring worker (issue 12, item 5).

Two entries on the two-site real-data truth set (HC18 heads, PSFHS fetal heads): one shifts
every head 4 pixels, the other keeps it in place with a hole of a tenth of its area. Dice
prefers the shifted one (0.97 against 0.95), NSD at 2 mm the holed one (0.87 against 0.67: on
PSFHS, where a pixel is a "mm", the shift leaves much of the boundary beyond 2 pixels, while
the hole only adds a boundary), so the board's order says which metric ranked it.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from challenges.admin_forms import metric_choices
from challenges.leaderboards import leaderboard_table
from challenges.models import Evaluation, Phase
from challenges.services.submissions import create_submission
from challenges.services.teams import join_challenge
from challenges.services.truth import load_truth
from config.celery import app as celery_app
from django.core.exceptions import ValidationError

from evaluator.io.masks import read_label_map
from evaluator.tasks import get_task
from evaluator.truth import TruthSet
from tests.platform.conftest import upload, wait_for_status


def _holed(label: np.ndarray, fraction: float = 0.10) -> np.ndarray:
    """The label with a disc of ``fraction`` of its area cut out around its centroid."""
    rows, cols = np.nonzero(label)
    radius = int(np.sqrt(fraction * rows.size / np.pi))
    out = (label != 0).astype(np.uint8)
    cv2.circle(out, (int(cols.mean()), int(rows.mean())), radius, 0, -1)
    return out


def _predictions(truth: Path, out: Path, perturb) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for case in TruthSet.load(truth).cases:
            mask = perturb(read_label_map(Path(case.label_path)) != 0).astype(np.uint8)
            ok, png = cv2.imencode(".png", mask)
            assert ok
            archive.writestr(f"predictions/{case.case}.png", png.tobytes())
    return out


def _drain(log: Path, timeout: float = 120.0) -> None:
    """Wait until the worker has finished every queued task (each recompute queues the board
    analyses): the test database is emptied right after the test, and a task still writing
    then could deadlock with it (as in test_leaderboard_history)."""
    with celery_app.connection_for_write() as connection_:
        client = connection_.default_channel.client
        deadline = time.monotonic() + timeout
        while client.llen("scoring") or client.hlen("unacked"):
            assert time.monotonic() < deadline, log.read_text()[-4000:]
            time.sleep(0.25)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_phase_ranks_by_nsd_through_the_worker(
    celery_worker, client, make_challenge, make_user, two_site_truth, tmp_path
) -> None:
    challenge, phase = make_challenge(slug="nsd-ranked", daily_limit=0)
    # A default hc18 task does not carry NSD, so a phase cannot rank by it...
    phase.ranking_metrics = [{"metric": "head.nsd"}]
    with pytest.raises(ValidationError, match="'head.nsd' is not a metric of task 'hc18'"):
        phase.save()
    # ...until the challenge's task lists it.
    spec = get_task("hc18").to_dict()
    spec["metrics"] += ["nsd", "boundary_iou"]
    spec["nsd_tolerance_mm"] = 2.0
    challenge.task_spec = spec
    challenge.save()
    assert ("head.nsd", "head · nsd (higher is better)") in metric_choices(challenge)
    phase.save()
    load_truth(phase, two_site_truth)

    submissions = {}
    for name, perturb in (("shifted", lambda m: np.roll(m, 4, axis=1)), ("holed", _holed)):
        user = make_user(f"nsd-{name}")
        join_challenge(user, challenge, f"Team {name}")
        archive = _predictions(two_site_truth, tmp_path / f"{name}.zip", perturb)
        submissions[name] = create_submission(phase, user, upload(archive), {"method_name": name})
    for submission in submissions.values():
        assert wait_for_status(submission.pk).status == "done"

    results = {
        name: Evaluation.objects.get(submission=s, is_current=True).results
        for name, s in submissions.items()
    }
    means = {
        name: {m: doc["aggregates"]["all"]["head"][m]["mean"] for m in ("dice", "nsd")}
        for name, doc in results.items()
    }
    # The two metrics disagree, so the order below is NSD's.
    assert means["shifted"]["dice"] > means["holed"]["dice"]
    assert means["holed"]["nsd"] > means["shifted"]["nsd"]
    assert results["holed"]["task"]["nsd_tolerance_mm"] == 2.0

    def board_ready() -> bool:
        return len(leaderboard_table(Phase.objects.get(pk=phase.pk)).rows) == 2

    deadline = time.monotonic() + 60
    while not board_ready():
        assert time.monotonic() < deadline, celery_worker.read_text()[-4000:]
        time.sleep(0.25)
    table = leaderboard_table(phase)
    assert [(r.participant, r.rank) for r in table.rows] == [("Team holed", 1), ("Team shifted", 2)]
    nsd = table.columns[0]
    assert (nsd.key, nsd.ranking, nsd.higher_is_better) == ("head.nsd", True, True)
    assert {"head.dice", "head.boundary_iou"} <= {c.key for c in table.columns}
    for row in table.rows:
        doc = results[row.method_name]
        assert row.values["head.nsd"]["mean"] == pytest.approx(
            doc["aggregates"]["all"]["head"]["nsd"]["mean"], rel=1e-12
        )

    api = client.get(f"/api/phases/{phase.pk}/leaderboard/").json()
    assert [r["participant"] for r in api["rows"]] == ["Team holed", "Team shifted"]
    column = next(c for c in api["columns"] if c["key"] == "head.nsd")
    assert (column["ranking"], column["direction"]) == (True, "higher")
    # Each site's board ranks by it too: PSFHS (1-pixel "mm") is where the shift loses.
    psfhs = client.get(f"/api/phases/{phase.pk}/leaderboard/", {"site": "psfhs"}).json()
    assert [r["participant"] for r in psfhs["rows"]] == ["Team holed", "Team shifted"]
    _drain(celery_worker)
