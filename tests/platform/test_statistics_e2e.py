"""Issue 12 end to end on real data (../shared/data, skipped without it): five teams upload
masks of known, different quality (the truth itself, the truth eroded or dilated by a few
pixels, shifted, eroded further) to a two-site phase (real HC18 and PSFHS heads) through the
API; a real Celery worker scores them, recomputes the boards and stores their analyses. Then
what a person reads (the statistics page of every board and the challenge report) must agree
with the per-case values downloaded through the API: every significance cell's p-value and
Holm-adjusted p-value recomputed here with scipy.stats.wilcoxon and a hand Holm step, every
significant mark, and every rank interval (the bootstrap repeated from the downloaded values
with the page's seed and resample count).
"""

from __future__ import annotations

import html
import re
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests
from challenges.leaderboards.analyses import stored_analysis
from challenges.models import Case, Submission
from challenges.reports.boards import rank_text
from django.core.management import call_command
from scipy.stats import wilcoxon

from evaluator.io.masks import read_label_map
from evaluator.statistics import analyse_board
from evaluator.truth import TruthSet
from tests.platform.conftest import wait_for_status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

KERNEL = np.ones((3, 3), np.uint8)
#: (team, method, how its masks are made from the truth), best first by construction.
ENTRIES = (
    ("Oracle", "the truth itself", lambda m: m),
    ("Erode2", "eroded 2 px", lambda m: cv2.erode(m, KERNEL, iterations=2)),
    ("Dilate3", "dilated 3 px", lambda m: cv2.dilate(m, KERNEL, iterations=3)),
    ("Shift6", "shifted 6 px", lambda m: np.roll(m, 6, axis=1)),
    ("Erode9", "eroded 9 px", lambda m: cv2.erode(m, KERNEL, iterations=9)),
)
CELL = re.compile(
    r'<rect[^>]*class="(cell(?: sig)?)"[^>]*data-row="(\d+)" data-col="(\d+)"[^>]*>'
    r"<title>(.*?)</title></rect>"
)
TIP = re.compile(r"p = ([^,]+), Holm-adjusted ([^:]+): (significant|not significant)$")


def _predictions(truth: Path, out: Path, make) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for case in TruthSet.load(truth).cases:
            label = read_label_map(Path(case.label_path)).astype(np.uint8)
            ok, data = cv2.imencode(".png", make(label).astype(np.uint8))
            assert ok
            archive.writestr(f"predictions/{case.case}.png", data.tobytes())
    return out


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else float("nan")


def _holm(pvalues: dict[tuple[int, int], float]) -> dict[tuple[int, int], float]:
    """Holm's step-down adjustment by hand: the k-th smallest of m p-values times (m - k + 1),
    made monotone, capped at 1."""
    order = sorted(pvalues, key=lambda pair: pvalues[pair])
    m, running, out = len(order), 0.0, {}
    for k, pair in enumerate(order):
        running = max(running, min(1.0, (m - k) * pvalues[pair]))
        out[pair] = running
    return out


def _close(shown: str, value: float) -> bool:
    """A p-value as the page prints it ("0.0123", "1.2e-05", "1") against the exact one."""
    return abs(float(shown) - value) <= max(6e-5, 0.051 * value if "e" in shown else 0)


def _board_tables(text: str) -> list[tuple[list[int], dict[int, dict[str, str]]]]:
    """Each ranking table of a page or report: its entries in order, and each one's cells
    by column (rank, score, median, interval, wins), as text."""
    out = []
    for table in re.findall(r"<tbody>(.*?)</tbody>", text, re.S):
        rows = re.findall(r'<tr data-entry="(\d+)">(.*?)</tr>', table, re.S)
        if not rows:
            continue
        cells = {
            int(entry): {
                column: re.sub(r"<[^>]+>", "", value).strip()
                for column, value in re.findall(r'<td[^>]*data-col="(\w+)"[^>]*>(.*?)</td>', row)
            }
            for entry, row in rows
        }
        out.append(([int(entry) for entry, _ in rows], cells))
    return out


def _check_board(text: str, order: list[int], values: dict[int, np.ndarray], alpha: float) -> int:
    """The significance cells of one board's page (or report section) against SciPy."""
    pvalues = {
        (i, j): wilcoxon(values[i] - values[j], alternative="greater").pvalue
        for i in order
        for j in order
        if i != j
    }
    adjusted = _holm(pvalues)
    cells = CELL.findall(text)
    assert len(cells) == len(order) * (len(order) - 1)
    marked = 0
    for css, row, col, tip in cells:
        i, j = order[int(row) - 1], order[int(col) - 1]
        shown_p, shown_adj, verdict = TIP.search(html.unescape(tip)).groups()
        assert _close(shown_p, pvalues[i, j]), (i, j, shown_p, pvalues[i, j])
        assert _close(shown_adj, adjusted[i, j]), (i, j, shown_adj, adjusted[i, j])
        significant = adjusted[i, j] < alpha
        assert (css == "cell sig") == significant == (verdict == "significant"), (i, j)
        marked += significant
    return marked


