"""The pages still work under the Content-Security-Policy (issue 9, item 17): headless
Chromium visits every kind of page and the browser reports no CSP violation, the Pareto
plot draws, the submission page's progress bar is set by its script, and the Swagger UI
(served from /static/, no CDN) renders the API's operations."""

from __future__ import annotations

import pytest
from challenges.leaderboards import recompute
from challenges.models import Case, Challenge, Evaluation, Phase, Site, Submission, Team

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]





def _board(make_user) -> tuple[Phase, Submission]:
    challenge = Challenge.objects.create(slug="csp", title="CSP heads", task_name="hc18")
    phase = Phase.objects.create(challenge=challenge, slug="val", title="Validation",
                                 per_case_visibility="everyone")  # fmt: skip
    site = Site.objects.create(challenge=challenge, name="north")
    Case.objects.create(phase=phase, case_id="n1", site=site, spacing_row_mm=1, spacing_col_mm=1)
    sub = None
    for i, dice in enumerate((0.9, 0.8)):
        user = make_user(f"csp{i}", is_staff=True, is_superuser=True)
        team = Team.objects.create(challenge=challenge, name=f"Lab {i}")
        team.members.add(user)
        sub = Submission.objects.create(
            phase=phase, creator=user, team=team, status="done", progress=1.0,
            method_name=f"m{i}", params_total=1000 * (i + 1),
        )  # fmt: skip
        stats = {"mean": dice, "ci95_low": dice - 0.01, "ci95_high": dice + 0.01}
        Evaluation.objects.create(submission=sub, results={
            "aggregates": {"all": {"head": {"dice": stats}}, "north": {"head": {"dice": stats}}},
            "cases": [{"case": "n1", "site": "north", "flags": [],
                       "metrics": {"head": {"dice": dice}}}],
        })  # fmt: skip
    recompute(phase)
    return phase, sub


def test_pages_work_under_the_csp(browser, live_server, make_user) -> None:
    phase, sub = _board(make_user)
    page = browser.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: (
            violations.append(f"{page.url}: {m.text}") if "Content Security" in m.text else None
        ),
    )
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "csp1")
    page.fill("#id_password", "pw-secret-123")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/")
    for path in (
        "/",
        "/challenges/csp/",
        f"/phases/{phase.pk}/",
        f"/phases/{phase.pk}/leaderboard/",
    ):
        response = page.goto(base + path)
        assert response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
    page.goto(f"{base}/phases/{phase.pk}/pareto/")
    page.wait_for_selector("svg circle.pt", timeout=15000)
    page.goto(f"{base}/submissions/{sub.pk}/")
    page.wait_for_function(
        "document.getElementById('progress-bar').style.width === '100%'", timeout=15000
    )
    page.goto(f"{base}/admin/")
    page.wait_for_selector("#content", timeout=15000)
    page.goto(f"{base}/api/docs/")
    page.wait_for_selector(".opblock", timeout=30000)
    assert page.locator(".opblock").count() > 10
    assert violations == []


def test_the_submit_form_asks_for_what_the_chosen_kind_needs(
    browser, live_server, make_user
) -> None:
    """Switching Kind to a model changes what the file field asks for (it kept asking for a
    predictions archive), by a data-* behaviour the CSP allows."""
    phase, _ = _board(make_user)
    Phase.objects.filter(pk=phase.pk).update(allowed_kinds=["predictions", "model"])
    page = browser.new_page()
    base = live_server.url
    page.goto(f"{base}/accounts/login/?next=/phases/{phase.pk}/submit/")
    page.fill("#id_username", "csp1")
    page.fill("#id_password", "pw-secret-123")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"**/phases/{phase.pk}/submit/")
    label = page.locator("label[for=id_file]")
    assert "Predictions archive" in label.inner_text()
    page.select_option("#id_kind", "model")
    assert "Model file" in label.inner_text()
    assert "model.json" in page.locator("#id_file").locator("xpath=..").inner_text()
    page.select_option("#id_kind", "predictions")
    assert "Predictions archive" in label.inner_text()
    page.close()
