"""A participant's whole journey in a real browser (Debian's Chromium driven by Playwright),
on real HC18 and PSFHS cases (issue 10): sign up, form a team with the first upload, watch the
status change live, then read their own scores (overall and per site, with 95 % intervals)
and what is left of the daily quota, on a phase whose public board is hidden; then the same
with the `fetalbench` command line, whose second upload is stopped before it is sent.

Runs against the live server, PostgreSQL, Redis and the session's real Celery worker.
Screenshots go to test-artifacts/screenshots/participant-*.png.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from challenges.models import Challenge, Phase, Submission
from challenges.services.truth import load_truth

from tests.platform.conftest import make_predictions_zip, wait_for_status
from tests.platform.test_browser_flow import scoring_held  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CI = re.compile(r"^\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]$")  # "0.912 [0.901, 0.925]"


@pytest.fixture
def hidden_phase(two_site_truth: Path, make_user) -> Phase:
    """Real HC18 + PSFHS heads (two sites), a hidden board and a limit of two a day."""
    organiser = make_user("org-hidden", is_staff=True)
    challenge = Challenge.objects.create(slug="real-heads", title="Real heads", task_name="hc18")
    challenge.organisers.add(organiser)
    phase = Phase.objects.create(
        challenge=challenge, slug="final", title="Final test", leaderboard_visibility="hidden",
        daily_limit=2, ranking_metrics=[{"metric": "head.dice"}],
    )  # fmt: skip
    load_truth(phase, two_site_truth)
    return phase


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fetalbench", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def _scores_table(page) -> dict[str, dict[str, str]]:
    """{metric key: {column header: cell text}} from the page's own-scores table."""
    headers = page.locator("#scores-table thead th").all_text_contents()
    table = {}
    for row in page.locator("#scores-table tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        table[row.get_attribute("data-metric")] = dict(zip(headers[1:], cells, strict=True))
    return table


def test_participant_signs_up_submits_on_the_web_and_cli_and_reads_own_scores_and_quota(
    celery_worker, live_server, browser, hidden_phase, two_site_truth, tmp_path: Path  # noqa: F811
) -> None:
    phase = hidden_phase
    SHOTS.mkdir(parents=True, exist_ok=True)
    web_zip = make_predictions_zip(two_site_truth, tmp_path / "web.zip", shift=2)
    cli_zip = make_predictions_zip(two_site_truth, tmp_path / "cli.zip", shift=5)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)

    # 1. Sign up, then open the phase: no team yet, so no quota line, and no board link.
    page.goto(f"{live_server.url}/accounts/signup/?next=/phases/{phase.pk}/submit/")
    page.fill("#id_username", "dana")
    page.fill("#id_password1", "dana-secret-pw-1")
    page.fill("#id_password2", "dana-secret-pw-1")
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"**/phases/{phase.pk}/submit/")
    assert "2 of 2" in page.inner_text("#quota")

    # 2. First upload names the new team; the page follows the status without reloading.
    with scoring_held():
        page.set_input_files("#id_file", str(web_zip))
        page.fill("#id_method_name", "U-Net (web)")
        page.fill("#id_team_name", "Dana Lab")
        page.fill("#id_params_total", "7765442")
        page.click("#submit-button")
        page.wait_for_url("**/submissions/*/")
        page.evaluate("() => { window.__same = true; }")
        status = page.eval_on_selector("#submission-status", "el => el.dataset.status")
        assert status == "queued", status
        assert page.is_hidden("#scores-panel")
        page.screenshot(path=str(SHOTS / "participant-queued.png"), full_page=True)
    page.wait_for_selector('#submission-status[data-status="done"]', timeout=180_000)
    assert page.evaluate("window.__same") is True, "the page was reloaded"
    page.wait_for_selector("#scores-table tbody tr")  # rendered live from the API
    web = Submission.objects.get(method_name="U-Net (web)")
    assert web.team.name == "Dana Lab"

    # 3. Own scores: overall and per site, each "mean [low, high]", on a hidden board.
    table = _scores_table(page)
    assert list(table["head.dice"]) == ["All cases", "hc18", "psfhs"]
    assert all(CI.match(cell) for cell in table["head.dice"].values()), table["head.dice"]
    assert "leaderboard is not public" in page.inner_text("#scores-panel")
    assert page.locator("a:has-text('Leaderboard')").count() == 0  # hidden board: no link
    assert not re.search("[↑↓]", page.inner_text("#scores-table tr[data-metric='head.hc_diff_mm']"))
    assert page.inner_text("#params-total") == "7.77M"
    page.screenshot(path=str(SHOTS / "participant-web-scores.png"), full_page=True)
    # A reload renders the same table on the server.
    page.reload()
    assert _scores_table(page)["head.dice"] == table["head.dice"]

    # 4. The phase page says one of two is left and when the slot frees.
    page.goto(f"{live_server.url}/phases/{phase.pk}/")
    quota = page.inner_text("#quota")
    assert "1 of 2 submissions left" in quota and "next slot frees" in quota
    assert page.locator("a:has-text('Leaderboard')").count() == 0  # the board is hidden
    page.screenshot(path=str(SHOTS / "participant-phase-quota.png"), full_page=True)

    # 5. The command line: log in, see the quota, submit and wait, read the scores.
    env = {**os.environ, "FETALBENCH_URL": live_server.url, "PYTHONPATH": str(ROOT),
           "FETALBENCH_CONFIG": str(tmp_path / "cfg.json")}  # fmt: skip
    env.pop("FETALBENCH_TOKEN", None)
    assert _cli("login", "-u", "dana", "-p", "dana-secret-pw-1", env=env).returncode == 0
    assert "1 of 2 submissions left" in _cli("quota", str(phase.pk), env=env).stdout
    done = _cli("submit", "--phase", str(phase.pk), str(cli_zip), "--method", "U-Net (cli)",
                "--params-total", "7765442", "--wait", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    assert "all cases" in done.stdout and "hc18" in done.stdout and "psfhs" in done.stdout
    cli_sub = Submission.objects.get(method_name="U-Net (cli)")
    assert wait_for_status(cli_sub.pk).status == "done"
    status = _cli("status", str(cli_sub.pk), env=env)
    assert re.search(r"head dice ↑ \*\s+\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", status.stdout), status.stdout
    assert "0 of 2 submissions left" in _cli("quota", str(phase.pk), env=env).stdout
    refused = _cli("submit", "--phase", str(phase.pk), str(cli_zip), "--method", "again", env=env)
    assert refused.returncode == 2 and "Daily limit reached" in refused.stderr
    assert "nothing was uploaded" in refused.stderr and "upload" not in refused.stderr.split("\n")[0][:6]
    assert not Submission.objects.filter(method_name="again").exists()

    # 6. The CLI's submission on the web: same scores; the quota is used up on the submit page.
    page.goto(f"{live_server.url}/submissions/{cli_sub.pk}/")
    cli_table = _scores_table(page)
    assert set(cli_table["head.dice"]) == {"All cases", "hc18", "psfhs"}
    assert cli_table["head.dice"] != table["head.dice"]  # a different (more shifted) upload
    page.screenshot(path=str(SHOTS / "participant-cli-scores.png"), full_page=True)
    page.goto(f"{live_server.url}/phases/{phase.pk}/submit/")
    # No form to fill in vain: the page says the quota is used up and when a slot frees.
    assert "0 of 2" in page.inner_text("#submit-blocked")
    assert page.locator("#submission-form").count() == 0
    page.screenshot(path=str(SHOTS / "participant-quota-used.png"), full_page=True)

    # 7. Unknown pages get the site's 404, not Django's debug page.
    answer = page.goto(f"{live_server.url}/no/such/page/")
    assert answer.status == 404 and "Page not found" in page.inner_text("#error-page")
    page.screenshot(path=str(SHOTS / "participant-404.png"), full_page=True)
    page.close()
