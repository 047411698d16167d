"""Issue 12 usability defects on the boards' statistics, history and frozen boards: private
per-case results in served analyses, missing values in board keys, per-case methods' history,
the board's ranking time, history's evaluator versions and tau, freezing while analysing."""

from __future__ import annotations

import hashlib
import json
import math
import struct
import threading
import time

import pytest
from challenges.leaderboards import leaderboard_table, recompute
from challenges.leaderboards.analyses import analyse_phase, payload_for, stored_analysis
from challenges.leaderboards.history import (
    AnalysisPending,
    evaluator_versions,
    freeze,
    rank_history,
    tau_between,
)
from challenges.leaderboards.keys import board_key
from challenges.models import (
    BoardMeans,
    Case,
    Evaluation,
    LeaderboardSnapshot,
    Phase,
    Submission,
    Team,
)
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from tests.platform.test_leaderboard_history import (  # board: a fixture
    CASES_PER_SITE,
    _results,
    board,  # noqa: F401
)

pytestmark = pytest.mark.django_db


def _canonical_sha(content) -> str:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_per_case_results_are_not_served_to_who_may_not_see_them(board, client) -> None:  # noqa: F811
    phase, submit, organiser = board
    assert phase.per_case_visibility == Phase.PerCaseVisibility.OWNERS
    submit("red", 0.90, noise_seed=1)
    submit("blue", 0.80, noise_seed=2)
    recompute(phase)
    analyse_phase(phase.pk)
    url = f"/api/phases/{phase.pk}/leaderboard/analysis/"

    anonymous = client.get(url).json()["analysis"]
    assert anonymous["podium"]["case_ranks"] is None
    assert anonymous["cases"] == [] and anonymous["case_sites"] == {}
    assert anonymous["podium"]["rank_histogram"] and anonymous["rows"][0]["rank_low"] is not None
    assert anonymous["significance"]["pvalues"] and "redacted" in anonymous
    stored = stored_analysis(phase)["analysis"]
    assert stored["podium"]["case_ranks"] and stored["cases"]  # the stored one is whole
    assert payload_for(AnonymousUser(), phase, stored)["podium"]["case_ranks"] is None

    # The frozen board: served redacted, stored whole; the organisers' copy verifies.
    client.force_login(organiser)
    whole = client.get(url).json()["analysis"]
    assert whole["podium"]["case_ranks"] == stored["podium"]["case_ranks"]
    frozen = client.post(f"/api/phases/{phase.pk}/leaderboard/frozen/", {}).json()
    assert frozen["content_redacted"] is False
    assert _canonical_sha(frozen["content"]) == frozen["checksum"]
    client.logout()
    public = client.get(f"/api/frozen/{frozen['slug']}/").json()
    assert public["content_redacted"] is True and public["verified"] is True
    assert public["content"]["analysis"]["podium"]["case_ranks"] is None
    assert public["content"]["analysis"]["case_sites"] == {}
    assert public["checksum"] == frozen["checksum"]

    # A phase whose per-case results are public serves them to everyone.
    phase.per_case_visibility = Phase.PerCaseVisibility.EVERYONE
    phase.save()
    assert client.get(url).json()["analysis"]["podium"]["case_ranks"]


# ------------------------------------------------------------------------------------------
# Missing values in board keys


@pytest.mark.django_db(databases=[])
def test_a_missing_value_gives_one_board_key_whatever_its_nan_bits() -> None:
    import warnings

    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from_nanmean = float(np.nanmean(np.array([np.nan, np.nan])))
    arithmetic = float("inf") - float("inf")  # x86: the sign bit set
    negative = -float("nan")
    patterns = {struct.pack("<d", v) for v in (from_nanmean, arithmetic, negative, math.nan)}
    assert len(patterns) > 1  # the NaNs really differ in their bits
    keys = {
        board_key("sig", [(1, {"head.dice": 0.9}), (2, {"head.dice": value})])
        for value in (from_nanmean, arithmetic, negative, math.nan, None, np.float64("nan"))
    }
    assert len(keys) == 1
    assert board_key("sig", [(1, {"head.dice": 0.9}), (2, {"head.dice": 0.5})]) not in keys


def test_a_board_with_a_missing_mean_matches_its_analysis_when_frozen(board, client) -> None:  # noqa: F811
    phase, submit, organiser = board
    submit("red", 0.90, noise_seed=1)
    submit("blue", 0.80, noise_seed=2)
    gap = submit("grey", 0.70, noise_seed=3)
    # Its Dice mean is missing (NaN computed, stored as null), in every scope.
    evaluation = Evaluation.objects.get(submission=gap, is_current=True)
    values = evaluation.board_values
    for scope in values.values():
        scope["head"]["dice"]["mean"] = None
    Evaluation.objects.filter(pk=evaluation.pk).update(board_values=values)
    BoardMeans.objects.filter(evaluation=evaluation).update(means={"head.dice": None})
    recompute(phase)
    analyse_phase(phase.pk)
    assert leaderboard_table(phase).analysis["status"] == "current"
    newest = LeaderboardSnapshot.objects.filter(phase=phase, site=None).latest("computed_at")
    assert newest.intervals_at is not None
    frozen = freeze(phase, by=organiser.username)
    assert frozen.analysis is not None and frozen.intervals_at is not None


