"""Leaderboard cost as submissions grow: latency and DB queries per request.

Builds synthetic scored submissions (Evaluation rows with realistic results: 60 cases over 3
sites, every segmentation metric and HC) in a throwaway database, recomputes the materialised
leaderboard, then times the leaderboard API (overall, one site, CSV export) and, when the web
app provides one, the leaderboard page, at 10, 100 and 1,000 submissions. Latencies are also
given relative to the 10-submission anchor of the same run; the query count must stay flat.

    .venv/bin/python benchmarks/leaderboard.py            # SQLite in a temp folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/leaderboard.py
    (PostgreSQL: a separate fetalbench_leaderboard_bench database is created and dropped.)

"lb rows" counts materialised rows over all four leaderboards (overall + 3 sites).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("FETALBENCH_VAR", tempfile.mkdtemp(prefix="fetalbench-bench-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402

SITES = ("site_a", "site_b", "site_c")
METRICS = ("dice", "iou", "hd", "hd95", "hd95_max", "assd", "masd")
HC = ("hc_pred_mm", "hc_ref_mm", "hc_abs_diff_mm", "hc_diff_mm")
CASES_PER_SITE = 20
PAGE_URL_NAMES = ("web:leaderboard", "web:phase-leaderboard", "web:phase_leaderboard")


def _stats(rng: random.Random, centre: float) -> dict[str, float]:
    mean = centre * rng.uniform(0.9, 1.1)
    return {
        "mean": mean,
        "std": mean * 0.1,
        "median": mean,
        "ci95_low": mean * 0.95,
        "ci95_high": mean * 1.05,
        "n": CASES_PER_SITE,
        "n_nan": 0,
    }


def synthetic_results(rng: random.Random) -> dict:
    centres = {"dice": 0.9, "iou": 0.82, "hd": 6.0, "hd95": 4.0, "hd95_max": 4.5}
    centres |= {"assd": 1.2, "masd": 1.3, "hc_pred_mm": 180.0, "hc_ref_mm": 180.0}
    centres |= {"hc_abs_diff_mm": 3.0, "hc_diff_mm": 0.5}
    cases = [
        {
            "case": f"{site}_{i:03d}",
            "site": site,
            "flags": [],
            "metrics": {"head": {m: centres[m] * rng.uniform(0.8, 1.2) for m in METRICS + HC}},
        }
        for site in SITES
        for i in range(CASES_PER_SITE)
    ]
    aggregates = {
        scope: {"head": {m: _stats(rng, centres[m]) for m in METRICS + HC}}
        for scope in ("all", *SITES)
    }
    return {
        "schema_version": 1,
        "task": {"name": "hc18"},
        "evaluator_version": "bench",
        "inputs": {},
        "cases": cases,
        "aggregates": aggregates,
    }


def build_phase():
    from challenges.models import Case, Challenge, Phase, Site

    challenge = Challenge.objects.create(slug="bench", title="Bench", task_name="hc18")
    phase = Phase.objects.create(challenge=challenge, slug="test", title="Test")
    for site_name in SITES:
        site = Site.objects.create(challenge=challenge, name=site_name)
        Case.objects.bulk_create(
            Case(
                phase=phase,
                case_id=f"{site_name}_{i:03d}",
                site=site,
                spacing_row_mm=0.2,
                spacing_col_mm=0.2,
            )
            for i in range(CASES_PER_SITE)
        )
    return phase


def add_submissions(phase, start: int, stop: int, rng: random.Random) -> None:
    """Four submissions per team; bulk inserts keep set-up time small."""
    from challenges.models import Evaluation, Submission, Team

    teams = {}
    for i in range(start, stop):
        team_no = i // 4
        if team_no not in teams:
            team = Team.objects.filter(challenge=phase.challenge, name=f"team-{team_no}").first()
            if team is None:
                user = User.objects.create(username=f"bench-{team_no}")
                team = Team.objects.create(challenge=phase.challenge, name=f"team-{team_no}")
                team.members.add(user)
            teams[team_no] = team
    subs = Submission.objects.bulk_create(
        Submission(
            phase=phase,
            creator=teams[i // 4].members.first(),
            team=teams[i // 4],
            status=Submission.Status.DONE,
            method_name=f"method {i}",
            fine_tuning_strategy=rng.choice(Submission.Strategy.values),
            params_total=rng.randint(10**5, 10**8),
        )
        for i in range(start, stop)
    )
    Evaluation.objects.bulk_create(
        Evaluation(submission=s, results=synthetic_results(rng), evaluator_version="bench")
        for s in subs
    )


def page_url(phase) -> str | None:
    for name in PAGE_URL_NAMES:
        for kwargs in (
            {"pk": phase.pk},
            {"phase_id": phase.pk},
            {"slug": "bench", "phase": "test"},
        ):
            try:
                return reverse(name, kwargs=kwargs)
            except NoReverseMatch:
                continue
    return None


def measure(client: Client, url: str, repeats: int) -> tuple[float, float, int]:
    times, queries = [], []
    client.get(url)  # warm caches (templates, URL resolver)
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries.append(len(ctx.captured_queries))
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, max(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from challenges.leaderboards import recompute

    setup_test_environment()
    # Our own throwaway database, never the test suite's test_<name> (which may be in use).
    if connection.vendor != "sqlite":
        connection.settings_dict.setdefault("TEST", {})["NAME"] = "fetalbench_leaderboard_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        rng = random.Random(0)
        phase = build_phase()
        client = Client()
        endpoints = {
            "api overall": f"/api/phases/{phase.pk}/leaderboard/",
            "api site": f"/api/phases/{phase.pk}/leaderboard/?site=site_b",
            "api csv": f"/api/phases/{phase.pk}/leaderboard.csv",
        }
        page = page_url(phase)
        if page:
            endpoints["page"] = page
        else:
            print("(no leaderboard page in web.urls yet: measuring the API only)")
        anchors: dict[str, float] = {}
        print(f"database: {connection.vendor}; {args.repeats} requests per cell")
        header = f"{'submissions':>11} {'endpoint':<12} {'lb rows':>7} {'median ms':>10}"
        header += f" {'p95 ms':>8} {'x anchor':>9} {'queries':>8}"
        print(header)
        done = 0
        for size in sizes:
            add_submissions(phase, done, size, rng)
            done = size
            start = time.perf_counter()
            rows = recompute(phase)
            recompute_ms = (time.perf_counter() - start) * 1000
            for label, url in endpoints.items():
                median, p95, queries = measure(client, url, args.repeats)
                anchors.setdefault(label, median)
                print(
                    f"{size:>11} {label:<12} {rows:>7} {median:>10.1f} {p95:>8.1f}"
                    f" {median / anchors[label]:>9.2f} {queries:>8}"
                )
            print(f"{size:>11} {'recompute':<12} {rows:>7} {recompute_ms:>10.1f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
