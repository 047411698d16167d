"""Issue 10, items 5 and 6 (boards): what a board, its exports and the pages around it show.

FLOPs and latency as columns, in the API, CSV and JSON and as Pareto x-axes; headers in words;
no better/worse arrow on measurements; the mean-rank score as a column; every column in the
column chooser; disqualified entries marked; no Submit link on closed phases; human status
labels; challenge descriptions as sanitised Markdown. The browser side (sticky columns,
scrolling, the URL keeping choices) is in test_browser_leaderboards.py.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from challenges.leaderboards import recompute
from challenges.models import Case, Challenge, Evaluation, Phase, Site, Submission, Team
from django.utils import timezone

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _stats(v: float) -> dict:
    return {"mean": v, "ci95_low": v - 0.01, "ci95_high": v + 0.01, "n": 5, "n_nan": 0}


@pytest.fixture
def board(make_user):
    """An HC18 phase: a measured model (FLOPs, latency) and a declared mask upload."""
    organiser = make_user("org")
    challenge = Challenge.objects.create(slug="heads", title="Heads", task_name="hc18")
    challenge.organisers.add(organiser)
    phase = Phase.objects.create(challenge=challenge, slug="val", title="Validation")
    site = Site.objects.create(challenge=challenge, name="hc18")
    Case.objects.create(phase=phase, case_id="c1", site=site, spacing_row_mm=1, spacing_col_mm=1)
    entries = [
        ("Model Lab", "unet-onnx", 0.95, 2.0, 3.0, 4_200_000_000, 12.5),
        ("Mask Lab", "masks", 0.90, 3.0, 1.0, None, None),
    ]
    subs = []
    for team_name, method, dice, hd95, hc_err, flops, latency in entries:
        user = make_user(team_name.lower().replace(" ", ""))
        team = Team.objects.create(challenge=challenge, name=team_name)
        team.members.add(user)
        sub = Submission.objects.create(
            phase=phase, creator=user, team=team, method_name=method, status="done",
            params_total=7_000_000, params_trainable=1_000_000, flops=flops, latency_ms=latency,
        )  # fmt: skip
        head = {"dice": _stats(dice), "hd95": _stats(hd95), "hc_abs_diff_mm": _stats(hc_err),
                "hc_pred_mm": _stats(170.0), "hc_ref_mm": _stats(171.0),
                "hc_diff_mm": _stats(-1.0), "iou": _stats(dice - 0.1)}  # fmt: skip
        aggregates = {"all": {"head": head}, "hc18": {"head": head}}
        Evaluation.objects.create(submission=sub, results={"aggregates": aggregates, "cases": []})
        subs.append(sub)
    recompute(phase)
    return phase, organiser, subs


def _api(client, phase: Phase, query: str = "") -> dict:
    return client.get(f"/api/phases/{phase.pk}/leaderboard/{query}").json()


# --------------------------------------------------------------------------------------------
# Item 5: FLOPs and latency


def test_flops_and_latency_in_api_exports_and_page(client, board) -> None:
    phase, _, _ = board
    rows = {r["method_name"]: r for r in _api(client, phase)["rows"]}
    assert rows["unet-onnx"]["flops"] == 4_200_000_000
    assert rows["unet-onnx"]["latency_ms"] == 12.5
    assert rows["masks"]["flops"] is None and rows["masks"]["latency_ms"] is None
    exported = json.loads(client.get(f"/api/phases/{phase.pk}/leaderboard.json").content)
    assert exported["rows"][0]["flops"] == 4_200_000_000
    text = client.get(f"/api/phases/{phase.pk}/leaderboard.csv").content.decode()
    table = list(csv.DictReader(io.StringIO(text)))
    model = next(r for r in table if r["method_name"] == "unet-onnx")
    assert model["flops"] == "4200000000" and model["latency_ms"] == "12.5"
    assert next(r for r in table if r["method_name"] == "masks")["flops"] == ""
    page = client.get(f"/phases/{phase.pk}/leaderboard/").content.decode()
    assert re.search(r'<th data-col="flops"[^>]*>\s*FLOPs</th>', page)
    assert re.search(r'<th data-col="latency_ms"[^>]*>\s*Latency \(ms\)</th>', page)
    assert "4.2G" in page and "12.5" in page


def test_pareto_x_axis_choices_and_url(client, board) -> None:
    phase, _, _ = board
    page = client.get(f"/phases/{phase.pk}/pareto/?x=flops&metric=head.hd95")
    html = page.content.decode()
    start = html.index(">", html.index('id="pareto-data"')) + 1
    data = json.loads(html[start : html.index("</script>", start)])
    assert data["x_axis"] == "flops" and data["metric"] == "head.hd95"
    assert list(data["x_axes"]) == ["params_total", "params_trainable", "flops", "latency_ms"]
    assert '<option value="flops" selected>' in html
    assert {r["latency_ms"] for r in data["rows"]} == {12.5, None}
    assert client.get(f"/phases/{phase.pk}/pareto/?x=weight").status_code == 400
    # An unknown metric falls back to the primary one rather than plotting nothing.
    other = client.get(f"/phases/{phase.pk}/pareto/?metric=head.nope").content.decode()
    assert '"metric": "head.dice"' in other


# --------------------------------------------------------------------------------------------
# Item 6: columns, words, directions


def test_headers_in_words_and_no_arrow_on_measurements(client, board) -> None:
    phase, _, _ = board
    columns = {c["metric"]: c for c in _api(client, phase)["columns"]}
    assert columns["hd95"]["label"] == "head HD95 (mm)"
    assert columns["hc_abs_diff_mm"]["label"] == "head HC abs. diff (mm)"
    assert columns["dice"]["direction"] == "higher" and columns["hd95"]["direction"] == "lower"
    for measurement in ("hc_pred_mm", "hc_ref_mm", "hc_diff_mm"):
        assert columns[measurement]["direction"] is None, measurement
    page = client.get(f"/phases/{phase.pk}/leaderboard/").content.decode()
    headers = {
        m.group(1): m.group(2)
        for m in re.finditer(r'<th data-col="([^"]+)"[^>]*>(.*?)</th>', page, re.S)
    }
    assert 'HD95 (mm) <span class="arrow">↓</span>' in headers["head.hd95"]
    assert "HC abs. diff (mm)" in headers["head.hc_abs_diff_mm"]
    for key in ("head.hc_pred_mm", "head.hc_ref_mm", "head.hc_diff_mm"):
        assert "arrow" not in headers[key] and "(mm)" in headers[key], headers[key]
        assert "hc_" not in headers[key]  # words, not keys
    # Every column can be chosen; the extra ones start hidden, rank and team are not optional.
    chooser = page[page.index('id="column-chooser"') : page.index("</details>")]
    assert set(re.findall(r'value="([^"]+)"', chooser)) == set(headers)
    assert 'data-col="head.hc_pred_mm"' in page and "sticky-rank" in page and "sticky-team" in page


def test_mean_rank_score_is_a_column(client, board) -> None:
    phase, _, _ = board
    url = f"/phases/{phase.pk}/leaderboard/"
    assert 'data-col="score"' not in client.get(url).content.decode()  # primary: no score
    phase.ranking_method = Phase.RankingMethod.MEAN_RANK
    phase.save()
    recompute(phase)
    page = client.get(url).content.decode()
    assert '<th data-col="score"' in page and "Mean rank" in page
    # Model Lab: dice 1, hd95 1, HC error 2 -> 1.33; Mask Lab: 2, 2, 1 -> 1.67
    assert '<td data-col="score" data-value="1.3333' in page


# --------------------------------------------------------------------------------------------
# Item 6: disqualified, closed phases, status words, descriptions


def test_disqualified_entries_are_marked_for_organisers(client, board) -> None:
    phase, organiser, subs = board
    Submission.objects.filter(pk=subs[1].pk).update(disqualified=True)
    recompute(phase)
    url = f"/phases/{phase.pk}/leaderboard/?entries=all"
    assert "Mask Lab" not in client.get(url).content.decode()  # public: removed
    client.force_login(organiser)
    page = client.get(url).content.decode()
    row = page[page.index('<tr class="disqualified"') :]
    row = row[: row.index("</tr>")]
    assert "Mask Lab" in row and "disqualified" in row and 'title="disqualified: not ranked"' in row
    # ... and on the owner's submission list.
    client.force_login(subs[1].creator)
    mine = client.get("/my/submissions/").content.decode()
    assert 'pill-bad">disqualified' in mine


def test_no_submit_link_on_closed_phases(client, board) -> None:
    phase, organiser, subs = board
    member = subs[0].creator
    client.force_login(member)
    assert 'id="submit-link"' in client.get(f"/phases/{phase.pk}/").content.decode()
    assert f"/phases/{phase.pk}/submit/" in client.get("/challenges/heads/").content.decode()
    phase.closes_at = timezone.now() - timedelta(days=1)
    phase.save()
    for user in (member, organiser):
        client.force_login(user)
        page = client.get(f"/phases/{phase.pk}/").content.decode()
        assert 'id="submit-link"' not in page and 'id="phase-closed"' in page
        assert (
            f"/phases/{phase.pk}/submit/" not in client.get("/challenges/heads/").content.decode()
        )


def test_status_words_everywhere(client, board) -> None:
    phase, _, subs = board
    Submission.objects.filter(pk=subs[0].pk).update(status=Submission.Status.INFERRING)
    client.force_login(subs[0].creator)
    mine = client.get("/my/submissions/").content.decode()
    assert ">Running inference<" in mine and ">inferring<" not in mine
    # The live status page's script has words for every status the model knows.
    script = (ROOT / "platform/web/static/web/submission.js").read_text()
    labels = script[script.index("const labels") : script.index("};", script.index("const labels"))]
    for value, words in Submission.Status.choices:
        assert f'{value}: "{words}"' in labels, value


def test_description_is_sanitised_markdown(client, board) -> None:
    challenge = Challenge.objects.get(slug="heads")
    challenge.description = (
        "## Data\n\n**Two sites**, see [the paper](https://example.org/hc18).\n\n"
        "- HC18\n- PSFHS\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1))\n\n"
        '<img src=x onerror="alert(1)">'
    )
    challenge.save()
    page = client.get("/challenges/heads/").content.decode()
    about = page[page.index('id="challenge-description"') :]
    about = about[: about.index("</section>")]
    assert "<h2>Data</h2>" in about and "<strong>Two sites</strong>" in about
    assert "<li>HC18</li>" in about
    assert 'href="https://example.org/hc18" rel="noopener noreferrer nofollow"' in about
    # Raw HTML shows as text, never as elements; the javascript: link is not a link.
    assert "<script>" not in about and "&lt;script&gt;" in about
    assert "<img" not in about and 'href="javascript' not in about
