"""Issue 12: stored board analyses (rank intervals, ties, the per-case ranking methods), board
history (snapshots, ``?as_of=``, Kendall's tau, rank over time) and frozen final boards.

Most tests build boards from Evaluation rows shaped as the worker writes them (per-case values
and their aggregates) and call the recompute and the worker's analysis step directly; one runs
the real worker on real images (``celery_worker``): scoring, recompute, then the analysis task
queued by name.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from datetime import timedelta
from statistics import mean, median

import numpy as np
import pytest
from challenges.leaderboards import analyses, board_scopes, leaderboard_table, recompute
from challenges.leaderboards.analyses import SEED, analyse_phase, stored_analysis
from challenges.leaderboards.history import (
    FreezeRefused,
    canonical_content,
    freeze,
    rank_history,
    snapshots,
    verify,
)
from challenges.models import (
    BoardAnalysis,
    Case,
    Evaluation,
    FrozenSnapshot,
    LeaderboardSnapshot,
    Phase,
    Site,
    Submission,
    Team,
)
from challenges.services.submissions import create_submission
from challenges.services.teams import join_challenge
from challenges.services.truth import load_truth
from challenges.services.truth_status import rerun_stale
from config.celery import app as celery_app
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from evaluator.io.masks import read_label_map, write_label_map
from evaluator.statistics import analyse_board
from tests.platform.conftest import make_predictions_zip, upload, wait_for_status

CASES_PER_SITE = 12


def _stats(values: list[float]) -> dict:
    return {
        "mean": mean(values),
        "std": 0.0,
        "median": median(values),
        "ci95_low": min(values),
        "ci95_high": max(values),
        "n": len(values),
        "n_nan": 0,
    }


def _results(per_case: dict[str, tuple[str, float]]) -> dict:
    """A results document (docs/results-schema.md) from {case: (site, head dice)}: the cases
    and their aggregates, all cases and per site."""
    cases = [
        {"case": case, "site": site, "flags": [], "metrics": {"head": {"dice": dice}}}
        for case, (site, dice) in sorted(per_case.items())
    ]
    sites = sorted({site for site, _ in per_case.values()})
    aggregates = {"all": {"head": {"dice": _stats([d for _, d in per_case.values()])}}}
    for name in sites:
        values = [d for site, d in per_case.values() if site == name]
        aggregates[name] = {"head": {"dice": _stats(values)}}
    return {
        "schema_version": "1",
        "evaluator_version": "test-1",
        "task": "hc18",
        "inputs": {"truth_version": "v1"},
        "n_cases": len(cases),
        "cases": cases,
        "aggregates": aggregates,
    }


@pytest.fixture
def board(make_challenge, make_user):
    """A two-site phase (12 cases each) and a way to score a team's submission from one
    Dice level plus fixed per-case noise; returns (phase, submit, case ids)."""
    organiser = make_user("history-organiser")
    challenge, phase = make_challenge(slug="history", organiser=organiser)
    case_sites = {}
    for name in ("north", "south"):
        site = Site.objects.create(challenge=challenge, name=name)
        for i in range(CASES_PER_SITE):
            case = f"{name}-{i:02d}"
            Case.objects.create(
                phase=phase, case_id=case, site=site, spacing_row_mm=1, spacing_col_mm=1
            )
            case_sites[case] = name
    phase.truth_version = "v1"
    phase.save()
    rng = np.random.default_rng(7)
    shared_noise = rng.normal(0, 0.02, len(case_sites))

    def submit(team_name: str, level: float, noise_seed: int | None = None) -> Submission:
        team = Team.objects.filter(challenge=challenge, name=team_name).first()
        if team is None:
            team = Team.objects.create(challenge=challenge, name=team_name)
            team.members.add(make_user(f"user-{team_name}"))
        noise = (
            shared_noise
            if noise_seed is None
            else np.random.default_rng(noise_seed).normal(0, 0.02, len(case_sites))
        )
        per_case = {
            case: (site, float(np.clip(level + noise[i], 0, 1)))
            for i, (case, site) in enumerate(sorted(case_sites.items()))
        }
        sub = Submission.objects.create(
            phase=phase,
            creator=team.members.first(),
            team=team,
            status=Submission.Status.DONE,
            method_name=f"{team_name} net",
        )
        Evaluation.objects.create(
            submission=sub, results=_results(per_case), evaluator_version="test-1",
            truth_version=phase.truth_version,
        )  # fmt: skip
        return sub

    return phase, submit, organiser


def rescore(submission: Submission, level: float, noise_seed: int) -> Evaluation:
    """A new current evaluation of ``submission`` (as a rerun stores), at another level."""
    cases = Evaluation.objects.get(submission=submission, is_current=True).results["cases"]
    noise = np.random.default_rng(noise_seed).normal(0, 0.02, len(cases))
    per_case = {
        c["case"]: (c["site"], float(np.clip(level + noise[i], 0, 1))) for i, c in enumerate(cases)
    }
    Evaluation.objects.filter(submission=submission).update(is_current=False)
    return Evaluation.objects.create(
        submission=submission, results=_results(per_case), evaluator_version="test-1",
        truth_version=submission.phase.truth_version,
    )  # fmt: skip


def _by_participant(table) -> dict[str, object]:
    return {row.participant: row for row in table.rows}


# ------------------------------------------------------------------------------------------
# Analyses stored after a recompute; rank intervals and ties on the rows


@pytest.mark.django_db
def test_analysis_is_stored_per_board_and_rows_carry_intervals_and_ties(board, client) -> None:
    phase, submit, organiser = board
    strong = submit("strong", 0.95, noise_seed=1)
    twin_a = submit("twin-a", 0.80, noise_seed=2)
    twin_b = submit("twin-b", 0.80, noise_seed=3)
    recompute(phase)
    before = leaderboard_table(phase)
    assert before.analysis["status"] == "pending"  # nothing computed on a read
    assert all(row.median_rank is None and row.tied_with is None for row in before.rows)

    done = analyse_phase(phase.pk)
    assert set(done) == {"all", "north", "south"}
    assert BoardAnalysis.objects.filter(phase=phase).count() == 3

    stored = stored_analysis(phase)
    assert stored["current"] is True and stored["updating"] is False
    assert stored["seed"] == SEED and stored["n_bootstrap"] == 1000
    payload = stored["analysis"]
    ids = [strong.pk, twin_a.pk, twin_b.pk]
    assert sorted(payload["entries"]) == sorted(ids)
    assert payload["entry_info"][str(strong.pk)]["team"] == "strong"
    assert payload["entry_info"][str(strong.pk)]["method"] == "strong net"
    assert len(payload["cases"]) == 2 * CASES_PER_SITE
    assert payload["board"]["site"] == "all" and payload["method"] == "aggregate_mean"

    # The stored numbers are analyse_board's on the per-case values, seeded: reproducible.
    values = np.array(
        [
            [
                c["metrics"]["head"]["dice"]
                for c in Evaluation.objects.get(submission_id=e).results["cases"]
            ]
            for e in payload["entries"]
        ]
    )
    again = analyse_board(
        {"head.dice": values}, {"head.dice": True}, payload["entries"], payload["cases"],
        seed=SEED, n_bootstrap=1000,
    ).to_dict()  # fmt: skip
    assert again["rows"] == payload["rows"]
    assert again["bootstrap"]["frequencies"] == payload["bootstrap"]["frequencies"]

    table = leaderboard_table(phase)
    assert table.analysis["status"] == "current"
    rows = _by_participant(table)
    assert rows["strong"].rank == 1 and rows["strong"].tied_with == []
    assert rows["strong"].rank_low == rows["strong"].rank_high == 1.0
    assert rows["twin-a"].tied_with == [twin_b.pk] and rows["twin-b"].tied_with == [twin_a.pk]
    assert rows["twin-a"].rank_low <= 2 <= rows["twin-a"].rank_high

    # The API's rows and the CSV export carry them too.
    api = client.get(f"/api/phases/{phase.pk}/leaderboard/").json()
    assert api["analysis"]["status"] == "current"
    api_rows = {r["participant"]: r for r in api["rows"]}
    assert api_rows["twin-a"]["tied_with"] == [twin_b.pk]
    assert api_rows["twin-a"]["statistically_tied"] is True
    assert api_rows["strong"]["statistically_tied"] is False
    assert api_rows["strong"]["median_rank"] == 1.0
    csv_text = client.get(f"/api/phases/{phase.pk}/leaderboard.csv").content.decode()
    header, *lines = csv_text.strip().splitlines()
    assert "median_rank" in header and "tied_with" in header and "interval_status" in header
    columns = header.split(",")
    line = next(x for x in lines if ",twin-a," in x).split(",")
    assert line[columns.index("tied_with")] == str(twin_b.pk)
    assert line[columns.index("interval_status")] == "current"

    # The analysis endpoint gives the organisers the whole payload; per site as well
    # (others get it without case-level data: test_leaderboard_fixes).
    client.force_login(organiser)
    site = client.get(f"/api/phases/{phase.pk}/leaderboard/analysis/?site=north").json()
    assert site["site"] == "north" and site["current"] is True
    assert len(site["analysis"]["cases"]) == CASES_PER_SITE
    assert (
        client.get(f"/api/phases/{phase.pk}/leaderboard/analysis/?site=nowhere").status_code == 404
    )


@pytest.mark.django_db
def test_a_changed_board_shows_the_previous_analysis_as_being_updated(board, client) -> None:
    phase, submit, _ = board
    submit("red", 0.9, noise_seed=1)
    submit("blue", 0.7, noise_seed=2)
    recompute(phase)
    analyse_phase(phase.pk)
    first = stored_analysis(phase)["computed_at"]

    submit("green", 0.8, noise_seed=3)
    recompute(phase)
    stored = stored_analysis(phase)
    assert stored["computed_at"] == first and stored["current"] is False
    assert stored["updating"] is True
    table = leaderboard_table(phase)
    assert table.analysis["status"] == "updating"
    # Never an interval from the previous board on the new rows: pending, all of them.
    assert all(row.median_rank is None and row.tied_with is None for row in table.rows)
    api = client.get(f"/api/phases/{phase.pk}/leaderboard/analysis/").json()
    assert api["updating"] is True and api["analysis"]["entries"]

    analyse_phase(phase.pk)
    assert leaderboard_table(phase).analysis["status"] == "current"
    # A second run on the same board reuses the stored analysis instead of computing again.
    assert analyse_phase(phase.pk)["all"] == "up to date"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["rank_then_aggregate", "test_then_rank", "aggregate_median"])
def test_per_case_methods_are_ranked_by_the_worker(board, method) -> None:
    """The per-case methods' ranks come from the analysis: until it ran, the board says it is
    being updated (stale), then its ranks are the analysis's, and its snapshot has them."""
    phase, submit, _ = board
    subs = [submit(name, level, seed) for name, level, seed in
            [("a", 0.9, 1), ("b", 0.85, 2), ("c", 0.6, 3)]]  # fmt: skip
    phase.ranking_method = method
    phase.save()
    recompute(phase)
    pending = leaderboard_table(phase)
    assert pending.stale is True and pending.analysis["ranks_pending"] is True
    snapshot = snapshots(phase)[0]
    assert snapshot.ranks_pending is True

    analyse_phase(phase.pk)
    table = leaderboard_table(phase)
    assert table.stale is False and table.ranking_method == method
    assert table.analysis["ranks_pending"] is False and table.analysis["status"] == "current"
    payload = stored_analysis(phase)["analysis"]
    ranking = payload["rankings"][method]
    expected = dict(zip(payload["entries"], ranking["ranks"], strict=True))
    assert {row.submission_id: row.rank for row in table.rows} == expected
    assert [row.submission_id for row in table.rows][0] == subs[0].pk
    snapshot = LeaderboardSnapshot.objects.get(pk=snapshot.pk)
    assert snapshot.ranks_pending is False and snapshot.intervals_at is not None
    assert snapshot.ranks == {f"s{k}": v for k, v in expected.items()}


