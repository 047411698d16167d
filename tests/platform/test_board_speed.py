"""Boards stay fast as they grow (issue 12, "Speed"): what makes them fast is tested here as
behaviour, never as timings (those are in benchmarks/leaderboard.py).

- ranks come from sorting and equal the definition (1 + the number of strictly better values)
  on every board shape, ties and missing values included;
- board pages, the every-entry page, the board API and its exports never read an evaluation's
  results document (nor a submission's inference report), and a recompute reads only the
  means it ranks by (and the board values of rows new on a board); the every-entry board costs the same queries at any size;
- a scored submission re-ranks only the boards it touches (all cases and the sites its cases
  are in), leaving the others' rows as they were and right; a ranking change, a new
  participant and latest-entry selection still re-rank every board; one that beats nothing
  (the common case) ranks no board at all;
- a recompute writes only rows that changed; a rescored submission's rows get its new values;
- ``Evaluation.save`` writes the board values and means, migration 0010 backfills the same.
"""

from __future__ import annotations

import importlib
import random

import pytest
from challenges.board_values import board_values
from challenges.leaderboards import all_entries_table, competition_ranks, materialise, recompute
from challenges.models import (
    BoardMeans,
    Case,
    Evaluation,
    LeaderboardEntry,
    Phase,
    Site,
    Submission,
    Team,
)
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.platform.test_leaderboard import _results


def _by_definition(values: list[float | None], higher_first: bool) -> list[int]:
    """The rank's definition, counted: what the board ranked by before it sorted."""
    present = [v for v in values if v is not None]
    return [
        len(present) + 1
        if v is None
        else 1 + sum(1 for o in present if (o > v if higher_first else o < v))
        for v in values
    ]


@pytest.mark.parametrize("higher_first", [True, False])
def test_sorted_ranks_equal_the_definition_with_ties_and_missing_values(higher_first) -> None:
    rng = random.Random(12)
    for n in (0, 1, 2, 3, 7, 50, 400):
        for _ in range(20):
            # Few distinct values so ties are common; mean ranks (x.5) too; some missing.
            pool = [rng.choice([0.5, 0.9, 1.0, 2.5, -0.0, 0.0, 3.25]) for _ in range(4)]
            values = [None if rng.random() < 0.2 else rng.choice(pool) for _ in range(n)]
            ranks = competition_ranks(values, higher_first)
            assert ranks == _by_definition(values, higher_first)
            assert all(type(r) is int for r in ranks)


# --------------------------------------------------------------------------------------------
# A phase with three sites, built from Evaluation rows as the scoring worker writes them.


@pytest.fixture
def three_sites(make_challenge, make_user):
    """(phase, submit, team): ``submit(team, {scope: {metric: mean}})`` stores a scored
    submission whose aggregates hold exactly the scopes given (a submission whose cases are
    all in one site has only "all" and that site)."""
    challenge, phase = make_challenge()
    for name in ("a", "b", "c"):
        site = Site.objects.create(challenge=challenge, name=name)
        Case.objects.create(
            phase=phase, case_id=f"c-{name}", site=site, spacing_row_mm=1, spacing_col_mm=1
        )

    def submit(team: Team, scores: dict[str, dict[str, float]], **fields) -> Submission:
        sub = Submission.objects.create(
            phase=phase,
            creator=team.members.first(),
            team=team,
            status=Submission.Status.DONE,
            **fields,
        )
        Evaluation.objects.create(submission=sub, results=_results(scores))
        return sub

    def team(name: str) -> Team:
        t = Team.objects.create(challenge=challenge, name=name)
        t.members.add(make_user(f"user-{name}"))
        return t

    return phase, submit, team


def _everywhere(dice: float) -> dict[str, dict[str, float]]:
    return {scope: {"dice": dice, "hd95": 10 - dice} for scope in ("all", "a", "b", "c")}


def _rows(phase) -> dict[tuple[str | None, int], tuple]:
    """Every stored row: (site, submission) -> (row id, rank, score, values, computed_at)."""
    return {
        (site, sub): (pk, rank, score, values, at)
        for pk, site, sub, rank, score, values, at in LeaderboardEntry.objects.filter(
            phase=phase
        ).values_list("pk", "site__name", "submission_id", "rank", "score", "values", "computed_at")
    }


def _board(phase, site: str | None) -> list[tuple[int, int]]:
    """(submission, rank) of one board, in board order."""
    rows = LeaderboardEntry.objects.filter(phase=phase, site__name=site)
    return list(rows.order_by("rank", "submission_id").values_list("submission_id", "rank"))


