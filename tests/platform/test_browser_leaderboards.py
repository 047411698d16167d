"""Issue 10, items 5 and 6 in a real browser (Debian's Chromium driven by Playwright) at a
normal laptop size, 1280x800: a wide HC18 board (every metric shown) scrolls sideways with
rank and team pinned, the column chooser hides and shows columns and the URL keeps the choice
(also across site tabs), and the Pareto page plots by FLOPs and latency with the x-axis kept
in the URL and labels that do not overlap. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from challenges.leaderboards import recompute
from challenges.models import Case, Challenge, Evaluation, Phase, Site, Submission, Team

from tests.browser_fixtures import SHOTS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]




def _stats(v: float) -> dict:
    return {"mean": v, "ci95_low": v * 0.98, "ci95_high": v * 1.02, "n": 10, "n_nan": 0}


@pytest.fixture
def wide_board(make_user) -> Phase:
    """Six model entries on an HC18 phase with two sites, every metric the task writes."""
    challenge = Challenge.objects.create(slug="hc18-wide", title="HC18", task_name="hc18")
    phase = Phase.objects.create(challenge=challenge, slug="test", title="Test")
    for name in ("hc18", "psfhs"):
        site = Site.objects.create(challenge=challenge, name=name)
        Case.objects.create(phase=phase, case_id=f"{name}-1", site=site,
                            spacing_row_mm=0.2, spacing_col_mm=0.2)  # fmt: skip
    entries = [  # method, strategy, params, flops, latency, dice
        ("U-Net resnet34 full", "full", 24_436_369, 21_000_000_000, 41.0, 0.972),
        ("U-Net resnet34 decoder", "decoder_only", 24_436_369, 21_000_000_000, 40.0, 0.965),
        ("U-Net mobilenet_v2 full", "full", 6_628_945, 5_200_000_000, 14.0, 0.968),
        ("U-Net mobilenet_v2 LoRA", "lora", 6_700_000, 5_300_000_000, 15.0, 0.961),
        ("U-Net efficientnet-b0", "from_scratch", 6_251_469, 4_100_000_000, 22.0, 0.955),
        ("Plain U-Net 31M", "from_scratch", 31_037_633, 54_000_000_000, 63.0, 0.970),
    ]
    for i, (method, strategy, params, flops, latency, dice) in enumerate(entries):
        user = make_user(f"team{i}")
        team = Team.objects.create(challenge=challenge, name=f"Fetal Imaging Lab {i + 1}")
        team.members.add(user)
        sub = Submission.objects.create(
            phase=phase, creator=user, team=team, method_name=method, backbone=method.split()[1],
            fine_tuning_strategy=strategy, params_total=params, params_trainable=params,
            params_source="measured", flops=flops, latency_ms=latency, status="done", kind="model",
        )  # fmt: skip
        head = {
            "dice": _stats(dice), "iou": _stats(dice - 0.04), "hd": _stats(6 - 40 * (dice - 0.95)),
            "hd95": _stats(4 - 30 * (dice - 0.95)), "hd95_max": _stats(5 - 30 * (dice - 0.95)),
            "assd": _stats(1.2 - 9 * (dice - 0.95)), "masd": _stats(1.1 - 9 * (dice - 0.95)),
            "hc_pred_mm": _stats(175.0 + i), "hc_ref_mm": _stats(174.0),
            "hc_abs_diff_mm": _stats(2.5 + i / 3), "hc_diff_mm": _stats(1.0 + i),
        }  # fmt: skip
        aggregates = {"all": {"head": head}, "hc18": {"head": head}, "psfhs": {"head": head}}
        Evaluation.objects.create(submission=sub, results={"aggregates": aggregates, "cases": []})
    recompute(phase)
    return phase


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_wide_board_and_pareto_at_1280(browser, live_server, wide_board) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    url = f"{live_server.url}/phases/{wide_board.pk}/leaderboard/"
    page.goto(url)

    # Column chooser: show every column; the URL keeps the choice.
    page.click("#column-chooser summary")
    page.click("#column-chooser button[data-columns=all]")
    assert "cols=" in page.url
    hidden = page.locator("#leaderboard th.col-hidden").count()
    assert hidden == 0
    page.click("#column-chooser summary")  # close it

    # The table is wider than the page: it scrolls inside its box, not the page.
    scroller = page.locator("#leaderboard-scroll")
    widths = scroller.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert widths[0] > widths[1], widths
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    rank_before, team_before = _box(page, "th.sticky-rank"), _box(page, "th.sticky-team")
    last = page.locator("#leaderboard thead th").last
    assert "HC diff, pred − ref (mm)" in last.inner_text()
    last.scroll_into_view_if_needed()
    box = last.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, box  # reachable
    scrolled = scroller.evaluate("el => el.scrollLeft")
    assert scrolled > 0
    # Rank and team stay where they were while the metrics scroll under them.
    rank_after, team_after = _box(page, "th.sticky-rank"), _box(page, "th.sticky-team")
    assert (
        abs(rank_after["x"] - rank_before["x"]) < 1 and abs(team_after["x"] - team_before["x"]) < 1
    )
    first_team = page.locator("#leaderboard tbody td.sticky-team").first
    assert first_team.is_visible() and "Fetal Imaging Lab" in first_team.inner_text()
    # No arrow on measurements; an arrow on scores.
    pred = page.locator('th[data-col="head.hc_pred_mm"]')
    assert "HC predicted (mm)" in pred.inner_text() and pred.locator(".arrow").count() == 0
    assert page.locator('th[data-col="head.hd95"] .arrow').inner_text() == "↓"
    page.screenshot(path=str(SHOTS / "leaderboard-wide-1280.png"))

    # Hide a column; reload: the URL brought the choice back. Site tabs carry it.
    page.click("#column-chooser summary")
    page.uncheck('#column-chooser input[value="backbone"]')
    assert page.locator('th[data-col="backbone"]').is_hidden()
    page.reload()
    assert page.locator('th[data-col="backbone"]').is_hidden()
    assert page.locator('th[data-col="head.hc_diff_mm"]').is_visible()
    page.click("nav.tabs a:has-text('psfhs')")
    page.wait_for_url("**site=psfhs**")
    assert "cols=" in page.url and page.locator('th[data-col="backbone"]').is_hidden()
    assert page.locator('th[data-col="head.hc_diff_mm"]').is_visible()

    # Pareto: FLOPs on the x-axis, kept in the URL, the site too.
    page.goto(f"{live_server.url}/phases/{wide_board.pk}/pareto/?site=psfhs")
    page.select_option("#x-select", "flops")
    assert "x=flops" in page.url and "site=psfhs" in page.url
    assert "FLOPs" in page.locator("#pareto-svg .axis-title").first.text_content()
    page.reload()
    assert page.locator("#x-select").input_value() == "flops"
    assert page.locator("#pareto-svg circle.pt").count() == 6
    page.select_option("#x-select", "latency_ms")
    assert "x=latency_ms" in page.url
    assert "Latency" in page.locator("#pareto-svg .axis-title").first.text_content()
    page.select_option("#x-select", "params_total")
    labels = page.locator("#pareto-svg text.pt-label")
    boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
    assert boxes, "no Pareto labels drawn"
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap = (
                a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
                and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]
            )  # fmt: skip
            assert not overlap, (a, b)
    page.screenshot(path=str(SHOTS / "pareto-params-1280.png"))
    page.select_option("#x-select", "flops")
    page.screenshot(path=str(SHOTS / "pareto-flops-1280.png"))
    # The leaderboard link from the plot and the every-entry toggle keep the x-axis.
    assert "x=flops" in page.locator("#entries-toggle").get_attribute("href")
