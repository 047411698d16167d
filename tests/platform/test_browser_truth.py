"""The organiser's truth-set journey in a real browser (Debian's Chromium driven by
Playwright, as in test_browser_flow.py), on real HC18 and PSFHS cases with the real worker:

load a truth set with two sites through the admin (site mapping CSV), a participant's
submission is scored, the organiser corrects one label and reloads, the board and the
submission page show the stale-score notice, the organiser reruns from the admin and the
notice goes away; then the organiser opens a failed submission in the admin and reads why.
Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from challenges.models import Challenge, Phase, Site, Submission
from challenges.services.submissions import create_submission
from challenges.services.teams import join_challenge

from tests.browser_fixtures import SHOTS
from tests.platform.conftest import make_predictions_zip, upload, wait_for_status, zip_bytes
from tests.platform.test_truth_versions import _correct_one_label

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _log_in(page, base: str, username: str, password: str, admin: bool = False) -> None:
    if admin:
        page.goto(f"{base}/admin/login/?next=/admin/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")
    else:
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("#login-form button[type=submit]")
        page.wait_for_load_state()


def _load_truth_in_admin(page, base: str, phase: Phase, folder: Path, site_map: Path) -> str:
    page.goto(f"{base}/admin/challenges/phase/{phase.pk}/change/")
    page.click("text=Load truth set")
    page.wait_for_url(f"**/admin/challenges/phase/{phase.pk}/load-truth/")
    page.fill("#id_source_dir", str(folder))
    page.select_option("#id_layout", "canonical")
    page.fill("#id_site_map", str(site_map))
    page.click("input[type=submit][value='Load truth set']")
    page.wait_for_url(f"**/admin/challenges/phase/{phase.pk}/change/")
    return page.inner_text("ul.messagelist")


def test_organiser_corrects_truth_reruns_and_reads_a_failure(
    celery_worker, live_server, browser, make_user, two_site_truth, tmp_path: Path  # noqa: F811
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    organiser = make_user("truth-admin", password="admin-secret-1", is_staff=True)
    organiser.is_superuser = True
    organiser.save()
    challenge = Challenge.objects.create(slug="heads", title="Fetal heads", task_name="hc18")
    challenge.organisers.add(organiser)
    phase = Phase.objects.create(challenge=challenge, slug="test", title="Test phase")
    participant = make_user("parti", password="parti-secret-1")
    join_challenge(participant, challenge, "Team Parti")

    cases = [row.split(",")[0] for row in (two_site_truth / "cases.csv").read_text().split()[1:]]
    site_map = tmp_path / "sites.csv"
    site_map.write_text(
        "case,site\n"
        + "".join(f"{c},{'Radboud' if c.endswith('HC') else 'Guangzhou'}\n" for c in cases)
    )

    org = browser.new_page(viewport={"width": 1280, "height": 900})
    org.set_default_timeout(30_000)
    _log_in(org, base, "truth-admin", "admin-secret-1", admin=True)

    # 1. Load the truth set with two sites through the admin.
    message = _load_truth_in_admin(org, base, phase, two_site_truth, site_map)
    assert "Loaded 20 cases" in message and "Guangzhou (10), Radboud (10)" in message
    assert set(Site.objects.filter(challenge=challenge).values_list("name", flat=True)) == {
        "Guangzhou",
        "Radboud",
    }

    # 2. A participant's submission is scored.
    preds = make_predictions_zip(two_site_truth, tmp_path / "preds.zip")
    sub = create_submission(phase, participant, upload(preds), {"method_name": "U-Net shifted"})
    assert wait_for_status(sub.pk).status == Submission.Status.DONE

    me = browser.new_page(viewport={"width": 1280, "height": 900})
    me.set_default_timeout(30_000)
    _log_in(me, base, "parti", "parti-secret-1")
    me.goto(f"{base}/phases/{phase.pk}/leaderboard/")
    me.wait_for_selector("#leaderboard tbody tr")
    assert me.locator("#truth-notice").count() == 0

    # 3. The organiser corrects one label and reloads.
    corrected = _correct_one_label(two_site_truth, tmp_path / "corrected")
    message = _load_truth_in_admin(org, base, phase, corrected, site_map)
    assert "1 scored submission(s) predate it" in message
    org.screenshot(path=str(SHOTS / "truth-reloaded-admin.png"), full_page=True)

    # 4. The board and the submission page say the score predates the truth.
    me.goto(f"{base}/phases/{phase.pk}/leaderboard/")
    notice = me.inner_text("#truth-notice")
    assert "1 score on this board was computed against an earlier version" in notice
    me.screenshot(path=str(SHOTS / "truth-stale-leaderboard.png"), full_page=True)
    me.goto(f"{base}/submissions/{sub.pk}/")
    assert "This score was computed against an earlier version" in me.inner_text("#truth-notice")
    me.screenshot(path=str(SHOTS / "truth-stale-submission.png"), full_page=True)

    # 5. The organiser reruns from the admin; once scored again the notice is gone.
    org.goto(f"{base}/admin/challenges/phase/{phase.pk}/change/")
    assert "1 submission(s) were scored against an earlier truth set" in org.inner_text("body")
    org.click("#rerun-stale-link")
    org.wait_for_selector("#stale-submissions")
    assert "U-Net shifted" in org.inner_text("#stale-submissions")
    org.click("#rerun-stale")
    org.wait_for_url(f"**/admin/challenges/phase/{phase.pk}/change/")
    assert "1 submission(s) of heads/test queued" in org.inner_text("ul.messagelist")
    assert wait_for_status(sub.pk).status == Submission.Status.DONE
    me.goto(f"{base}/phases/{phase.pk}/leaderboard/")
    me.wait_for_selector("#leaderboard tbody tr")
    assert me.locator("#truth-notice").count() == 0
    me.goto(f"{base}/submissions/{sub.pk}/")
    assert me.locator("#truth-notice").count() == 0
    me.screenshot(path=str(SHOTS / "truth-current-submission.png"), full_page=True)

    # 6. A failed submission: the organiser opens it in the admin and reads why.
    bad = tmp_path / "bad.zip"
    bad.write_bytes(zip_bytes({"results/notes.txt": b"masks to follow"}))
    failed = create_submission(phase, participant, upload(bad), {"method_name": "forgot masks"})
    assert wait_for_status(failed.pk).status == Submission.Status.FAILED
    org.goto(f"{base}/admin/challenges/submission/")
    org.click(f"a[href$='/admin/challenges/submission/{failed.pk}/change/']")
    org.wait_for_selector("#status-detail")
    reason = org.inner_text("#status-detail")
    assert "holds no mask files" in reason and "notes.txt" in reason
    assert "Download" in org.inner_text("body")
    org.screenshot(path=str(SHOTS / "admin-failed-submission.png"), full_page=True)

    # The scored one: both evaluations, their truth versions and readable scores.
    org.goto(f"{base}/admin/challenges/submission/{sub.pk}/change/")
    body = org.inner_text("body")
    assert "(current)" in body and "earlier than the current" in body
    assert "head dice · site Radboud" in body
    org.screenshot(path=str(SHOTS / "admin-scored-submission.png"), full_page=True)
    org.close()
    me.close()