# --------------------------------------------------------------------------------------------
# What board paths read


def _reads(queries: list[dict], column: str) -> list[str]:
    return [q["sql"] for q in queries if f'"{column}"' in q["sql"]]


def test_board_pages_api_and_recompute_never_read_the_results_document(three_sites, client) -> None:
    """The results document holds every case (~250 kB at 700 cases): boards, the every-entry
    page, the API and its exports read the compact board values instead, and a recompute
    reads only the means it ranks by."""
    phase, submit, team = three_sites
    red, blue = team("red"), team("blue")
    submit(red, _everywhere(0.80))
    submit(blue, _everywhere(0.85))
    disqualified = submit(blue, _everywhere(0.99), disqualified=True)
    with CaptureQueriesContext(connection) as ctx:
        recompute(phase)
        scored = submit(red, _everywhere(0.90))
        recompute(phase, scored=scored)
    recompute_queries = [q for q in ctx.captured_queries if "INSERT" not in q["sql"]]
    assert _reads(recompute_queries, "results") == []
    # Ranking reads floats; board values are read only for the few rows new on a board.
    selected = [q for q in _reads(recompute_queries, "board_values") if q.startswith("SELECT")]
    assert selected and all('WHERE "challenges_evaluation"."id" IN (' in q for q in selected)

    organiser = phase.challenge.organisers.get()
    api = f"/api/phases/{phase.pk}/leaderboard"
    page = f"/phases/{phase.pk}/leaderboard/"
    urls = [
        f"{api}/",
        f"{api}/?site=a",
        f"{api}/sites/b/",
        f"{api}/?entries=all",
        f"{api}/?entries=all&site=c",
        f"{api}.csv",
        f"{api}.csv?entries=all",
        f"{api}.json?entries=all&site=a",
        page,
        f"{page}?site=b",
        f"{page}?entries=all",
        f"{page}?entries=all&site=a",
    ]
    for who in (None, organiser):  # organisers' every-entry boards list the disqualified too
        if who is not None:
            client.force_login(who)
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url)
            assert response.status_code == 200, url
            assert _reads(ctx.captured_queries, "results") == [], url
            # Nor a submission's inference report (only the columns a row shows).
            assert _reads(ctx.captured_queries, "inference") == [], url
    with CaptureQueriesContext(connection) as ctx:
        every = all_entries_table(phase, include_disqualified=True).rows
    assert _reads(ctx.captured_queries, "results") == []
    assert [r.submission_id for r in every if r.disqualified] == [disqualified.pk]
    assert (every[0].submission_id, every[0].values["head.dice"]["mean"]) == (scored.pk, 0.90)


def test_every_entry_board_costs_the_same_queries_whatever_its_size(three_sites, client) -> None:
    """Rows load their submission's columns with the board's query (no query per row)."""
    phase, submit, team = three_sites
    counts = []
    for n in (2, 7):
        while Submission.objects.filter(phase=phase).count() < n:
            i = Submission.objects.filter(phase=phase).count()
            submit(team(f"team-{i}"), _everywhere(0.5 + i / 100), method_name=f"m{i}")
        for url in (
            f"/api/phases/{phase.pk}/leaderboard/?entries=all",
            f"/api/phases/{phase.pk}/leaderboard/?site=b",
        ):
            recompute(phase)
            with CaptureQueriesContext(connection) as ctx:
                rows = client.get(url).json()["rows"]
            assert len(rows) == n
            counts.append((url, len(ctx.captured_queries)))
    assert counts[:2] == counts[2:]


# --------------------------------------------------------------------------------------------
# Recompute: only the boards a scored submission touches, only the rows that changed