# ------------------------------------------------------------------------------------------
# History: snapshots, as_of, Kendall's tau, rank over time


@pytest.mark.django_db
def test_as_of_returns_the_board_before_a_ranking_change(board, client) -> None:
    phase, submit, _ = board
    url = f"/api/phases/{phase.pk}/leaderboard/"
    missing = client.get(url, {"as_of": "2001-01-01T00:00:00Z"})
    assert missing.status_code == 404 and "no snapshot" in missing.json()["detail"]

    red = submit("red", 0.90, noise_seed=1)
    blue = submit("blue", 0.80, noise_seed=2)
    recompute(phase)
    analyse_phase(phase.pk)
    between = timezone.now()
    time.sleep(0.01)
    better = submit("blue", 0.95, noise_seed=3)  # blue's new best overtakes red
    recompute(phase)
    analyse_phase(phase.pk)

    then = client.get(url, {"as_of": between.isoformat()}).json()
    assert [r["submission"] for r in then["rows"]] == [red.pk, blue.pk]
    assert [r["participant"] for r in then["rows"]] == ["red", "blue"]
    assert then["as_of"] == between.isoformat() and then["ranking_method"] == "primary"
    assert then["rows"][0]["median_rank"] is not None  # the analysis completed that snapshot
    now = client.get(url, {"as_of": timezone.now().isoformat()}).json()
    assert [r["submission"] for r in now["rows"]] == [better.pk, red.pk]
    site = client.get(f"{url}sites/north/", {"as_of": between.isoformat()}).json()
    assert site["site"] == "north" and len(site["rows"]) == 2

    for bad in ("yesterday", "2025-13-01T00:00:00Z", ""):
        answer = client.get(url, {"as_of": bad})
        assert answer.status_code == 400 and "ISO 8601" in answer.json()["detail"], bad
    assert client.get(url, {"as_of": between.isoformat(), "entries": "all"}).status_code == 400

    # One entry's rank over time; blue's first submission left the board with its better one.
    history = client.get(f"/api/submissions/{red.pk}/rank-history/").json()["history"]
    assert [h["rank"] for h in history] == [1, 2]
    assert [h["rank"] for h in rank_history(blue)] == [2]

    # Kendall's tau-b between consecutive snapshots, over the participants both have: red
    # and blue (blue's row is its new best entry now, which overtook red): reversed.
    listed = client.get(f"{url}snapshots/").json()["snapshots"]
    assert len(listed) == 2 and listed[0]["computed_at"] > listed[1]["computed_at"]
    assert listed[0]["n_common_previous"] == 2 and listed[0]["tau_previous"] == -1.0
    assert listed[1]["n_common_previous"] == 0

    # A change of ranking method: the history keeps what each method said, and when.
    before_method = timezone.now()
    time.sleep(0.01)
    phase.ranking_method = Phase.RankingMethod.TEST_THEN_RANK
    phase.save()
    recompute(phase)
    analyse_phase(phase.pk)
    assert client.get(url, {"as_of": before_method.isoformat()}).json()["ranking_method"] == (
        "primary"
    )
    after = client.get(url, {"as_of": timezone.now().isoformat()}).json()
    assert after["ranking_method"] == "test_then_rank" and after["ranks_pending"] is False
    assert [r["score"] for r in after["rows"]] == [1, 0]  # significant wins, as ranked


