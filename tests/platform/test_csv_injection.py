"""The leaderboard CSV never hands a spreadsheet a formula from a participant's text
(issue 9, item 10; OWASP "CSV Injection")."""

from __future__ import annotations

import csv
import io

import pytest
from challenges.leaderboards import recompute
from challenges.models import Evaluation, Submission, Team
from hardening.csv_cells import neutralise

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.mark.parametrize("text", HOSTILE)
def test_neutralise_prefixes_formula_starts(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["U-Net", "resnet34", "", 12, -0.5, None, "a=b"])
def test_neutralise_leaves_other_cells(value) -> None:
    assert neutralise(value) == value


def test_csv_export_neutralises_participant_text(client, make_challenge, make_user) -> None:
    challenge, phase = make_challenge()
    for i, text in enumerate(HOSTILE):
        user = make_user(f"u{i}")
        team = Team.objects.create(challenge=challenge, name=f"@team{i}")
        team.members.add(user)
        sub = Submission.objects.create(
            phase=phase, creator=user, team=team, status="done", method_name=text,
            backbone="=cmd|' /C calc'!A0",
        )  # fmt: skip
        stats = {"mean": -0.25 + i / 10, "ci95_low": -1.0, "ci95_high": 1.0}
        Evaluation.objects.create(
            submission=sub, results={"aggregates": {"all": {"head": {"dice": stats}}}}
        )
    recompute(phase)
    body = client.get(f"/api/phases/{phase.pk}/leaderboard.csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == len(HOSTILE)
    assert sorted(r["method_name"] for r in rows) == sorted("'" + t for t in HOSTILE)
    for row in rows:
        assert row["backbone"] == "'=cmd|' /C calc'!A0"
        assert row["participant"].startswith("'@team")
        assert row["head.dice.ci95_low"] == "-1.0"  # numbers stay numbers
    assert float(rows[0]["head.dice.mean"]) < 1
    # JSON keeps the exact text: escaping is the CSV format's business only.
    data = client.get(f"/api/phases/{phase.pk}/leaderboard.json").json()
    assert sorted(r["method_name"] for r in data["rows"]) == sorted(HOSTILE)
