"""Issue 12's pages in a real browser (Debian's Chromium driven by Playwright) at 1280x800:
what a person sees on the statistics page of a board (each plot drawn, its caption, the
numbers of the stored analysis, hostile names shown as text), the challenge report (opened
as a page and as PDF), a board's rows with their rank intervals and "tied" marks, an entry's
rank over time and a frozen board's permalink; and the browser reports no Content-Security-
Policy violation and no script error anywhere. Screenshots go to test-artifacts/screenshots/
(or $FETALBENCH_SCREENSHOTS).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from challenges.leaderboards import recompute
from challenges.leaderboards.analyses import stored_analysis
from challenges.leaderboards.history import freeze, rank_history
from challenges.models import Evaluation, Submission
from challenges.reports.boards import entry_labels, rank_text

from tests.browser_fixtures import SHOTS
from tests.platform.statistics_boards import analyse, make_board

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOT_DIR = Path(os.environ.get("FETALBENCH_SCREENSHOTS") or SHOTS)




class Watched:
    """A page whose console CSP reports and script errors are collected."""

    def __init__(self, browser) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 800})
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"script error: {exc}"))

    def _console(self, message) -> None:
        text = message.text
        if "Content Security" in text or message.type == "error":
            self.problems.append(f"{self.page.url}: {text}")

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response.status == 200, (url, response.status)

    def shot(self, name: str) -> None:
        SHOT_DIR.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOT_DIR / name), full_page=True)


def _figure(page, key: str):
    section = page.locator(f"#figure-{key}")
    assert section.count() == 1, key
    return section


def test_statistics_page_and_report(browser, live_server, make_user) -> None:
    phase, subs = make_board(make_user, slug="stats-browser", n_entries=6, hostile=True)
    watched = Watched(browser)
    page = watched.page
    base = live_server.url
    # Before the worker's analysis the page says so, and draws nothing. (When the session
    # runs a Celery worker, it may have analysed the board already: the recompute queues it.
    # test_statistics_pages checks this state without a worker.)
    watched.visit(f"{base}/phases/{phase.pk}/statistics/")
    state = page.locator("#analysis-state").get_attribute("data-state")
    if state == "missing":
        assert "Not yet computed" in page.locator("#analysis-state").inner_text()
        assert page.locator("svg").count() == 0
        watched.shot("statistics-not-computed.png")
    else:
        assert state == "current", state

    analyse(phase)
    stored = stored_analysis(phase)
    payload = stored["analysis"]
    labels = entry_labels(payload)
    n = len(payload["entries"])

    # The board page links to the statistics next to "Score vs size".
    watched.visit(f"{base}/phases/{phase.pk}/leaderboard/")
    page.click("#statistics-link")
    page.wait_for_url(f"**/phases/{phase.pk}/statistics/**")

    # State and provenance, as stored.
    assert page.locator("#analysis-state").get_attribute("data-state") == "current"
    meta = page.locator("#analysis-meta").inner_text()
    assert f"seed {stored['seed']}" in meta and f"{stored['n_bootstrap']} resamples" in meta
    assert f"{n} entries × {len(payload['cases'])} cases" in meta

    # Every plot is drawn (its SVG has its marks and a real size) and has its caption.
    expected_marks = {
        "significance": ("rect.cell", n * (n - 1)),
        "blob": ("circle.blob", None),
        "methods": ("polyline.rank-line", n),
        "agreement": ("rect.tau-cell", len(payload["rankings"]) ** 2),
        "podium": ("rect.case-rank-cell", n * n),
        "sites": ("polyline.rank-line", None),
    }
    for key, (selector, count) in expected_marks.items():
        section = _figure(page, key)
        svg = section.locator("svg")
        box = svg.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100, (key, box)
        marks = svg.locator(selector).count()
        assert marks == count if count is not None else marks > 0, (key, marks)
        caption = section.locator("p.caption").inner_text()
        assert len(caption) > 60 and caption.endswith("."), (key, caption)
    significant = sum(map(sum, payload["significance"]["significant"]))
    assert page.locator("#figure-significance rect.cell.sig").count() == significant > 0
    circles = sum(1 for row in payload["bootstrap"]["frequencies"] for c in row if c)
    assert page.locator("#figure-blob circle.blob").count() == circles

    # The table's numbers are the stored ones.
    for index, row in enumerate(payload["rows"]):
        tr = page.locator(f'#statistics-table tr[data-entry="{row["entry"]}"]')
        assert tr.locator(".entry-label").inner_text() == labels[index]
        interval = f"{rank_text(row['rank_low'])}–{rank_text(row['rank_high'])}"
        assert tr.locator('[data-col="interval"]').inner_text() == interval
        assert tr.locator('[data-col="median"]').inner_text() == rank_text(row["median_rank"])
        assert tr.locator('[data-col="wins"]').inner_text() == str(row["wins"])

    # A significance cell's tooltip gives the stored p-values.
    i, j = next(
        (i, j)
        for i, r in enumerate(payload["significance"]["significant"])
        for j, v in enumerate(r)
        if v
    )
    tips = page.locator("#figure-significance rect.cell.sig title").all_text_contents()
    assert any(t.startswith(f"{labels[i]} better than {labels[j]}?") for t in tips), tips[:3]

    # Hostile names are text: nothing they carry ran or became markup.
    assert page.evaluate("window.__pwned === undefined")
    assert (
        page.locator("#statistics-table img, #statistics-table b, #statistics-table script").count()
        == 0
    )
    assert "<img src=x" in page.locator("#statistics-table").inner_text()
    watched.shot("statistics-all.png")

    # A site's board.
    page.click("nav.tabs a:has-text('north')")
    page.wait_for_url("**site=north**")
    north = stored_analysis(phase, "north")
    assert (
        page.locator("#analysis-meta")
        .inner_text()
        .count(f"{len(north['analysis']['cases'])} cases")
    )
    assert page.locator("#figure-significance svg rect.cell").count() == n * (n - 1)
    watched.shot("statistics-north.png")

    # The report: opened as a page it shows every board's plots (drawn) and the method.
    watched.visit(f"{base}/phases/{phase.pk}/report.html?download=0")
    assert page.locator("#report-title").inner_text() == "Statistics heads: Final test"
    assert page.locator("section.board[id^=board-]").count() == 3
    for figure in page.locator("figure[data-figure] svg").all():
        box = figure.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 80
    assert "head.dice" in page.locator("#metrics").inner_text()
    assert "worst value" in page.locator("#missing-data").inner_text()
    assert page.evaluate("window.__pwned === undefined")
    watched.shot("report.png")
    pdf = page.request.get(f"{base}/phases/{phase.pk}/report.pdf")
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
    assert "attachment" in pdf.headers["content-disposition"]

    assert watched.problems == []


def test_board_rows_entry_history_and_frozen_board(browser, live_server, make_user) -> None:
    """Every board row shows its rank interval and, when tied, a mark naming the others;
    an entry's page plots its rank over the board's snapshots; a frozen board's permalink
    shows its checksum, which the API's content hashes to with the command it gives."""
    phase, subs = make_board(make_user, slug="stats-rows", n_entries=5)
    analyse(phase)
    # A later, better submission from the last team: a new snapshot where its ranks change.
    late = Submission.objects.create(
        phase=phase, creator=subs[-1].creator, team=subs[-1].team, method_name="net-4b",
        status="done", progress=1.0,
    )  # fmt: skip
    results = Evaluation.objects.get(submission=subs[0]).results
    Evaluation.objects.create(submission=late, results=results, evaluator_version="0.1.0")
    recompute(phase)
    analyse(phase)
    payload = stored_analysis(phase)["analysis"]
    labels = dict(zip(payload["entries"], entry_labels(payload), strict=True))
    watched = Watched(browser)
    page = watched.page
    base = live_server.url

    watched.visit(f"{base}/phases/{phase.pk}/leaderboard/")
    assert page.locator("#interval-status").get_attribute("data-status") == "current"
    tied_rows = 0
    for row in payload["rows"]:
        # By the row's submission id: other teams' method names are not links for a visitor
        # (their submission pages are not theirs to open).
        tr = page.locator(f'#leaderboard tbody tr[data-submission="{row["entry"]}"]')
        interval = f"{rank_text(row['rank_low'])}–{rank_text(row['rank_high'])}"
        assert tr.locator(".rank-interval").inner_text() == interval
        mark = tr.locator(".tied-mark")
        if row["tied_with"]:
            tied_rows += 1
            tip = mark.get_attribute("title")
            for other in row["tied_with"]:
                assert labels[other] in tip, (tip, labels[other])
        else:
            assert mark.count() == 0
    assert tied_rows >= 2
    watched.shot("leaderboard-intervals.png")

    # The entry's page: its rank at every snapshot of every board that holds it.
    owner = subs[0].creator
    page.goto(f"{base}/accounts/login/?next=/submissions/{subs[0].pk}/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", "pw-secret-123")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"**/submissions/{subs[0].pk}/")
    history = rank_history(subs[0])
    assert len(history) >= 2
    points = page.locator("#figure-history svg circle.history-point")
    shown = points.evaluate_all("els => els.map(e => [e.dataset.board, e.dataset.rank])")
    all_cases = [rank for board, rank in shown if board == "All cases"]
    assert all_cases == [str(h["rank"]) for h in history if not h["ranks_pending"]]
    assert {board for board, _ in shown} == {"All cases", "north", "south"}
    assert page.locator("#figure-history p.caption").inner_text().startswith("The entry's rank")
    watched.shot("entry-history.png")

    # Freeze the board; its permalink shows the checksum, and the API's content hashes to it.
    frozen = freeze(phase, by="organiser", title="Final ranking")
    watched.visit(f"{base}/phases/{phase.pk}/leaderboard/")
    page.click("#frozen-boards a")
    page.wait_for_url(f"**/boards/{frozen.slug}/")
    assert page.locator("#frozen-checksum").inner_text() == frozen.checksum
    assert page.locator("#frozen-verified").inner_text() == "verified"
    command = page.locator("#frozen-verify pre").inner_text()
    assert f"/api/frozen/{frozen.slug}/" in command
    content = page.request.get(f"{base}/api/frozen/{frozen.slug}/").json()["content"]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == frozen.checksum
    rows = page.locator("#frozen-table tbody tr")
    assert rows.count() == len(frozen.rows)
    assert page.locator("#figure-blob svg circle.blob").count() > 0
    watched.shot("frozen-board.png")
    assert watched.problems == []