@pytest.mark.django_db
def test_kendall_tau_between_consecutive_snapshots(board, client) -> None:
    """Rescoring (as after a truth correction) swaps two entries: tau-b -1; a third entry
    scored below both keeps the pair's order: tau-b 1 over the common ones."""
    phase, submit, _ = board
    red = submit("red", 0.9, noise_seed=1)
    blue = submit("blue", 0.8, noise_seed=2)
    recompute(phase)
    rescore(red, 0.7, noise_seed=3)
    recompute(phase)
    submit("green", 0.5, noise_seed=4)
    recompute(phase)
    analyse_phase(phase.pk)  # the worker fills tau for every snapshot
    listed = client.get(f"/api/phases/{phase.pk}/leaderboard/snapshots/").json()["snapshots"]
    assert [(s["tau_previous"], s["n_common_previous"]) for s in listed] == [
        (1.0, 2),
        (-1.0, 2),
        (None, 0),
    ]
    assert [h["rank"] for h in rank_history(blue)] == [2, 1, 1]


@pytest.mark.django_db
def test_a_recompute_that_changes_nothing_adds_no_snapshot(board) -> None:
    phase, submit, _ = board
    submit("red", 0.9, noise_seed=1)
    recompute(phase)
    recompute(phase)
    assert LeaderboardSnapshot.objects.filter(phase=phase).count() == 3  # all, north, south