# ------------------------------------------------------------------------------------------
# History under the per-case ranking methods


def _submit_cases(phase, name: str, dice: list[float], make_user):
    """A team's scored submission with these per-case Dice values (cases in board order)."""
    cases = list(Case.objects.filter(phase=phase).select_related("site").order_by("case_id"))
    team = Team.objects.filter(challenge=phase.challenge, name=name).first()
    if team is None:
        team = Team.objects.create(challenge=phase.challenge, name=name)
        team.members.add(make_user(f"fix-{name}"))
    sub = Submission.objects.create(
        phase=phase,
        creator=team.members.first(),
        team=team,
        status=Submission.Status.DONE,
        method_name=f"{name} net",
    )
    per_case = {c.case_id: (c.site.name, d) for c, d in zip(cases, dice, strict=True)}
    Evaluation.objects.create(
        submission=sub,
        results=_results(per_case),
        evaluator_version="test-1",
        truth_version=phase.truth_version,
    )
    return sub


def test_history_shows_the_per_case_methods_final_ranks(board, client, make_user) -> None:  # noqa: F811
    phase, _, _ = board
    n = 2 * CASES_PER_SITE
    # "steady" has the higher mean; "spiky" wins every case but two, which it fails.
    spiky = _submit_cases(phase, "spiky", [0.0, 0.0] + [0.95] * (n - 2), make_user)
    steady = _submit_cases(phase, "steady", [0.90] * n, make_user)
    recompute(phase)
    analyse_phase(phase.pk)
    assert [r.submission_id for r in leaderboard_table(phase).rows] == [steady.pk, spiky.pk]

    phase.ranking_method = Phase.RankingMethod.RANK_THEN_AGGREGATE
    phase.save()
    recompute(phase)
    analyse_phase(phase.pk)
    live = leaderboard_table(phase)
    assert [r.submission_id for r in live.rows] == [spiky.pk, steady.pk] and not live.stale

    url = f"/api/phases/{phase.pk}/leaderboard/"
    then = client.get(url, {"as_of": timezone.now().isoformat()}).json()
    assert then["ranks_pending"] is False
    assert [(r["submission"], r["rank"]) for r in then["rows"]] == [(spiky.pk, 1), (steady.pk, 2)]
    history = rank_history(spiky)
    assert [(h["rank"], h["ranks_pending"]) for h in history] == [(2, False), (1, False)]

    # A new entry under the per-case method: its snapshot gets the final ranks too.
    late = _submit_cases(phase, "late", [0.93] * n, make_user)
    recompute(phase, scored=late)
    analyse_phase(phase.pk)
    live = [(r.submission_id, r.rank) for r in leaderboard_table(phase).rows]
    now = client.get(url, {"as_of": timezone.now().isoformat()}).json()
    assert now["ranks_pending"] is False
    assert [(r["submission"], r["rank"]) for r in now["rows"]] == live
    for site in ("north", "south"):
        shown = client.get(f"{url}sites/{site}/", {"as_of": timezone.now().isoformat()}).json()
        assert shown["ranks_pending"] is False, site
    assert all(not h["ranks_pending"] for h in rank_history(spiky))
    assert all(not h["ranks_pending"] for h in rank_history(late))


@pytest.mark.django_db(transaction=True)
def test_a_board_that_changed_during_its_analysis_keeps_its_final_ranks_in_history(
    board,  # noqa: F811
    make_user,
) -> None:
    """The worker's analysis computes without a lock, then takes the recompute's lock; a
    recompute in between moves the board on. The snapshot of the content it analysed still
    gets that analysis: final ranks, ranks_pending false (it kept its provisional ones)."""
    phase, _, _ = board
    n = 2 * CASES_PER_SITE
    spiky = _submit_cases(phase, "spiky", [0.0, 0.0] + [0.95] * (n - 2), make_user)
    steady = _submit_cases(phase, "steady", [0.90] * n, make_user)
    phase.ranking_method = Phase.RankingMethod.RANK_THEN_AGGREGATE
    phase.save()
    recompute(phase)
    first = LeaderboardSnapshot.objects.filter(phase=phase, site=None).latest("computed_at")
    assert first.ranks_pending is True and first.rows[0]["submission"] == steady.pk

    outcome: dict[str, str] = {}
    with transaction.atomic():
        # Hold the phase's lock: the analysis computes, stores, then waits for it.
        Phase.objects.select_for_update().get(pk=phase.pk)
        worker = threading.Thread(target=_analyse_in_thread, args=(phase.pk, outcome))
        worker.start()
        _wait_for_a_lock_wait(worker)
        late = _submit_cases(phase, "late", [0.50] * n, make_user)
        recompute(phase, scored=late)
    worker.join(60)
    assert "changed meanwhile" in outcome["all"], outcome
    first.refresh_from_db()
    assert first.ranks_pending is False and first.intervals_at is not None
    assert [r["submission"] for r in first.rows] == [spiky.pk, steady.pk]
    assert rank_history(spiky)[0]["rank"] == 1