def test_a_scored_submission_reranks_only_the_boards_its_cases_are_in(three_sites) -> None:
    """Red's new entry has cases in site a only: the all-cases board and a's are ranked
    again; b's and c's rows are not even looked at (a rank planted there survives), and a
    full recompute then finds them as the scoped one left them, right."""
    phase, submit, team = three_sites
    red, blue = team("red"), team("blue")
    r1 = submit(red, _everywhere(0.80))
    b1 = submit(blue, _everywhere(0.85))
    recompute(phase)
    assert _board(phase, None) == _board(phase, "b") == [(b1.pk, 1), (r1.pk, 2)]
    LeaderboardEntry.objects.filter(phase=phase, site__name="c").update(rank=99)
    before = _rows(phase)

    r2 = submit(red, {"all": {"dice": 0.90, "hd95": 9.1}, "a": {"dice": 0.95, "hd95": 9.05}})
    assert recompute(phase, scored=r2) == 4  # rows on the two boards ranked
    after = _rows(phase)
    assert _board(phase, None) == _board(phase, "a") == [(r2.pk, 1), (b1.pk, 2)]
    assert after[("a", r2.pk)][3]["head"]["dice"]["mean"] == 0.95
    for key, row in before.items():
        if key[0] in ("b", "c"):
            assert after[key] == row, key  # same row, rank, values and time
    assert ("a", r1.pk) not in after and (None, r1.pk) not in after

    # Every board is right: a full recompute changes none of the scoped rows, and puts back
    # the rank planted on c's board (which a real recompute never left there).
    recompute(phase)
    full = _rows(phase)
    for key, row in after.items():
        if key[0] != "c":
            assert full[key] == row, key
    assert _board(phase, "c") == _board(phase, "b") == [(b1.pk, 1), (r1.pk, 2)]


@pytest.mark.parametrize("reason", ["ranking changed", "new participant", "latest entry"])
def test_what_still_reranks_every_board(three_sites, reason) -> None:
    """A ranking change (rows built by another ranking), a participant new to the boards (a
    row on every board) and latest-entry selection (the new entry replaces its team's row
    everywhere) rank every board, even after a submission with cases in one site."""
    phase, submit, team = three_sites
    red, blue = team("red"), team("blue")
    r1 = submit(red, _everywhere(0.80))
    b1 = submit(blue, {**_everywhere(0.85), "c": {"dice": 0.5, "hd95": 1.0}})
    recompute(phase)
    LeaderboardEntry.objects.filter(phase=phase, site__name="c").update(rank=99)
    site_a_only = {"all": {"dice": 0.9, "hd95": 9.1}, "a": {"dice": 0.95, "hd95": 9.05}}
    if reason == "ranking changed":  # as saved while no worker ran (no signal queued)
        Phase.objects.filter(pk=phase.pk).update(ranking_metrics=[{"metric": "head.hd95"}])
        scored = submit(red, site_a_only)
        expected_c = [(b1.pk, 1), (r1.pk, 2)]  # lower HD95 first
    elif reason == "new participant":
        scored = submit(team("green"), site_a_only)
        expected_c = [(r1.pk, 1), (b1.pk, 2), (scored.pk, 3)]  # no values in c: last
    else:
        Phase.objects.filter(pk=phase.pk).update(entry_selection=Phase.EntrySelection.LATEST)
        scored = submit(red, site_a_only)
        expected_c = [(b1.pk, 1), (scored.pk, 2)]  # red's latest, without values in c
    recompute(phase, scored=scored)
    assert _board(phase, "c") == expected_c
    scoped = _rows(phase)
    recompute(phase)
    assert _rows(phase) == scoped  # nothing left for a full recompute to change


def test_only_changed_rows_are_written_and_values_follow_a_rescore(three_sites) -> None:
    """A recompute with nothing new writes nothing; a rescored submission's rows get the new
    evaluation's values (copied by the database from its board values)."""
    phase, submit, team = three_sites
    red, blue = team("red"), team("blue")
    r1 = submit(red, _everywhere(0.80))
    submit(blue, _everywhere(0.85))
    recompute(phase)
    with CaptureQueriesContext(connection) as ctx:
        recompute(phase)
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if "challenges_leaderboardentry" in q["sql"]
        and q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == []

    # Rescored (as the scoring worker stores it), now first everywhere.
    Evaluation.objects.filter(submission=r1).update(is_current=False)
    evaluation = Evaluation.objects.create(submission=r1, results=_results(_everywhere(0.95)))
    recompute(phase, scored=r1)
    rows = LeaderboardEntry.objects.filter(phase=phase, submission=r1)
    assert rows.count() == 4
    for row in rows:
        assert (row.rank, row.score, row.evaluation_id) == (1, 0.95, evaluation.pk)
        assert row.values["head"]["dice"] == {"mean": 0.95, "ci95_low": 0.94, "ci95_high": 0.96}


# --------------------------------------------------------------------------------------------
# The compact values: written with each evaluation, backfilled for older ones