# ------------------------------------------------------------------------------------------
# Frozen final boards


@pytest.mark.django_db
def test_a_frozen_board_never_changes_and_its_checksum_verifies(board, client) -> None:
    phase, submit, organiser = board
    with pytest.raises(FreezeRefused):
        freeze(phase)
    red = submit("red", 0.90, noise_seed=1)
    submit("blue", 0.80, noise_seed=2)
    recompute(phase)
    analyse_phase(phase.pk)

    url = f"/api/phases/{phase.pk}/leaderboard/frozen/"
    assert client.post(url, {}).status_code == 404  # anonymous
    client.force_login(organiser)
    answer = client.post(url, {"title": "Final"}, content_type="application/json")
    assert answer.status_code == 201, answer.content
    frozen = answer.json()
    assert frozen["frozen"] is True and frozen["verified"] is True
    digest = hashlib.sha256(
        json.dumps(frozen["content"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        .encode("utf-8")
    ).hexdigest()  # fmt: skip
    assert digest == frozen["checksum"]
    assert frozen["content"]["analysis"]["entries"]  # the analysis it matched, kept with it
    assert [r["participant"] for r in frozen["rows"]] == ["red", "blue"]
    snapshot = LeaderboardSnapshot.objects.get(slug=frozen["slug"])

    # Immutable: the model, bulk updates and the database all refuse.
    snapshot.title = "changed"
    with pytest.raises(FrozenSnapshot):
        snapshot.save()
    with pytest.raises(FrozenSnapshot):
        snapshot.delete()
    with pytest.raises(FrozenSnapshot):
        LeaderboardSnapshot.objects.filter(phase=phase).update(title="x")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE challenges_leaderboardsnapshot SET rows = '[]' WHERE id = %s", [snapshot.pk]
        )

    # A truth change and a rerun re-rank the live board; the frozen one stays as it was.
    phase.truth_version = "v2"
    phase.save()
    rescore(red, 0.50, noise_seed=4)
    recompute(phase)
    analyse_phase(phase.pk)
    assert leaderboard_table(phase).rows[0].participant == "blue"
    again = client.get(f"/api/frozen/{frozen['slug']}/").json()
    assert again["content"] == frozen["content"] and again["checksum"] == frozen["checksum"]
    assert again["verified"] is True
    assert client.get(f"/api/frozen/{snapshot.pk}/").json()["slug"] == frozen["slug"]
    fresh = LeaderboardSnapshot.objects.get(pk=snapshot.pk)
    assert verify(fresh) and canonical_content(fresh)["rows"] == frozen["content"]["rows"]
    listed = client.get(url).json()["frozen"]
    assert [f["slug"] for f in listed] == [frozen["slug"]]
    # Frozen copies are not history: as_of and the snapshot list read the live snapshots.
    assert all(not s["frozen"] for s in client.get(
        f"/api/phases/{phase.pk}/leaderboard/snapshots/").json()["snapshots"])  # fmt: skip


# ------------------------------------------------------------------------------------------
# Who may see them: exactly who may see the board


@pytest.mark.django_db
def test_hidden_boards_analyses_and_history_are_for_organisers_only(
    board, client, make_user
) -> None:
    phase, submit, organiser = board
    red = submit("red", 0.9, noise_seed=1)
    submit("blue", 0.8, noise_seed=2)
    recompute(phase)
    analyse_phase(phase.pk)
    frozen = freeze(phase, by="org")
    Phase.objects.filter(pk=phase.pk).update(leaderboard_visibility=Phase.Visibility.HIDDEN)
    when = (timezone.now() + timedelta(seconds=1)).isoformat()
    urls = [
        f"/api/phases/{phase.pk}/leaderboard/analysis/",
        f"/api/phases/{phase.pk}/leaderboard/snapshots/",
        f"/api/phases/{phase.pk}/leaderboard/snapshots/{snapshots(phase)[0].pk}/",
        f"/api/phases/{phase.pk}/leaderboard/frozen/",
        f"/api/phases/{phase.pk}/leaderboard/?as_of={when}",
        f"/api/frozen/{frozen.slug}/",
        f"/api/submissions/{red.pk}/rank-history/",
    ]
    participant = red.team.members.first()
    for user in (None, participant, make_user("stranger")):
        client.logout()
        if user is not None:
            client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
    client.force_login(organiser)
    for url in urls:
        assert client.get(url).status_code == 200, url


# ------------------------------------------------------------------------------------------
# The real worker: scoring, recompute, the analysis task; a truth correction and a rerun


def _wait(predicate, what: str, log, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"{what}\n{log.read_text()[-4000:]}"
        time.sleep(0.25)
    return found


def _drain(log, timeout: float = 120.0) -> None:
    """Wait until the worker has finished every task queued so far (the analyses that each
    recompute queues, among them): the test database is emptied right after the test, and a
    task still writing then could deadlock with it. Kombu's Redis transport keeps queued
    messages in a list named after the queue, and the ones taken but not acknowledged yet
    (tasks are acknowledged late) in the "unacked" hash."""
    with celery_app.connection_for_write() as connection_:
        client = connection_.default_channel.client
        _wait(
            lambda: not client.llen("scoring") and not client.hlen("unacked"),
            "the worker never went idle",
            log,
            timeout,
        )


def _corrected_truth(source, out):
    """The truth set with one label moved (an organiser's correction): a new truth version."""
    shutil.copytree(source, out)
    label = sorted((out / "labels").glob("*.png"))[0]
    write_label_map(label, np.roll(read_label_map(label), 25, axis=1), spacing=(1.0, 1.0))
    return out


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_stores_analyses_and_history_and_frozen_boards_survive_a_rerun(
    celery_worker, client, make_challenge, make_user, two_site_truth, tmp_path
) -> None:

    organiser = make_user("worker-organiser")
    challenge, phase = make_challenge(slug="analysed", organiser=organiser, daily_limit=0)
    load_truth(phase, two_site_truth)
    subs = []
    for name, shift in (("close", 2), ("far", 9)):
        user = make_user(f"worker-{name}")
        join_challenge(user, challenge, f"Team {name}")
        archive = make_predictions_zip(two_site_truth, tmp_path / f"{name}.zip", shift=shift)
        subs.append(create_submission(phase, user, upload(archive), {"method_name": name}))
    for sub in subs:
        assert wait_for_status(sub.pk).status == "done"

    boards = {"all", "hc18", "psfhs"}

    def analysed() -> bool:
        found = {
            scope: stored_analysis(phase, None if scope == "all" else scope) for scope in boards
        }
        return all(f is not None and f["current"] for f in found.values())

    _wait(analysed, "no current analysis of every board", celery_worker)
    api = client.get(f"/api/phases/{phase.pk}/leaderboard/").json()
    assert api["analysis"]["status"] == "current"
    assert [r["participant"] for r in api["rows"]] == ["Team close", "Team far"]
    assert all(r["median_rank"] is not None for r in api["rows"])
    client.force_login(organiser)  # per-case data (case_sites) is the organisers'
    analysis = client.get(f"/api/phases/{phase.pk}/leaderboard/analysis/?site=psfhs").json()
    assert analysis["analysis"]["significance"]["significant"]
    assert set(analysis["analysis"]["case_sites"].values()) == {"psfhs"}

    client.force_login(organiser)
    frozen = client.post(f"/api/phases/{phase.pk}/leaderboard/frozen/", {}).json()
    assert frozen["verified"] is True and frozen["content"]["analysis"] is not None
    before_truth = timezone.now()
    first_version = Phase.objects.get(pk=phase.pk).truth_version

    load_truth(phase, _corrected_truth(two_site_truth, tmp_path / "corrected"))
    phase.refresh_from_db()
    assert phase.truth_version != first_version
    assert rerun_stale(phase) == 2
    for sub in subs:
        _wait(
            lambda sub=sub: Evaluation.objects.filter(
                submission=sub, is_current=True, truth_version=phase.truth_version
            ).exists(),
            "not rescored",
            celery_worker,
        )
    _wait(analysed, "no current analysis after the rerun", celery_worker)
    latest = snapshots(phase)[0]
    assert latest.truth_version == phase.truth_version and latest.intervals_at is not None

    again = client.get(f"/api/frozen/{frozen['slug']}/").json()
    assert again["content"] == frozen["content"] and again["verified"] is True
    assert again["truth_version"] == first_version
    then = client.get(
        f"/api/phases/{phase.pk}/leaderboard/", {"as_of": before_truth.isoformat()}
    ).json()
    assert then["truth_version"] == first_version
    _drain(celery_worker)


@pytest.mark.django_db
def test_the_admin_freezes_every_board_and_lists_them_read_only(board, client, make_user) -> None:
    phase, submit, _ = board
    submit("red", 0.9, noise_seed=1)
    submit("blue", 0.8, noise_seed=2)
    recompute(phase)
    analyse_phase(phase.pk)
    admin = make_user("history-admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    answer = client.post(
        "/admin/challenges/phase/",
        {"action": "freeze_final_boards", "_selected_action": [phase.pk]},
        follow=True,
    )
    assert answer.status_code == 200
    frozen = LeaderboardSnapshot.objects.filter(phase=phase, frozen_at__isnull=False)
    assert sorted(s.site.name if s.site else "all" for s in frozen) == ["all", "north", "south"]
    assert all(verify(s) and s.frozen_by == "history-admin" for s in frozen)
    assert "SHA-256" in answer.content.decode()
    listing = client.get("/admin/challenges/leaderboardsnapshot/")
    assert listing.status_code == 200
    one = frozen.first()
    page = client.get(f"/admin/challenges/leaderboardsnapshot/{one.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get(f"/admin/challenges/leaderboardsnapshot/{one.pk}/delete/").status_code == 403
    assert client.get("/admin/challenges/boardanalysis/").status_code == 200


@pytest.mark.django_db
def test_an_older_boards_analysis_stored_late_never_hides_the_current_one(
    board, monkeypatch
) -> None:
    """Two workers race: one computed the board before it changed. Its analysis is not
    stored when the board changed while it computed, and one stored late anyway (it read
    the board just before the change) does not shadow the analysis of the board as it is."""
    phase, submit, _ = board
    submit("red", 0.9, noise_seed=1)
    submit("blue", 0.8, noise_seed=2)
    recompute(phase)
    analyse_phase(phase.pk)
    old = BoardAnalysis.objects.get(phase=phase, site=None)

    real = analyses._compute

    def board_changes_meanwhile(*args, **kwargs):
        out = real(*args, **kwargs)
        if not BoardAnalysis.objects.filter(phase=phase, site=None).exclude(pk=old.pk).exists():
            submit("green", 0.85, noise_seed=3)
            recompute(phase)
        return out

    submit("green", 0.7, noise_seed=4)
    recompute(phase)
    monkeypatch.setattr(analyses, "_compute", board_changes_meanwhile)
    phase_board = next(s for s in board_scopes(phase) if s.site is None)
    assert analyses.analyse_board_scope(phase, phase_board) == (
        "board changed while computing; not stored"
    )
    monkeypatch.setattr(analyses, "_compute", real)
    analyse_phase(phase.pk)
    current = stored_analysis(phase)
    assert current["current"] is True

    # The late writer: the first board's analysis stored again, after the current one.
    BoardAnalysis.objects.create(
        **{f.name: getattr(old, f.name) for f in BoardAnalysis._meta.fields if f.name != "id"}
        | {"computed_at": timezone.now()}
    )
    again = stored_analysis(phase)
    assert again["current"] is True and again["board_key"] == current["board_key"]
    assert leaderboard_table(phase).analysis["status"] == "current"
