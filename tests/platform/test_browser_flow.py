"""The participant's journey in a real browser (Debian's Chromium driven by Playwright):
log in through the form, upload a zip through the submission form, watch the status turn to
"done" on the same page without a reload, then open the leaderboard and the Pareto plot.

Runs against pytest-django's live server, PostgreSQL, Redis and a real Celery worker (the
`celery_worker` fixture from conftest.py). Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from challenges.models import Challenge, Phase, Submission
from challenges.services.submissions import create_submission
from challenges.services.teams import join_challenge
from challenges.services.truth import load_truth
from demo.baselines import BASELINES, write_baseline_zip
from demo.phantom import write_phantom_truth_set
from django.core.files import File

from tests.browser_fixtures import SHOTS
from tests.platform.conftest import wait_for_status

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]




@pytest.fixture
def demo_phase(tmp_path: Path, make_user):
    """A small HC18-style phantom phase (2 cases x 3 sites) with its hidden truth loaded."""
    organiser = make_user("org", is_superuser=True, is_staff=True)
    challenge = Challenge.objects.create(
        slug="phantom-heads", title="Phantom heads", task_name="hc18"
    )
    challenge.organisers.add(organiser)
    phase = Phase.objects.create(
        challenge=challenge,
        slug="validation",
        title="Validation",
        ranking_metrics=[{"metric": "head.dice"}],
        per_case_visibility="everyone",
    )
    truth = write_phantom_truth_set(tmp_path / "truth", "hc18", n_per_site=2, seed=7)
    load_truth(phase, truth.root)
    return phase, truth


def _submit_baselines(phase: Phase, truth, tmp_path: Path, n: int, make_user) -> list[int]:
    """Baselines from other teams: they fill the plot and keep the worker busy for a moment."""
    ids = []
    for baseline in BASELINES[:n]:
        user = make_user(baseline.team.lower().replace(" ", "-"))
        join_challenge(user, phase.challenge, baseline.team)
        zip_path = write_baseline_zip(truth, baseline, tmp_path / f"{baseline.team}.zip")
        with zip_path.open("rb") as handle:
            sub = create_submission(
                phase, user, File(handle, name="predictions.zip"), baseline.metadata()
            )
        ids.append(sub.pk)
    return ids


@contextmanager
def scoring_held(queue: str = "scoring") -> Iterator[None]:
    """The session worker stops taking `queue` tasks until the block ends (Celery remote
    control through the real broker), so a page can be seen while its submission waits.

    Waiting on "the worker is still busy with other submissions" raced: scoring got fast
    enough that the page sometimes loaded after everything was done.
    """
    from config.celery import app

    if not app.control.cancel_consumer(queue, reply=True, timeout=30):
        pytest.fail("the Celery worker did not answer the request to stop consuming")
    try:
        yield
    finally:
        app.control.add_consumer(queue, reply=True, timeout=30)


def test_submit_watch_live_status_then_leaderboard_and_pareto(
    celery_worker, live_server, browser, demo_phase, make_user, tmp_path: Path
) -> None:
    phase, truth = demo_phase
    make_user("alice", password="alice-secret-1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    ours = write_baseline_zip(truth, BASELINES[2], tmp_path / "ours.zip", seed=3)
    with scoring_held():
        baseline_ids = _submit_baselines(phase, truth, tmp_path, 4, make_user)

        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.set_default_timeout(30_000)

        # 1. Log in through the form.
        page.goto(f"{live_server.url}/accounts/login/?next=/phases/{phase.pk}/submit/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "alice-secret-1")
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"**/phases/{phase.pk}/submit/")

        # 2. Upload through the web form with the full method description.
        page.set_input_files("#id_file", str(ours))
        page.fill("#id_method_name", "SAM-B LoRA (browser)")
        page.fill("#id_team_name", "Team Alice")
        page.fill("#id_backbone", "vit_b")
        page.select_option("#id_fine_tuning_strategy", "lora")
        page.fill("#id_params_total", "93735472")
        page.fill("#id_params_trainable", "786432")
        page.fill("#id_code_url", "https://example.org/alice")
        page.click("#submit-button")
        page.wait_for_url("**/submissions/*/")
        submission_url = page.url
        submission = Submission.objects.get(method_name="SAM-B LoRA (browser)")
        assert submission.team.name == "Team Alice" and submission.params_trainable == 786432

        # 3. The status changes on this very page: mark the document, record every status shown.
        page.evaluate(
            """() => {
            window.__sameDocument = true;
            const el = document.getElementById('submission-status');
            window.__seen = [el.dataset.status];
            new MutationObserver(() => window.__seen.push(el.dataset.status))
              .observe(el, {attributes: true, attributeFilter: ['data-status']});
        }"""
        )
        initial = page.eval_on_selector("#submission-status", "el => el.dataset.status")
        assert initial in ("queued", "validating", "scoring"), (
            f"submission already {initial} while the worker was held off the scoring queue"
        )
    page.wait_for_selector('#submission-status[data-status="done"]', timeout=120_000)
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    assert page.url == submission_url
    seen = page.evaluate("window.__seen")
    assert seen[0] != "done" and seen[-1] == "done", seen
    assert page.inner_text("#submission-status") == "Done"
    page.wait_for_selector("#cases table tbody tr")  # per-case results appear without reload
    assert page.locator("#cases table tbody tr").count() == 6

    for sub_id in baseline_ids:
        assert wait_for_status(sub_id).status == Submission.Status.DONE

    # 4. Leaderboard: our entry is listed; sorting and site tabs work client/server side.
    page.goto(f"{live_server.url}/phases/{phase.pk}/leaderboard/")
    page.wait_for_selector("#leaderboard tbody tr")
    assert page.locator("#leaderboard tbody tr").count() == 5
    assert "SAM-B LoRA (browser)" in page.inner_text("#leaderboard")
    page.screenshot(path=str(SHOTS / "leaderboard.png"), full_page=True)
    page.click("#leaderboard thead th:nth-child(6)")  # params, smallest first
    first_params = page.inner_text("#leaderboard tbody tr:first-child td:nth-child(6)")
    assert first_params.startswith("6.25M"), first_params
    page.click("a.tab:has-text('site-b')")
    page.wait_for_url("**site=site-b")
    assert page.locator("#leaderboard tbody tr").count() == 5

    # 5. Pareto plot: one point per entry, a front, tooltips and strategy filters.
    page.goto(f"{live_server.url}/phases/{phase.pk}/pareto/")
    page.wait_for_selector("#pareto-svg circle.pt")
    assert page.locator("#pareto-svg circle.pt").count() == 5
    assert page.locator("#pareto-svg circle.on-front").count() >= 1
    assert page.locator("#pareto-front").count() == 1 or page.locator(".on-front").count() == 1
    page.screenshot(path=str(SHOTS / "pareto.png"), full_page=True)
    page.hover("#pareto-svg circle.on-front >> nth=0")
    assert page.is_visible("#pareto-tooltip")
    assert "Total parameters" in page.inner_text("#pareto-tooltip")  # the x-axis in words
    page.uncheck("#strategy-filters input[value='lora']")
    assert page.locator("#pareto-svg circle.pt").count() == 3  # two LoRA entries hidden
    page.close()
