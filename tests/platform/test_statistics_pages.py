"""The statistics page and the challenge report (issue 12), server side: they read the stored
analysis only, say honestly whether it is current, being updated or not computed, show the
stored numbers, escape hostile names, and the report is one self-contained document whose
method section follows the phase's configuration. (The browser test checks what a person
sees; tests/platform/test_statistics_e2e.py checks the numbers on real data.)"""

from __future__ import annotations

import re

import pytest
from challenges.leaderboards import recompute
from challenges.leaderboards.analyses import stored_analysis
from challenges.leaderboards.history import freeze
from challenges.models import BoardAnalysis, Evaluation, Phase
from challenges.reports.boards import rank_text
from challenges.reports.document import build_report, render_html
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.platform.statistics_boards import analyse, make_board

pytestmark = pytest.mark.django_db


def _page(client, phase: Phase, site: str | None = None) -> str:
    url = f"/phases/{phase.pk}/statistics/" + (f"?site={site}" if site else "")
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_not_yet_computed_is_said_and_nothing_is_computed(client, make_user) -> None:
    phase, _ = make_board(make_user)
    before = BoardAnalysis.objects.count()
    html = _page(client, phase)
    assert 'data-state="missing"' in html and "Not yet computed" in html
    assert "<svg" not in html
    assert BoardAnalysis.objects.count() == before == 0  # a page view computes nothing


def test_page_shows_the_stored_numbers_and_every_plot(client, make_user) -> None:
    phase, subs = make_board(make_user)
    analyse(phase)
    stored = stored_analysis(phase)
    payload = stored["analysis"]
    with CaptureQueriesContext(connection) as queries:
        html = _page(client, phase)
    assert len(queries) < 40, [q["sql"][:120] for q in queries.captured_queries]
    assert 'data-state="current"' in html
    assert f'data-seed="{stored["seed"]}"' in html
    assert f'data-n-bootstrap="{stored["n_bootstrap"]}"' in html
    for key in ("significance", "blob", "methods", "agreement", "podium", "sites"):
        assert f'id="figure-{key}"' in html, key
    # Every entry's row: rank, median rank and interval as stored.
    for row in payload["rows"]:
        match = re.search(rf'<tr data-entry="{row["entry"]}">(.*?)</tr>', html, re.S)
        assert match, row
        cells = match.group(1)
        assert f'rank-{row["rank"]}">{row["rank"]}<' in cells
        interval = f"{rank_text(row['rank_low'])}–{rank_text(row['rank_high'])}"
        assert f'data-col="interval">{interval}<' in cells
        assert f'data-col="wins">{row["wins"]}<' in cells
    # The significance map marks exactly the stored significant cells.
    significant = sum(sum(1 for v in r if v) for r in payload["significance"]["significant"])
    assert html.count('class="cell sig"') == significant > 0
    # The constructed tie: entries 1 and 2 are nearly identical.
    assert [subs[1].pk, subs[2].pk] in payload["ties"] or [subs[2].pk, subs[1].pk] in payload[
        "ties"
    ]
    row1 = re.search(rf'<tr data-entry="{subs[1].pk}">(.*?)</tr>', html, re.S).group(1)
    assert "Lab 2 · net-2" in row1
    row0 = re.search(rf'<tr data-entry="{subs[0].pk}">(.*?)</tr>', html, re.S).group(1)
    assert 'data-col="tied">–<' in row0


def test_site_page_and_unknown_site(client, make_user) -> None:
    phase, _ = make_board(make_user)
    analyse(phase)
    html = _page(client, phase, "north")
    north = stored_analysis(phase, "north")["analysis"]
    assert f"{len(north['entries'])} entries × {len(north['cases'])} cases" in html
    assert client.get(f"/phases/{phase.pk}/statistics/?site=nowhere").status_code == 404


def test_being_updated_after_the_board_changes(client, make_user) -> None:
    phase, subs = make_board(make_user)
    analyse(phase)
    # A rescored entry changes the board; its new analysis is not stored yet.
    evaluation = Evaluation.objects.get(submission=subs[-1])
    results = evaluation.results
    results["aggregates"]["all"]["head"]["dice"]["mean"] = 0.99
    Evaluation.objects.filter(pk=evaluation.pk).update(is_current=False)
    Evaluation.objects.create(submission=subs[-1], results=results, evaluator_version="0.1.0")
    recompute(phase)
    html = _page(client, phase)
    assert 'data-state="updating"' in html and "Being updated" in html
    assert 'id="figure-significance"' in html  # the previous analysis is still shown


def test_hostile_names_are_text(client, make_user) -> None:
    phase, _ = make_board(make_user, hostile=True)
    analyse(phase)
    html = _page(client, phase)
    for raw in (
        "<img src=x",
        "</svg><script>",
        "<b>bold</b>",
        '" onmouseover="',
        "<title>x</title>",
    ):
        assert raw not in html, raw
    assert "&lt;img src=x onerror=" in html
    report = render_html(build_report(phase))
    for raw in ("<img src=x", "<script", "<b>bold</b>", '" onmouseover="'):
        assert raw not in report, raw
    assert "{{ 7|add:7 }}" in report.replace("&#x27;", "'") or "{{ 7|add:7 }}" in report