def test_board_values_and_means_are_written_with_the_evaluation_and_backfilled(
    three_sites,
) -> None:
    phase, submit, team = three_sites
    scores = {"all": {"dice": 0.8, "hd95": 3.0}, "a": {"dice": 0.7, "hd95": None}}
    sub = submit(team("red"), scores)
    evaluation = Evaluation.objects.get(submission=sub)
    results = evaluation.results
    results["aggregates"]["all"]["head"]["odd"] = "not a number"
    Evaluation.objects.filter(pk=evaluation.pk).update(results=results)
    evaluation.refresh_from_db()
    evaluation.save()  # the results are at hand: both stores follow them

    assert evaluation.board_values == board_values(results)
    assert evaluation.board_values["a"]["head"]["hd95"] == {
        "mean": None,
        "ci95_low": None,
        "ci95_high": None,
    }
    assert evaluation.board_values["all"]["head"]["odd"]["mean"] is None
    means = dict(BoardMeans.objects.values_list("scope", "means"))
    assert means == {
        "all": {"head.dice": 0.8, "head.hd95": 3.0, "head.odd": None},
        "a": {"head.dice": 0.7, "head.hd95": None},
    }

    # A save of other fields leaves both alone; a save without the results at hand too.
    BoardMeans.objects.filter(scope="a").delete()
    evaluation.save(update_fields=["is_current"])
    Evaluation.objects.defer("results").get(pk=evaluation.pk).save()
    assert BoardMeans.objects.count() == 1

    # Migration 0010's backfill rebuilds exactly what save() writes.
    Evaluation.objects.update(board_values={})
    BoardMeans.objects.all().delete()
    migration = importlib.import_module("challenges.migrations.0010_board_values")
    migration.backfill(django_apps, None)
    evaluation.refresh_from_db()
    assert evaluation.board_values == board_values(results)
    assert dict(BoardMeans.objects.values_list("scope", "means")) == means


def test_an_entry_that_beats_nothing_changes_no_board_and_ranks_none(three_sites) -> None:
    """Most scored submissions do not beat their team's entry: on a primary-metric, best-entry
    phase that is decided from the team's own rows, nothing is ranked or written, and the
    boards are what a full recompute makes them. One that beats its team's entry on one site
    only re-ranks the boards."""
    phase, submit, team = three_sites
    red, blue = team("red"), team("blue")
    r1 = submit(red, _everywhere(0.80))
    b1 = submit(blue, _everywhere(0.85))
    recompute(phase)
    before = _rows(phase)

    worse = submit(red, {**_everywhere(0.70), "b": {"dice": 0.80, "hd95": 1.0}})  # ties in b
    with CaptureQueriesContext(connection) as ctx:
        assert recompute(phase, scored=worse) == 0
    sql = [q["sql"] for q in ctx.captured_queries]
    assert not [q for q in sql if q.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert not [q for q in sql if "c0" in q]  # no candidate's means read
    assert _rows(phase) == before
    recompute(phase)
    assert _rows(phase) == before

    better_in_c = submit(red, {**_everywhere(0.60), "c": {"dice": 0.99, "hd95": 1.0}})
    assert recompute(phase, scored=better_in_c) > 0
    assert _board(phase, "c") == [(better_in_c.pk, 1), (b1.pk, 2)]
    assert _board(phase, None) == [(b1.pk, 1), (r1.pk, 2)]
    scoped = _rows(phase)
    recompute(phase)
    assert _rows(phase) == scoped


def test_new_rows_get_the_same_values_from_python_or_the_database(three_sites, monkeypatch) -> None:
    """A few new rows get their values in Python, many (a first ranking, a ranking change)
    from the database: the same values either way."""
    phase, submit, team = three_sites
    for i, name in enumerate(("red", "blue", "green")):
        submit(team(name), {**_everywhere(0.8 + i / 100), "c": {"dice": 0.5 - i / 100}})
    recompute(phase)
    in_python = _rows(phase)
    LeaderboardEntry.objects.filter(phase=phase).delete()
    monkeypatch.setattr(materialise, "FEW", 0)
    with CaptureQueriesContext(connection) as ctx:
        recompute(phase)
    assert [q for q in ctx.captured_queries if 'SET "values"' in q["sql"]]
    in_database = _rows(phase)
    assert {k: v[1:4] for k, v in in_database.items()} == {k: v[1:4] for k, v in in_python.items()}
    assert in_database[("c", Submission.objects.get(team__name="green").pk)][3] == {
        "head": {"dice": {"mean": 0.48, "ci95_low": 0.47, "ci95_high": 0.49}}
    }
