"""Materialising leaderboards: ``recompute`` writes the phase's ``LeaderboardEntry`` rows.

``recompute(phase)`` runs after every evaluation (and after disqualifying or changing the
ranking), never on page views. Each row also records which ranking built it
(``ranking_signature``: method, metrics and entry selection), so a board whose phase was
re-ranked while no worker ran can say it is stale (``tables.LeaderboardTable.stale``).

It runs after every scored submission, so it stays cheap as boards grow (issue 12, "Speed";
``benchmarks/leaderboard.py``):

- it reads who submitted what, in submission order, and the ranking criteria's means in
  every scope as floats, which the database takes out of the small ``BoardMeans`` rows: never
  an evaluation's ``results`` (every case) nor even its ``board_values``;
- ranks are counted by sorting (``ranking.competition_ranks``), O(n log n);
- after a scored submission only the boards it can have changed are ranked (the all-cases
  board and its sites'; every board in the cases ``_boards_to_rank`` lists), and none when
  it beats nothing, which a few small queries decide (``_changes_no_board``: most entries do
  not beat their team's current one);
- the ranked rows are compared with the stored ones and only the difference is written (ranks
  in one plain UPDATE per 500 rows); a row's ``values`` are copied from ``board_values`` only
  for a submission new on the board or scored again (``LeaderboardEntry.evaluation`` says
  which evaluation they came from): a few new rows' in Python from one small query, many by
  the database itself (a first ranking, a ranking change).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import FloatField, JSONField, OuterRef, Q, Subquery, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from challenges.leaderboards.history import record_snapshots
from challenges.leaderboards.keys import needs_cases, pending_signature
from challenges.leaderboards.ranking import (
    ALL,
    LATEST,
    PRIMARY,
    criteria_for,
    rank_rows,
    select,
)
from challenges.leaderboards.scopes import Scope, board_scopes
from challenges.models import BoardMeans, Evaluation, LeaderboardEntry, Phase, Submission
from evaluator.metric_spec import MetricSpec


def ranking_criteria(phase: Phase) -> list[MetricSpec]:
    """The phase's ranking metrics, or the task's own ranking when the phase names none.

    Phase.save has checked the phase's metrics against the task, so every name has a
    direction; one that somehow has none fails here with the evaluator's UnknownMetric
    (and a stored value in another shape than the task's ranking entries with TaskError).
    """
    try:
        task = phase.challenge.get_task()
    except Exception:  # noqa: BLE001 - an unknown task still gets a (Dice) leaderboard
        task = None
    return criteria_for(phase.ranking_metrics, task)


def ranking_signature(phase: Phase) -> str:
    """A short fingerprint of everything that decides the phase's rows: ranking method,
    effective ranking metrics (the task's own when the phase names none) and entry selection.
    Visibility is left out: it decides who sees the board, not what it holds."""
    config = {
        "method": phase.ranking_method,
        "metrics": [c.path for c in ranking_criteria(phase)],
        "selection": phase.entry_selection,
    }
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Candidate:
    """One current evaluation on the boards: who, and its ranking criteria's means in every
    scope (``{scope key: {criterion path: mean}}``); never its values or results.
    ``position`` is its place in submission order (time, then id), which breaks ties."""

    position: int
    evaluation_id: int
    submission_id: int
    participant: str
    means: dict[str, dict[str, float | None]]


@dataclass(frozen=True)
class _Stored:
    """One ``LeaderboardEntry`` as the database has it, without its values."""

    pk: int
    site_id: int | None
    submission_id: int
    evaluation_id: int | None
    rank: int
    score: float | None
    ranking_signature: str


def _candidates(phase: Phase, scopes: list[Scope], criteria: list[MetricSpec]) -> list[_Candidate]:
    """Every current evaluation of a scored, non-disqualified submission, in submission
    order, with its criteria's means in every board's scope. Two queries: who, then the
    means as floats, which the database takes out of the small ``BoardMeans`` rows (a mean
    not stored is None and ranks last)."""
    current = Evaluation.objects.filter(
        is_current=True,
        submission__phase=phase,
        submission__status=Submission.Status.DONE,
        submission__disqualified=False,
    )
    who = current.order_by("submission__created_at", "submission_id").values_list(
        "pk", "submission_id", "submission__team_id", "submission__creator_id"
    )
    keys = [scope.key for scope in scopes]
    paths = [spec.path for spec in criteria]
    columns = {
        f"c{j}": Cast(KeyTextTransform(path, "means"), FloatField()) for j, path in enumerate(paths)
    }
    found = {
        (evaluation_id, scope): dict(zip(paths, means, strict=True))
        for evaluation_id, scope, *means in BoardMeans.objects.filter(
            evaluation__in=current.order_by().values("pk"), scope__in=keys
        )
        .annotate(**columns)
        .values_list("evaluation_id", "scope", *columns)
    }
    missing = dict.fromkeys(paths)
    return [
        _Candidate(
            position=position,
            evaluation_id=pk,
            submission_id=submission_id,
            participant=f"team:{team_id}" if team_id else f"user:{creator_id}",
            means={key: found.get((pk, key), missing) for key in keys},
        )
        for position, (pk, submission_id, team_id, creator_id) in enumerate(who)
    ]


def _rank_board(
    candidates: list[_Candidate], scope: Scope, criteria: list[MetricSpec], phase: Phase
) -> list[tuple[_Candidate, int, float | None]]:
    """The board of ``scope``: the kept candidates with their rank and score, in board order
    (rank, then submission order). ``candidates`` are in submission order."""
    flats = [c.means[scope.key] for c in candidates]
    participants = [c.participant for c in candidates]
    order = range(len(candidates))
    keep = select(phase.entry_selection, participants, order, flats, criteria, phase.ranking_method)
    final = rank_rows([flats[i] for i in keep], criteria, phase.ranking_method)
    rows = [(candidates[i], rank, score) for i, (rank, score) in zip(keep, final, strict=True)]
    rows.sort(key=lambda r: (r[1], r[0].position))
    return rows


def _boards_to_rank(
    phase: Phase,
    scopes: list[Scope],
    candidates: list[_Candidate],
    stored: list[_Stored],
    signature: str,
    scored: Submission | None,
) -> list[Scope]:
    """Which boards a recompute must rank: all of them, unless ``scored`` (the submission
    whose new evaluation triggered it) can only have changed some.

    A new submission changes the all-cases board and the boards of the sites its cases are
    in (the scopes of its aggregates) and no other, as long as it is its participant's
    newest candidate (it loses every tie) under best-entry selection and its participant
    was already on the boards: in a scope where it has no values it ranks after every entry
    with one, so it neither displaces its participant's row there nor moves anyone else.
    Anything else ranks every board: a latest-entry phase (the new entry replaces its
    participant's row everywhere), a new participant (a row on every board), a rescored
    older submission, rows built by another ranking (a ranking change re-ranks everything).
    Boards holding a submission no longer eligible (disqualified, queued again) are ranked
    as well.
    """
    if scored is None or phase.entry_selection == LATEST:
        return scopes
    if any(row.ranking_signature != signature for row in stored):
        return scopes
    own = [c for c in candidates if c.submission_id == scored.pk]
    if own:
        mine = own[0]
        team = [c for c in candidates if c.participant == mine.participant]
        if len(team) == 1:
            return scopes
        if max(team, key=lambda c: c.position) is not mine:
            return scopes
    touched = {ALL}
    touched.update(
        BoardMeans.objects.filter(
            evaluation__submission_id=scored.pk, evaluation__is_current=True
        ).values_list("scope", flat=True)
    )
    eligible = {c.submission_id for c in candidates}
    site_keys = {s.site.pk: s.key for s in scopes if s.site is not None}
    for row in stored:
        if row.submission_id == scored.pk or row.submission_id not in eligible:
            touched.add(ALL if row.site_id is None else site_keys.get(row.site_id, ALL))
    return [s for s in scopes if s.key in touched]


def _changes_no_board(
    phase: Phase, scored: Submission, criteria: list[MetricSpec], signature: str
) -> bool:
    """Whether ``scored``'s new evaluation leaves every board as it is, which most do: a
    team's new entry that does not beat its current one. Decided from a few small queries,
    without reading the phase's candidates.

    Only for a phase ranked by its primary metric's mean with best-entry selection, whose
    rows are all of this ranking and of eligible submissions: there a participant's row on
    a board changes only if the new entry ranks strictly better there (it is their newest,
    so it loses ties), and nobody else's row or rank moves when it does not. The new entry
    must be its participant's newest, the participant already on the boards (a row on each
    board its evaluation has values for), and not on a board itself (a rescore)."""
    if phase.ranking_method != PRIMARY or phase.entry_selection == LATEST:
        return False
    eligible = Submission.objects.filter(
        phase=phase,
        status=Submission.Status.DONE,
        disqualified=False,
        evaluations__is_current=True,
    )
    rows = LeaderboardEntry.objects.filter(phase=phase)
    stale = ~Q(ranking_signature=signature) | ~Q(submission__in=eligible.values("pk"))
    if rows.filter(stale).exists():
        return False
    if scored.team_id:
        same = {"team_id": scored.team_id}
    else:
        same = {"team__isnull": True, "creator_id": scored.creator_id}
    team = list(eligible.filter(**same).order_by("created_at", "pk").values_list("pk", flat=True))
    if len(team) < 2 or team[-1] != scored.pk:  # also: scored not eligible
        return False
    scope_means = dict(
        BoardMeans.objects.filter(
            evaluation__submission_id=scored.pk, evaluation__is_current=True
        ).values_list("scope", "means")
    )
    held: dict[str, list[tuple[int, float | None]]] = {}
    for site, submission_id, score in rows.filter(submission_id__in=team).values_list(
        "site__name", "submission_id", "score"
    ):
        held.setdefault(site or ALL, []).append((submission_id, score))
    primary = criteria[0]
    boards = {scope.key for scope in board_scopes(phase)}
    for scope, means in scope_means.items():
        if scope not in boards:
            continue
        board = held.get(scope, [])
        if len(board) != 1 or board[0][0] == scored.pk:
            return False
        new, current = means.get(primary.path), board[0][1]
        if new is not None and (
            current is None or (new > current if primary.higher_first else new < current)
        ):
            return False
    return True


def recompute(phase: Phase, *, scored: Submission | None = None) -> int:
    """Bring the phase's leaderboard rows (overall and per site) up to date; returns the
    number of rows the ranked boards hold.

    ``scored`` is the submission whose new evaluation triggered this (the scoring worker
    passes it): then only the boards it can have changed are ranked (``_boards_to_rank``).
    Without it every board is. Either way only rows that changed are written.
    """
    with transaction.atomic():
        # One recompute at a time, on the phase as it is now (a queued recompute may run
        # after further edits; it must rank by the latest settings, not its caller's copy).
        phase = Phase.objects.select_for_update().select_related("challenge").get(pk=phase.pk)
        criteria = ranking_criteria(phase)
        signature = ranking_signature(phase)
        if needs_cases(phase.ranking_method):
            # Provisional ranks until the worker's analysis gives them (leaderboards.keys).
            signature = pending_signature(signature)
        if scored is not None and _changes_no_board(phase, scored, criteria, signature):
            return 0
        scopes = board_scopes(phase)
        candidates = _candidates(phase, scopes, criteria)
        stored = [
            _Stored(*row)
            for row in LeaderboardEntry.objects.filter(phase=phase)
            .order_by()
            .values_list(
                "pk",
                "site_id",
                "submission_id",
                "evaluation_id",
                "rank",
                "score",
                "ranking_signature",
            )
        ]
        boards = _boards_to_rank(phase, scopes, candidates, stored, signature, scored)
        return _write(phase, scopes, boards, candidates, criteria, stored, signature)


def _write(
    phase: Phase,
    scopes: list[Scope],
    boards: list[Scope],
    candidates: list[_Candidate],
    criteria: list[MetricSpec],
    stored: list[_Stored],
    signature: str,
) -> int:
    """Rank ``boards`` and write the difference to the stored rows: new rows created, rows
    gone deleted, rows whose rank, score, ranking or evaluation changed updated (values
    copied again only when the evaluation changed); rows of boards not ranked stay as they
    are, and rows of a site no longer in the phase go."""
    now = timezone.now()
    ranked_sites = {None if s.site is None else s.site.pk for s in boards}
    known_sites = {None if s.site is None else s.site.pk for s in scopes}
    old = {(r.site_id, r.submission_id): r for r in stored if r.site_id in ranked_sites}
    gone = [r.pk for r in stored if r.site_id not in known_sites]
    create: list[LeaderboardEntry] = []
    changed: list[tuple[int, int, float | None, int]] = []
    #: Per board, the submissions whose row needs its values copied by the database
    #: (rescored; new ones too when there are many).
    copy: dict[Scope, list[int]] = {}
    written = 0
    ranked = []  # for the history: (scope, [(submission, rank, score, ranking values)])
    for scope in boards:
        site_id = None if scope.site is None else scope.site.pk
        board = _rank_board(candidates, scope, criteria, phase)
        ranked.append((scope, [(c.submission_id, r, s, c.means[scope.key]) for c, r, s in board]))
        for cand, rank, score in board:
            written += 1
            row = old.pop((site_id, cand.submission_id), None)
            if row is None:
                create.append(
                    LeaderboardEntry(
                        phase=phase,
                        site=scope.site,
                        submission_id=cand.submission_id,
                        evaluation_id=cand.evaluation_id,
                        rank=rank,
                        score=score,
                        computed_at=now,
                        ranking_signature=signature,
                    )
                )
                continue
            if row.evaluation_id != cand.evaluation_id:
                copy.setdefault(scope, []).append(cand.submission_id)
            elif (row.rank, row.score, row.ranking_signature) == (rank, score, signature):
                continue
            changed.append((row.pk, rank, score, cand.evaluation_id))
    gone += [r.pk for r in old.values()]
    if gone:
        LeaderboardEntry.objects.filter(pk__in=gone).delete()
    _update_ranks(changed, signature, now)
    if len(create) <= FEW:
        _set_values(create)
    else:
        for entry in create:
            copy.setdefault(next(s for s in boards if s.site == entry.site), []).append(
                entry.submission_id
            )
    if create:
        LeaderboardEntry.objects.bulk_create(create, batch_size=BATCH)
    for scope, submissions in copy.items():
        _copy_values(phase, scope, submissions)
    # History: a snapshot of each board ranked (and the worker's analysis queued).
    paths = [c.path for c in criteria]
    record_snapshots(phase, ranked, signature=signature, paths=paths, computed_at=now)
    return written


#: Rows per INSERT or UPDATE statement.
BATCH = 500
#: New rows up to this many get their values in Python before they are inserted (one small
#: query); more (a first ranking, a ranking change) are filled by the database afterwards
#: (one UPDATE per board), which never decodes them.
FEW = 32


def _set_values(entries: list[LeaderboardEntry]) -> None:
    """Give new rows their values, their board's scope of their evaluation's
    ``board_values`` (one query for all)."""
    ids = {entry.evaluation_id for entry in entries}
    if not ids:
        return
    found = dict(Evaluation.objects.filter(pk__in=ids).order_by().values_list("pk", "board_values"))
    for entry in entries:
        scope = ALL if entry.site is None else entry.site.name
        entry.values = (found.get(entry.evaluation_id) or {}).get(scope) or {}


def _update_ranks(
    changed: list[tuple[int, int, float | None, int]], signature: str, now: datetime
) -> None:
    """Set rank, score and evaluation of each ``(pk, rank, score, evaluation id)`` row, and
    this ranking's signature and time, in one UPDATE per ``BATCH`` rows. Plain SQL that
    PostgreSQL and SQLite (3.33+) both run: ``bulk_update`` builds a CASE expression per row
    and field in Python, which cost ~1 ms a row, more than the rest of a recompute."""
    if not changed:
        return
    meta = LeaderboardEntry._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    column = {
        name: quote(meta.get_field(name).column)
        for name in ("id", "rank", "score", "evaluation", "ranking_signature", "computed_at")
    }
    stamp = meta.get_field("computed_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        for start in range(0, len(changed), BATCH):
            batch = changed[start : start + BATCH]
            rows = ", ".join(["(%s, %s, CAST(%s AS DOUBLE PRECISION), %s)"] * len(batch))
            cursor.execute(
                f"UPDATE {table} SET {column['rank']} = v.column2, {column['score']} = v.column3,"
                f" {column['evaluation']} = v.column4, {column['ranking_signature']} = %s,"
                f" {column['computed_at']} = %s FROM (VALUES {rows}) AS v"
                f" WHERE {table}.{column['id']} = v.column1",
                [signature, stamp, *(value for row in batch for value in row)],
            )


def _copy_values(phase: Phase, scope: Scope, submissions: list[int]) -> None:
    """Copy each row's values from its evaluation's ``board_values``, this board's scope of
    them, inside the database (one UPDATE per board: nothing is decoded in Python)."""
    source = Evaluation.objects.filter(pk=OuterRef("evaluation_id")).values("board_values")[:1]
    LeaderboardEntry.objects.filter(
        phase=phase, site=scope.site, submission_id__in=submissions
    ).update(
        values=Coalesce(
            KeyTransform(scope.key, Subquery(source, output_field=JSONField())),
            Value({}, output_field=JSONField()),
        )
    )