def test_hidden_board_hides_statistics_and_report(client, make_user) -> None:
    phase, _ = make_board(make_user)
    Phase.objects.filter(pk=phase.pk).update(leaderboard_visibility="hidden")
    analyse(phase)
    for path in ("statistics/", "report.html", "report.pdf"):
        assert client.get(f"/phases/{phase.pk}/{path}").status_code == 404, path
    organiser = make_user("boss", is_staff=True, is_superuser=True)
    client.force_login(organiser)
    assert client.get(f"/phases/{phase.pk}/statistics/").status_code == 200
    response = client.get(f"/phases/{phase.pk}/report.html")
    assert response.status_code == 200
    assert "attachment;" in response["Content-Disposition"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_report_is_self_contained_and_follows_the_configuration(make_user) -> None:
    phase, subs = make_board(make_user)
    analyse(phase)
    html = render_html(build_report(phase))
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "<link" not in html and 'src="http' not in html
    # One results section per board (all cases, north, south), each with its five plots.
    assert html.count('class="board" id="board-') == 3
    assert html.count('data-figure="significance"') == 3
    assert 'data-figure="sites"' in html
    # The method is written from the configuration: ranking metrics, method, missing policy.
    assert "<code>head.dice</code>" in html and "<code>head.hd95</code>" in html
    assert "Mean of the primary metric" in html or "Primary metric" in html
    assert "counted as 0.0 (the metric&#x27;s worst value)" in html
    Phase.objects.filter(pk=phase.pk).update(ranking_method="rank_then_aggregate")
    phase.refresh_from_db()
    assert "Mean per-case rank (rank, then aggregate)" in render_html(build_report(phase))
    # The manifest: truth hash, evaluator version, seed, resamples, library versions.
    stored = stored_analysis(phase)
    assert f"<code>{stored['seed']}</code>" in html
    assert f"<code>{stored['n_bootstrap']}</code>" in html
    assert "numpy" in html and "scipy" in html
    # The participating entries, as their teams described them.
    entries = re.search(r'<table id="entries">(.*?)</table>', html, re.S).group(1)
    assert all(f'<tr data-entry="{sub.pk}">' in entries for sub in subs)
    # The BIAS items: covered ones name a section, the rest say they belong in the paper.
    assert "Handling of missing data" in html and "not on the platform" in html


def test_pdf_is_optional(client, make_user, settings) -> None:
    """Without Chromium the PDF link answers 503 with words; the HTML report still works."""
    phase, _ = make_board(make_user)
    analyse(phase)
    settings.REPORT_CHROMIUM = "/nonexistent/chromium"
    response = client.get(f"/phases/{phase.pk}/report.pdf")
    assert response.status_code == 503
    assert "HTML report" in response.content.decode()
    assert client.get(f"/phases/{phase.pk}/report.html").status_code == 200


def test_per_case_results_stay_hidden_from_viewers_who_may_not_see_them(
    client, make_user
) -> None:
    """Per-case visibility "owners": the statistics page, the report and a frozen board's page
    show aggregates only, never a case id (nor a per-case rank) of another team's entry."""
    phase, subs = make_board(make_user, slug="percase")
    phase.per_case_visibility = Phase.PerCaseVisibility.OWNERS
    phase.save(update_fields=["per_case_visibility"])
    analyse(phase)
    frozen = freeze(phase, by="organiser", title="Final ranking")
    client.force_login(make_user("percase-outsider"))
    pages = {
        "statistics": _page(client, phase),
        "site statistics": _page(client, phase, "north"),
        "report": client.get(f"/phases/{phase.pk}/report.html").content.decode(),
        "frozen": client.get(f"/boards/{frozen.slug or frozen.pk}/").content.decode(),
    }
    for name, html in pages.items():
        assert "<svg" in html or name == "frozen", name
        for case in ("north-000", "north-014", "south-007"):
            assert case not in html, (name, case)
        assert "case_ranks" not in html, name
    # The aggregates stay: the case count and the podium heat map's counts.
    assert "5 entries × 30 cases" in pages["statistics"]
    assert "case-rank-cell" in pages["statistics"] and "case-rank-cell" in pages["report"]
    assert "× 15 cases" in pages["site statistics"]


def test_report_tabulates_every_ranking_metric_and_the_frozen_boards(client, make_user) -> None:
    phase, subs = make_board(make_user, slug="reportmetrics")
    analyse(phase)
    frozen = freeze(phase, by="organiser", title="Final ranking")
    html = client.get(f"/phases/{phase.pk}/report.html").content.decode()
    assert "@page { size: A4" in html
    tables = re.findall(r'<section class="board metric-table".*?</section>', html, re.S)
    assert len(tables) == 3  # all cases, north, south
    first = tables[0]
    assert 'data-metric="head.dice"' in first and 'data-metric="head.hd95"' in first
    assert "ranked (primary metric)" in first and "shown only" in first
    assert "does not change the order, not even to break ties" in first
    assert len(re.findall(r"\[\d", first)) >= 2 * len(subs)  # a CI per entry and metric
    assert frozen.checksum in html
    assert f"http://testserver/boards/{frozen.slug or frozen.pk}/" in html

    phase.ranking_method = Phase.RankingMethod.TEST_THEN_RANK
    phase.save()
    recompute(phase)
    analyse(phase)
    report = render_html(build_report(phase))
    ranking = re.search(r'<table class="ranking" id="ranking-1">.*?</thead>', report, re.S).group(0)
    assert ranking.lower().count("significant wins") == 1, ranking
