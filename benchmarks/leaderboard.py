"""Leaderboard cost as submissions grow: recompute time, request latency and where it goes.

Builds synthetic scored submissions in a throwaway database: each Evaluation holds a realistic
700-case results document (the PSFHS 2023 final test size; 3 sites, every segmentation metric
and HC, ~250 kB), four submissions per team. At 10, 100 and 1,000 submissions it measures

- the recompute a scored submission triggers (``recompute(phase, scored=...)``, what the
  scoring worker runs after every evaluation: each sample adds one submission first), and a
  full recompute of every board (what a ranking change runs);
- the board API (all cases, one site, CSV), the every-entry API and the web pages (the board
  and the every-entry page), through Django's test client: median and p95 of ``--repeats``
  requests, the number of SQL queries, and how much of the time the database took;
- for reference, the query boards used to run: every evaluation's aggregates read out of its
  results document (``results -> 'aggregates'``), which PostgreSQL can only answer by
  decompressing and walking the whole document.

Latencies are given in ms and as a ratio to the 10-submission anchor of the same run, so runs
on different machines compare. Targets (issue 12): recompute <= 50 ms and board API and
every-entry page p95 < 100 ms at 1,000 submissions. Results: benchmarks/leaderboard.md.

    .venv/bin/python benchmarks/leaderboard.py            # SQLite in a temp folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/leaderboard.py
    (PostgreSQL: a separate <name>_leaderboard_bench database is created and dropped.)

"lb rows" counts materialised rows over all four leaderboards (overall + 3 sites).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("FETALBENCH_VAR", tempfile.mkdtemp(prefix="fetalbench-bench-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from challenges.board_values import board_values  # noqa: E402
from challenges.leaderboards import recompute  # noqa: E402
from challenges.models import (  # noqa: E402
    BoardMeans,
    Case,
    Challenge,
    Evaluation,
    Phase,
    Site,
    Submission,
    Team,
)
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models.fields.json import KeyTransform  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

SITES = ("site_a", "site_b", "site_c")
N_CASES = 700
METRICS = ("dice", "iou", "hd", "hd95", "hd95_max", "assd", "masd")
HC = ("hc_pred_mm", "hc_ref_mm", "hc_abs_diff_mm", "hc_diff_mm")
CENTRES = {"dice": 0.9, "iou": 0.82, "hd": 6.0, "hd95": 4.0, "hd95_max": 4.5, "assd": 1.2}
CENTRES |= {"masd": 1.3, "hc_pred_mm": 180.0, "hc_ref_mm": 180.0, "hc_abs_diff_mm": 3.0}
CENTRES |= {"hc_diff_mm": 0.5}
#: Submissions added one by one (each followed by its recompute) at every size.
SCORED_SAMPLES = 20


def case_sites() -> list[tuple[str, str]]:
    """(case id, site) for the 700 cases, split over the three sites (234/233/233)."""
    return [(f"{SITES[i % 3]}_{i:04d}", SITES[i % 3]) for i in range(N_CASES)]


def median(values: Iterable[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def _stats(values: list[float]) -> dict[str, float]:
    mean = math.fsum(values) / len(values)
    return {
        "mean": mean,
        "std": math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)),
        "median": median(values),
        "ci95_low": mean * 0.98,
        "ci95_high": mean * 1.02,
        "n": len(values),
        "n_nan": 0,
    }


def synthetic_results(rng: random.Random, quality: float) -> dict:
    """A results document as the evaluator writes it (docs/results-schema.md), 700 cases."""
    cases = []
    for case_id, site in case_sites():
        metrics = {m: round(CENTRES[m] * quality * rng.uniform(0.8, 1.2), 6) for m in METRICS + HC}
        cases.append({"case": case_id, "site": site, "flags": [], "metrics": {"head": metrics}})
    scopes = {"all": cases, **{s: [c for c in cases if c["site"] == s] for s in SITES}}
    aggregates = {
        scope: {
            "head": {m: _stats([c["metrics"]["head"][m] for c in members]) for m in METRICS + HC}
        }
        for scope, members in scopes.items()
    }
    return {
        "schema_version": "1",
        "evaluator_version": "bench",
        "task": {"name": "hc18"},
        "inputs": {},
        "n_cases": len(cases),
        "cases": cases,
        "aggregates": aggregates,
    }


def build_phase() -> Phase:
    challenge = Challenge.objects.create(slug="bench", title="Bench", task_name="hc18")
    phase = Phase.objects.create(challenge=challenge, slug="test", title="Test")
    sites = {name: Site.objects.create(challenge=challenge, name=name) for name in SITES}
    Case.objects.bulk_create(
        Case(phase=phase, case_id=case_id, site=sites[site], spacing_row_mm=0.2, spacing_col_mm=0.2)
        for case_id, site in case_sites()
    )
    return phase


def _team(phase: Phase, number: int) -> Team:
    name = f"team-{number}"
    team = Team.objects.filter(challenge=phase.challenge, name=name).first()
    if team is None:
        user = User.objects.create(username=f"bench-{number}")
        team = Team.objects.create(challenge=phase.challenge, name=name)
        team.members.add(user)
    return team


def add_submissions(
    phase: Phase, start: int, stop: int, rng: random.Random, quality: float | None = None
) -> list[Submission]:
    """Submissions start..stop-1, four per team, each with a scored evaluation (``quality``
    scales every value; random by default); bulk inserts (board values and means written as
    ``Evaluation.save`` writes them) keep set-up time small."""
    if stop <= start:
        return []
    teams = {i // 4: _team(phase, i // 4) for i in range(start, stop)}
    creators = {n: t.members.first() for n, t in teams.items()}
    subs = Submission.objects.bulk_create(
        Submission(
            phase=phase,
            creator=creators[i // 4],
            team=teams[i // 4],
            status=Submission.Status.DONE,
            method_name=f"method {i}",
            fine_tuning_strategy=rng.choice(Submission.Strategy.values),
            params_total=rng.randint(10**5, 10**8),
        )
        for i in range(start, stop)
    )
    evaluations = []
    for s in subs:
        results = synthetic_results(rng, quality or rng.uniform(0.85, 1.1))
        evaluations.append(
            Evaluation(
                submission=s,
                results=results,
                board_values=board_values(results),
                evaluator_version="bench",
            )
        )
    Evaluation.objects.bulk_create(evaluations, batch_size=50)
    BoardMeans.objects.bulk_create(
        (row for e in evaluations for row in BoardMeans.rows_for(e)), batch_size=500
    )
    return subs


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


#: One timed call: (wall ms, ms of this process's CPU, SQL queries, ms waiting on SQL).
Sample = tuple[float, float, int, float]


def sample(action: Callable[[], object]) -> tuple[Sample, object]:
    """Time one call of ``action``; also return what it returned."""
    with CaptureQueriesContext(connection) as ctx:
        start, cpu = time.perf_counter(), time.process_time()
        result = action()
        wall = (time.perf_counter() - start) * 1000
        cpu = (time.process_time() - cpu) * 1000
    sql = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
    return (wall, cpu, len(ctx.captured_queries), sql), result


def summary(samples: list[Sample]) -> tuple[float, float, int, float, float]:
    """(median ms, p95 ms, most queries, median SQL ms, median CPU ms) of ``samples``."""
    walls = [s[0] for s in samples]
    return (
        median(walls),
        _p95(walls),
        max(s[2] for s in samples),
        median(s[3] for s in samples),
        median(s[1] for s in samples),
    )


def timed(action: Callable[[], object], repeats: int) -> tuple[float, float, int, float, float]:
    """``summary`` of ``repeats`` calls of ``action``, after one warm-up."""
    action()
    return summary([sample(action)[0] for _ in range(repeats)])


def get(client: Client, url: str) -> Callable[[], object]:
    def action() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return action


def scored_recomputes(
    phase: Phase, start: int, stop: int, rng: random.Random
) -> tuple[list[Sample], list[Sample]]:
    """Add submissions one at a time and time the recompute each triggers, as the scoring
    worker runs it: (samples whose boards changed, samples that changed no board)."""
    changed, unchanged = [], []
    for i in range(start, stop):
        (sub,) = add_submissions(phase, i, i + 1, rng)
        timing, rows = sample(lambda sub=sub: recompute(phase, scored=sub))
        (changed if rows else unchanged).append(timing)
    return changed, unchanged


def reranks(phase: Phase, repeats: int) -> tuple[float, float, int, float, float]:
    """Full recomputes after a ranking change (every row re-ranked and rewritten): the
    method flips between primary metric and mean rank before each, then is put back."""
    methods = [Phase.RankingMethod.MEAN_RANK, Phase.RankingMethod.PRIMARY]
    samples = []
    for i in range(repeats + 1):  # the first is a warm-up
        Phase.objects.filter(pk=phase.pk).update(ranking_method=methods[i % 2])
        timing, _ = sample(lambda: recompute(phase))
        if i:
            samples.append(timing)
    Phase.objects.filter(pk=phase.pk).update(ranking_method=Phase.RankingMethod.PRIMARY)
    recompute(phase)
    return summary(samples)


def old_aggregates_query(phase: Phase) -> None:
    """What boards read before board values: every evaluation's aggregates out of results."""
    rows = Evaluation.objects.filter(is_current=True, submission__phase=phase).annotate(
        aggregates=KeyTransform("aggregates", "results")
    )
    list(rows.values_list("pk", "aggregates"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "leaderboard.md"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    setup_test_environment()
    # Our own throwaway database, never the test suite's test_<name> (which may be in use).
    if connection.vendor != "sqlite":
        name = connection.settings_dict["NAME"]
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{name}_leaderboard_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        load_before = os.getloadavg()[0]
        report = run(sizes, args.repeats)
        report.load = (load_before, os.getloadavg()[0])
        report.database = database_version()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    if args.out:
        Path(args.out).write_text(report.markdown(args.repeats))
        print(f"wrote {args.out}")


def database_version() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    return connection.vendor


#: Where a profiled call's time goes: (label, "file:function"[, only when called from
#: "file:function"]); each part's cumulative time under cProfile (parts may contain one
#: another: "of which").
PARTS = {
    "recompute, board changed": [
        ("whether it beats nothing (_changes_no_board)", "materialise.py:_changes_no_board"),
        ("who and the criteria means (_candidates)", "materialise.py:_candidates"),
        ("which boards (_boards_to_rank)", "materialise.py:_boards_to_rank"),
        ("ranking by sorting (_rank_board)", "materialise.py:_rank_board"),
        ("rank updates (_update_ranks)", "materialise.py:_update_ranks"),
        ("new rows' values (_set_values)", "materialise.py:_set_values"),
        ("new rows (bulk_create)", "manager.py:manager_method", "materialise.py:_write"),
        ("values copied by the database (_copy_values)", "materialise.py:_copy_values"),
        ("history snapshots (record_snapshots)", "history.py:record_snapshots"),
    ],
    "board API": [
        ("board rows (leaderboard_table)", "tables.py:leaderboard_table"),
        ("of which the stored analysis (attach_analysis)", "tables.py:attach_analysis"),
        ("rows to dicts (as_dict)", "tables.py:as_dict"),
        ("JSON rendering (DRF)", "renderers.py:render"),
    ],
    "every-entry page": [
        ("every entry ranked (all_entries_table)", "tables.py:all_entries_table"),
        ("template rendering (Template.render)", "django.py:render"),
    ],
}


def _name(key: tuple[str, int, str]) -> str:
    return f"{Path(key[0]).name}:{key[2]}"


def profile(action: Callable[[], object]) -> tuple[float, dict[str, float]]:
    """(total ms, {"file:function" or "file:function<file:caller": cumulative ms}) of one
    call of ``action`` under cProfile."""
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    action()
    profiler.disable()
    total = (time.perf_counter() - start) * 1000
    found: dict[str, float] = {}
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    for key, (_, _, _, cumulative, callers) in stats.items():
        name = _name(key)
        found[name] = found.get(name, 0.0) + cumulative * 1000
        for caller, (_, _, _, from_caller) in callers.items():
            via = f"{name}<{_name(caller)}"
            found[via] = found.get(via, 0.0) + from_caller * 1000
    return total, found


@dataclass
class Report:
    """What one run measured, and its markdown (benchmarks/leaderboard.md)."""

    sizes: list[int]
    document_kb: float
    values_kb: float
    rows: list[tuple] = field(default_factory=list)
    profiles: dict[str, tuple[float, dict[str, float]]] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)
    database: str = ""

    def find(self, size: int, what: str) -> tuple | None:
        return next((r for r in self.rows if r[0] == size and r[1].startswith(what)), None)

    def markdown(self, repeats: int) -> str:
        top = max(self.sizes)
        lines = [
            "# Leaderboards as they grow: recompute and request cost",
            "",
            f"Generated by `benchmarks/leaderboard.py` on {date.today().isoformat()} "
            f"({platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}, Python "
            f"{platform.python_version()}, {self.database}; load average {self.load[0]:.1f} at "
            f"the start and {self.load[1]:.1f} at the end: other jobs shared the machine, so "
            "wall times are inflated and vary; the ratios to the 10-submission anchor and the "
            "CPU column vary less). A synthetic phase: 700 cases over 3 sites (the PSFHS 2023 "
            f"final test size), 4 submissions per team, each evaluation's results document "
            f"{self.document_kb:.0f} kB and its board values {self.values_kb:.1f} kB. "
            f"{repeats} requests per cell through Django's test client, {SCORED_SAMPLES} scored "
            "submissions per size (each adds one submission, then times the recompute the "
            "scoring worker runs: `recompute(phase, scored=...)`), 5 re-ranks (ranking method "
            "flipped, every board rewritten).",
            "",
            "Columns: median and p95 wall ms; the median as a multiple of the same line's "
            "10-submission median; SQL queries (most); ms waiting on SQL (median); ms of this "
            "process's CPU (median: Python, the test client and the driver; the rest of the "
            'wall time is the database server and waiting for a core). "lb rows": rows on '
            'all four boards (all cases and 3 sites). "old: aggregates query" is the query '
            "boards ran before board values: every evaluation's aggregates read out of its "
            "results document.",
            "",
            f"## Targets at {top:,} submissions (issue 12)",
            "",
            "| target | measured | met |",
            "| --- | --- | --- |",
        ]
        scored = self.find(top, "recompute (scored)")
        changed = self.find(top, "  board changed")
        nothing = self.find(top, "  beat nothing")
        api = self.find(top, "api board")
        page = self.find(top, "page every")
        if scored:
            parts = [f"median {scored[3]:.0f} ms, p95 {scored[4]:.0f} ms"]
            for row in (changed, nothing):
                if row:
                    what, _, count = row[1].strip().partition(" (")
                    parts.append(f"{what} ({count[:-1]} samples): median {row[3]:.0f} ms")
            met = "yes" if scored[3] <= 50 else "no"
            lines.append(f"| recompute <= 50 ms | {'; '.join(parts)} | {met} |")
        for row, name in ((api, "board API p95 < 100 ms"), (page, "every-entry page p95 < 100 ms")):
            if row:
                met = "yes" if row[4] < 100 else "no"
                lines.append(
                    f"| {name} | p95 {row[4]:.0f} ms (median {row[3]:.0f}, CPU {row[8]:.0f}) | {met} |"
                )
        lines += [
            "",
            "## Every measurement",
            "",
            "| submissions | what | lb rows | median ms | p95 ms | x anchor | queries | SQL ms | CPU ms |",
            "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for size, what, rows, mid, p95, ratio, queries, sql, cpu in self.rows:
            label = what.strip() if not what.startswith("  ") else "- " + what.strip()
            lines.append(
                f"| {size:,} | {label} | {rows:,} | {mid:.1f} | {p95:.1f} | {ratio:.2f} "
                f"| {queries} | {sql:.1f} | {cpu:.1f} |"
            )
        lines += [
            "",
            f"## Where the time goes ({top:,} submissions, one call each under cProfile)",
            "",
            "Cumulative ms of the named parts (cProfile slows Python down, so the total is "
            'above the table\'s; parts named "of which" are inside the part above them).',
            "",
        ]
        for name, (total, found) in self.profiles.items():
            lines.append(f"- **{name}**: {total:.0f} ms profiled")
            for label, function, *caller in PARTS[name]:
                ms = found.get(function + "".join(f"<{c}" for c in caller))
                if ms:
                    lines.append(f"  - {label}: {ms:.1f} ms ({ms / total:.0%})")
        page = self.profiles.get("every-entry page")
        every = self.find(top, "page every")
        rendering = page[1].get("django.py:render") if page else None
        if rendering and every:
            lines += [
                "",
                f"The every-entry page at {top:,} submissions shows {top + 1:,} rows, and "
                f"rendering them is {rendering / page[0]:.0%} of its time "
                f"({rendering / (top + 1):.1f} ms a row profiled): its cost is the template's, "
                "per row shown, not the data's.",
            ]
        lines.append("")
        return "\n".join(lines)


def run(sizes: list[int], repeats: int) -> Report:
    rng = random.Random(0)
    phase = build_phase()
    client = Client()
    api = f"/api/phases/{phase.pk}/leaderboard/"
    page = reverse("web:leaderboard", args=[phase.pk])
    endpoints = {
        "api board": api,
        "api site": f"{api}?site=site_b",
        "api csv": f"/api/phases/{phase.pk}/leaderboard.csv",
        "api every": f"{api}?entries=all",
        "page board": page,
        "page every": f"{page}?entries=all",
    }
    document = json.dumps(synthetic_results(random.Random(1), 1.0))
    values = json.dumps(board_values(json.loads(document)))
    report = Report(sizes, len(document) / 1000, len(values) / 1000)
    print(
        f"database: {connection.vendor}; {N_CASES} cases over {len(SITES)} sites; results "
        f"document {report.document_kb:.0f} kB, board values {report.values_kb:.1f} kB; "
        f"{repeats} requests per cell, {SCORED_SAMPLES} scored submissions per size"
    )
    header = f"{'submissions':>11} {'what':<22} {'lb rows':>7} {'median ms':>10} {'p95 ms':>8}"
    header += f" {'x anchor':>9} {'queries':>8} {'sql ms':>7} {'cpu ms':>7}"
    print(header)
    anchors: dict[str, float] = {}

    def line(size: int, what: str, rows: int, stats: tuple[float, float, int, float, float]):
        mid, p95, queries, sql, cpu = stats
        anchor = anchors.setdefault(what.partition(" (")[0], mid)  # "(n)": samples of that kind
        report.rows.append((size, what, rows, mid, p95, mid / anchor, queries, sql, cpu))
        print(
            f"{size:>11} {what:<22} {rows:>7} {mid:>10.1f} {p95:>8.1f}"
            f" {mid / anchor:>9.2f} {queries:>8} {sql:>7.1f} {cpu:>7.1f}",
            flush=True,
        )

    done = 0
    for size in sizes:
        bulk_to = max(done, size - SCORED_SAMPLES)
        add_submissions(phase, done, bulk_to, rng)
        recompute(phase)  # the board as it stood before the samples
        changed, unchanged = scored_recomputes(phase, bulk_to, size, rng)
        done = size
        rows = phase.leaderboard_entries.count()
        line(size, "recompute (scored)", rows, summary(changed + unchanged))
        for what, samples in (("  board changed", changed), ("  beat nothing", unchanged)):
            if samples:
                line(size, f"{what} ({len(samples)}/{SCORED_SAMPLES})", rows, summary(samples))
        line(size, "recompute (re-rank)", rows, reranks(phase, 5))
        for label, url in endpoints.items():
            line(size, label, rows, timed(get(client, url), repeats))
        line(size, "old: aggregates query", rows, timed(lambda: old_aggregates_query(phase), 5))

    # Where the time goes at the largest size: a submission better than every other (so its
    # boards change), the board API and the every-entry page, each profiled once.
    (best,) = add_submissions(phase, done, done + 1, rng, quality=1.3)
    report.profiles["recompute, board changed"] = profile(lambda: recompute(phase, scored=best))
    report.profiles["board API"] = profile(get(client, endpoints["api board"]))
    report.profiles["every-entry page"] = profile(get(client, endpoints["page every"]))
    return report


if __name__ == "__main__":
    main()
