"""Property-based fuzzing of the whole REST API from its own OpenAPI schema (schemathesis):
every operation, with valid and invalid inputs, as an authenticated participant, must never
answer 5xx (issue 9, item 17 and fuzz). Bounded: a few examples per operation.

Run by hand against any server (docs/security.md):
    .venv/bin/st run http://127.0.0.1:8000/api/schema/ --url http://127.0.0.1:8000 \
        -H "Authorization: Token $TOKEN" --checks not_a_server_error --max-examples 20
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from challenges.leaderboards import recompute
from challenges.models import Case, Challenge, Evaluation, Phase, Site, Submission, Team
from rest_framework.authtoken.models import Token

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MAX_EXAMPLES = int(os.environ.get("FETALBENCH_FUZZ_EXAMPLES", 8))


def _world(make_user) -> str:
    """A challenge with a scored board, a participant in a team, and that participant's token."""
    challenge = Challenge.objects.create(slug="fuzz", title="Fuzz", task_name="hc18")
    phase = Phase.objects.create(challenge=challenge, slug="val", title="Val")
    site = Site.objects.create(challenge=challenge, name="north")
    Case.objects.create(phase=phase, case_id="n1", site=site, spacing_row_mm=1, spacing_col_mm=1)
    user = make_user("fuzzer")
    team = Team.objects.create(challenge=challenge, name="Fuzz Lab")
    team.members.add(user)
    sub = Submission.objects.create(phase=phase, creator=user, team=team, status="done")
    stats = {"mean": 0.9, "ci95_low": 0.8, "ci95_high": 0.95}
    Evaluation.objects.create(submission=sub, results={
        "aggregates": {"all": {"head": {"dice": stats}}, "north": {"head": {"dice": stats}}},
        "cases": [{"case": "n1", "site": "north", "flags": [], "metrics": {"head": {"dice": 0.9}}}],
    })  # fmt: skip
    recompute(phase)
    return Token.objects.create(user=user).key


def test_no_operation_answers_5xx(live_server, make_user, settings, tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    if st is None:
        pytest.skip("schemathesis is not installed (pip install -r requirements.txt)")
    settings.SUBMISSION_MAX_BYTES = 64 * 1024  # fuzzed uploads stay small
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    token = _world(make_user)
    command = [
        st, "run", f"{live_server.url}/api/schema/", "--url", live_server.url,
        "-H", f"Authorization: Token {token}",
        "--checks", "not_a_server_error",
        "--max-examples", str(MAX_EXAMPLES),
        "--phases", "examples,coverage,fuzzing",
        "--request-timeout", "30", "--seed", "1", "--no-color",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=480, cwd=tmp_path,
        env=dict(os.environ, SCHEMATHESIS_HOOKS=""),
    )  # fmt: skip
    report = done.stdout[-12000:] + done.stderr[-3000:]
    assert done.returncode == 0, report  # schemathesis exits 1 on any failed check
    assert " passed" in done.stdout, report