def test_significance_intervals_and_report_match_the_downloaded_values(
    celery_worker, two_site_truth: Path, make_user, make_challenge, live_server, tmp_path
) -> None:
    challenge, phase = make_challenge(slug="stats-e2e", per_case_visibility="everyone")
    call_command("load_truth", "stats-e2e/test", str(two_site_truth), "--layout", "canonical")
    base = live_server.url
    ids: dict[int, str] = {}
    for k, (team, method, make) in enumerate(ENTRIES):
        user = make_user(f"e2e{k}")
        token = requests.post(f"{base}/api/token/", data={"username": user.username,
                              "password": "pw-secret-123"}, timeout=30).json()["token"]  # fmt: skip
        headers = {"Authorization": f"Token {token}"}
        joined = requests.post(f"{base}/api/challenges/stats-e2e/join/", headers=headers,
                               data={"team_name": team}, timeout=30)  # fmt: skip
        assert joined.ok, joined.text
        archive = _predictions(two_site_truth, tmp_path / f"{team}.zip", make)
        with archive.open("rb") as handle:
            response = requests.post(
                f"{base}/api/submissions/", headers=headers, timeout=60,
                data={"phase": phase.pk, "method_name": method},
                files={"file": (archive.name, handle, "application/zip")},
            )  # fmt: skip
        assert response.status_code == 201, response.text
        ids[response.json()["id"]] = team
    for submission_id in ids:
        assert wait_for_status(submission_id, timeout=300).status == Submission.Status.DONE

    # The worker analyses every board after its recompute; wait for all three to be current.
    sites = sorted(set(Case.objects.filter(phase=phase).values_list("site__name", flat=True)))
    assert sites == ["hc18", "psfhs"]
    deadline = time.monotonic() + 180
    while True:
        stored = {s: stored_analysis(phase, None if s == "all" else s) for s in ["all", *sites]}
        ready = all(
            a and a["current"] and a["analysis"] and len(a["analysis"]["entries"]) == len(ENTRIES)
            for a in stored.values()
        )
        if ready:
            break
        assert time.monotonic() < deadline, {s: a and a.get("note") for s, a in stored.items()}
        time.sleep(0.5)

    # Per-case values through the API (everyone may read them in this phase).
    cases: dict[int, list[dict]] = {}
    for submission_id in ids:
        answer = requests.get(f"{base}/api/submissions/{submission_id}/cases/", timeout=30)
        assert answer.ok, answer.text
        cases[submission_id] = answer.json()["cases"]

    def dice(submission_id: int, site: str) -> tuple[list[str], np.ndarray]:
        rows = sorted(
            (c for c in cases[submission_id] if site == "all" or c["site"] == site),
            key=lambda c: c["case"],
        )
        return [c["case"] for c in rows], np.array([c["metrics"]["head"]["dice"] for c in rows])

    report = requests.get(f"{base}/phases/{phase.pk}/report.html", timeout=60)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    sections = dict(
        re.findall(
            r'<section class="board" id="board-\d+" data-site="([^"]+)">(.*?)</section>',
            report.text,
            re.S,
        )  # fmt: skip
    )
    assert sorted(sections) == ["all", *sites]

    total_marked = 0
    for site in ["all", *sites]:
        page = requests.get(
            f"{base}/phases/{phase.pk}/statistics/" + ("" if site == "all" else f"?site={site}"),
            timeout=60,
        )
        assert page.status_code == 200
        assert 'data-state="current"' in page.text
        seed = int(re.search(r'data-seed="(\d+)"', page.text).group(1))
        n_bootstrap = int(re.search(r'data-n-bootstrap="(\d+)"', page.text).group(1))
        (order, page_rows), *_ = _board_tables(page.text)
        assert sorted(order) == sorted(ids)
        values = {}
        for submission_id in order:
            case_ids, values[submission_id] = dice(submission_id, site)
        # The board's best entry is the truth itself, and the worst the most eroded.
        assert ids[order[0]] == "Oracle" and ids[order[-1]] == "Erode9"
        alpha = stored[site]["analysis"]["alpha"]
        marked = _check_board(page.text, order, values, alpha)
        total_marked += marked
        # The report's section of this board shows the same tests.
        assert _check_board(sections[site], order, values, alpha) == marked

        # Rank intervals: the bootstrap repeated from the downloaded values (the phase ranks
        # by the mean of head.dice; hd95 and HC are the other ranking metrics, also
        # downloaded) with the page's seed and resample count.
        # The resamples are drawn over the cases in the analysis's order (its case ids).
        case_order = stored[site]["analysis"]["cases"]
        assert sorted(case_order) == case_ids
        by_case = {s: {c["case"]: c["metrics"]["head"] for c in cases[s]} for s in order}
        matrices = {
            f"head.{name}": np.array(
                [[_number(by_case[s][case].get(name)) for case in case_order] for s in order]
            )
            for name in ("dice", "hd95", "hc_abs_diff_mm")
        }
        again = analyse_board(
            matrices, {"head.dice": True, "head.hd95": False, "head.hc_abs_diff_mm": False},
            order, case_order, method="aggregate_mean", seed=seed, n_bootstrap=n_bootstrap,
        ).to_dict()  # fmt: skip
        (_, report_rows), *_ = _board_tables(sections[site])
        for row in again["rows"]:
            interval = f"{rank_text(row['rank_low'])}–{rank_text(row['rank_high'])}"
            for shown in (page_rows[row["entry"]], report_rows[row["entry"]]):
                assert shown["interval"] == interval, (site, row, shown)
                assert shown["median"] == rank_text(row["median_rank"]), (site, row, shown)
                assert shown["rank"] == str(row["rank"]), (site, row, shown)
    # The qualities differ enough that the tests separate several pairs.
    assert total_marked >= 6