def _analyse_in_thread(phase_id: int, outcome: dict[str, str]) -> None:
    try:
        outcome.update(analyse_phase(phase_id))
    finally:
        connection.close()


def _wait_for_a_lock_wait(worker: threading.Thread, timeout: float = 60.0) -> None:
    """Until another connection waits for a lock (the analysis, at the phase's lock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker.is_alive():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE NOT l.granted AND l.pid <> pg_backend_pid() "
                "AND a.datname = current_database()"  # not another suite's waits on this server
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError("the analysis never waited for the phase's lock")


# ------------------------------------------------------------------------------------------
# The board's ranking time


def test_the_board_says_when_a_recompute_last_changed_it(board, client) -> None:  # noqa: F811
    phase, submit, _ = board
    submit("red", 0.90, noise_seed=1)
    submit("blue", 0.80, noise_seed=2)
    recompute(phase)
    time.sleep(0.01)
    grey = submit("grey", 0.70, noise_seed=3)
    recompute(phase)
    grey_at = leaderboard_table(phase).computed_at
    time.sleep(0.01)
    # Disqualifying the last-ranked entry changes the board, but no remaining row moves:
    # only its row goes, and the others' rows keep their older times.
    Submission.objects.filter(pk=grey.pk).update(disqualified=True)
    before = timezone.now()
    recompute(phase)
    table = leaderboard_table(phase)
    assert len(table.rows) == 2
    assert table.computed_at >= before > grey_at
    api = client.get(f"/api/phases/{phase.pk}/leaderboard/").json()
    assert api["computed_at"] == table.computed_at.isoformat()
    # A recompute that changes nothing leaves the time as it is.
    recompute(phase)
    assert leaderboard_table(phase).computed_at == table.computed_at


# ------------------------------------------------------------------------------------------
# History's evaluator versions and Kendall's tau


def test_history_lists_each_evaluator_version_once_and_tau_per_team(board, client) -> None:  # noqa: F811
    phase, submit, _ = board
    teams = [f"t{i}" for i in range(6)]
    for i, name in enumerate(teams):
        submit(name, 0.90 - 0.05 * i, noise_seed=i + 1)
    recompute(phase)
    assert evaluator_versions(phase) == "test-1"
    # Another entry scored below everyone: the six keep their order, tau exactly 1.
    submit("t6", 0.20, noise_seed=9)
    recompute(phase)
    # The 6th team's new best entry jumps to 2nd: the board changed, tau drops.
    submit("t5", 0.88, noise_seed=10)
    recompute(phase)
    analyse_phase(phase.pk)
    listed = client.get(f"/api/phases/{phase.pk}/leaderboard/snapshots/").json()["snapshots"]
    assert listed[-1]["evaluator_version"] == "test-1"
    jump, below, first = listed[0], listed[1], listed[2]
    assert (below["tau_previous"], below["n_common_previous"]) == (1.0, 6)
    assert jump["n_common_previous"] == 7 and jump["tau_previous"] < 0.9
    assert first["tau_previous"] is None
    assert tau_between({"s1": 1, "s2": 2, "s3": 3}, {"s1": 1, "s2": 2, "s3": 3})[0] == 1.0


# ------------------------------------------------------------------------------------------
# Freezing waits for the board's statistics


def test_a_board_is_not_frozen_while_its_statistics_are_computed(
    board,  # noqa: F811
    client,
    make_user,
) -> None:
    phase, submit, organiser = board
    submit("red", 0.90, noise_seed=1)
    recompute(phase)  # the worker has not analysed it yet
    url = f"/api/phases/{phase.pk}/leaderboard/frozen/"
    client.force_login(organiser)
    refused = client.post(url, {})
    assert refused.status_code == 409
    assert "statistics for this board are being computed" in refused.json()["detail"]
    with pytest.raises(AnalysisPending):
        freeze(phase)

    analyse_phase(phase.pk)
    submit("blue", 0.80, noise_seed=2)
    recompute(phase)  # outdated: the stored analysis is of the board before blue
    assert client.post(url, {}).status_code == 409

    admin = make_user("fix-admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    answer = client.post(
        "/admin/challenges/phase/",
        {"action": "freeze_final_boards", "_selected_action": [phase.pk]},
        follow=True,
    )
    shown = [(m.level_tag, str(m)) for m in answer.context["messages"]]
    assert shown and all(tag == "error" for tag, _ in shown), shown
    assert all("being computed" in text for _, text in shown)
    assert not LeaderboardSnapshot.objects.filter(phase=phase, frozen_at__isnull=False).exists()

    analyse_phase(phase.pk)
    client.force_login(organiser)
    frozen = client.post(url, {})
    assert frozen.status_code == 201
    assert frozen.json()["content"]["analysis"]["entries"]
    assert frozen.json()["intervals"] is not None
