"""Leaderboard tables: one shape for the web pages, the API and the CSV/JSON exports.

``leaderboard_table`` reads the materialised ``LeaderboardEntry`` rows (each participant's best
or latest entry, as the phase says; the same few queries whatever the number of submissions).
``all_entries_table`` (``?entries=all``) shows every scored submission as its own row instead:
comparing strategies needs every entry (one team, e.g. ``reference_models reproduce`` with one
token, submits one model per fine-tuning strategy, and only its best would show). It ranks all
current, non-disqualified scored submissions among each other, read straight from the scope's
part of their evaluations' compact ``board_values`` (one query, no materialised rows to keep
in step, never the results documents; only the submission columns a row shows, see
``ROW_SUBMISSION_FIELDS``). Organisers may also
ask for the disqualified ones, listed after the ranked rows without a rank and marked. Both
boards go through one builder (``_table``, rows from ``row_for``), so pages, plots, the API and
the exports render them alike; ``phase_table`` picks one.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.db.models import QuerySet, Subquery
from django.db.models.fields.json import KeyTransform
from hardening.csv_cells import neutralise

from challenges.leaderboards.analyses import board_analysis
from challenges.leaderboards.keys import board_key, is_pending, needs_cases
from challenges.leaderboards.materialise import ranking_criteria, ranking_signature
from challenges.leaderboards.ranking import (
    ALL,
    MEAN_RANK,
    criterion_values,
    rank_rows,
    select_all,
)
from challenges.leaderboards.scopes import Scope, scope_for
from challenges.models import (
    Evaluation,
    LeaderboardEntry,
    LeaderboardSnapshot,
    Phase,
    Site,
    Submission,
)
from evaluator.metric_spec import MetricSpec, UnknownMetric
from evaluator.tasks import metric_paths

log = logging.getLogger(__name__)

#: `entries` query values: "" (or absent) = one row per participant, "all" = every entry.
ENTRIES_ALL = ALL
ENTRIES_CHOICES = ("", ENTRIES_ALL)


class EntriesError(ValueError):
    """An `entries` value the leaderboard does not know; the message lists the choices."""


def wants_all_entries(value: str | None) -> bool:
    """Whether an `entries` query parameter asks for every entry; unknown values are refused
    rather than silently showing the default board under a misspelt option."""
    value = (value or "").strip()
    if value not in ENTRIES_CHOICES:
        raise EntriesError(
            f"unknown entries={value!r}: use entries=all for every scored submission, or leave "
            "it out for one row per participant"
        )
    return value == ENTRIES_ALL


@dataclass(frozen=True)
class Column:
    """One metric column: the metric with its direction and words (``spec``), and whether
    the ranking uses it. ``as_dict`` is what the API and the JSON export give for it."""

    spec: MetricSpec
    ranking: bool

    @property
    def key(self) -> str:
        return self.spec.path

    @property
    def class_name(self) -> str:
        return self.spec.group

    @property
    def metric(self) -> str:
        return self.spec.name

    @property
    def higher_is_better(self) -> bool:
        """The sort direction, as the API has always given it: measurements sort ascending
        (false here), so ``direction`` is what says whether either end is better."""
        return self.spec.higher_first

    @property
    def direction(self) -> str | None:
        """What a reader may be told: "higher", "lower", or None for a measurement (a
        predicted HC is not better for being smaller)."""
        return self.spec.direction

    @property
    def label(self) -> str:
        """The class, then the metric in words ("head HD95 (mm)"): classes share names."""
        return f"{self.spec.group} {self.spec.label}"

    @property
    def metric_label(self) -> str:
        return self.spec.label

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "class_name": self.class_name,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "ranking": self.ranking,
            "label": self.label,
            "direction": self.direction,
            "metric_label": self.metric_label,
        }


def make_column(path: str, ranking: bool, scorer: str = "standard") -> Column:
    """A column for ``path`` ("head.hd95") with ``scorer``'s words; UnknownMetric for a
    metric no scorer emits."""
    return Column(MetricSpec.of(path, scorer), ranking)


@dataclass
class Row:
    rank: int | None  # None: a disqualified entry shown to organisers, never ranked
    score: float | None
    submission_id: int
    participant: str
    method_name: str
    backbone: str
    fine_tuning_strategy: str
    params_total: int | None
    params_trainable: int | None
    params_source: str
    created_at: datetime
    values: dict[str, dict[str, float | None]] = field(default_factory=dict)
    flops: int | None = None
    latency_ms: float | None = None
    disqualified: bool = False
    #: From the board's stored analysis (``leaderboards.analyses``) when it is of exactly
    #: these rows; None while it is pending (being computed, or none for this board): never
    #: another board's numbers. ``tied_with``: submission ids of the statistically tied rows.
    median_rank: float | None = None
    rank_low: float | None = None
    rank_high: float | None = None
    tied_with: list[int] | None = None

    @property
    def statistically_tied(self) -> bool | None:
        """Whether the data cannot put this row in order with another (None: pending)."""
        return None if self.tied_with is None else bool(self.tied_with)


def _row_fields(row: Row) -> dict[str, Any]:
    """A row's fields as a dict, sharing its values (``dataclasses.asdict`` deep-copies every
    number of every row: two thirds of a 250-row board API request)."""
    return {name: getattr(row, name) for name in _ROW_FIELDS}


_ROW_FIELDS = tuple(f.name for f in fields(Row))


@dataclass
class LeaderboardTable:
    phase_id: int
    site: str | None
    ranking_method: str
    entry_selection: str
    columns: list[Column]
    rows: list[Row]
    #: Rows built by another ranking than the phase's current one (a recompute is pending,
    #: or no worker ran it); pages say so and offer organisers a recompute.
    stale: bool = False
    computed_at: datetime | None = None
    #: The stored analysis behind the rows' intervals and ties (``analysis_status``).
    analysis: dict[str, Any] = field(default_factory=lambda: dict(NO_ANALYSIS))

    @property
    def scope_key(self) -> str:
        """The scope as the API names it: "all" for every case, else the site's name."""
        return self.site or ALL

    @property
    def shows_mean_rank(self) -> bool:
        """Whether ``score`` is a mean of per-metric ranks (worth its own column)."""
        return self.ranking_method == MEAN_RANK and (sum(1 for c in self.columns if c.ranking) > 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase_id,
            "site": self.scope_key,
            "ranking_method": self.ranking_method,
            "entry_selection": self.entry_selection,
            "stale": self.stale,
            "computed_at": self.computed_at.isoformat() if self.computed_at else None,
            "columns": [c.as_dict() for c in self.columns],
            "analysis": self.analysis,
            "rows": [
                _row_fields(r)
                | {
                    "created_at": r.created_at.isoformat(),
                    "statistically_tied": r.statistically_tied,
                }
                for r in self.rows
            ],
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        # CRLF rows (RFC 4180): the writer then quotes a cell holding \r as well as \n.
        writer = csv.writer(out, lineterminator="\r\n")
        fixed = ["rank", "score", "submission_id", "participant", "method_name", "backbone"]
        fixed += ["fine_tuning_strategy", "params_total", "params_trainable", "flops"]
        fixed += ["latency_ms", "created_at"]
        # From the stored analysis; empty while it is pending (interval_status says why).
        intervals = ["median_rank", "rank_low", "rank_high", "tied_with", "interval_status"]
        stats = ("mean", "ci95_low", "ci95_high")
        header = fixed + intervals + [f"{c.key}.{s}" for c in self.columns for s in stats]
        writer.writerow(header)
        for row in self.rows:
            # Participants' text (method, backbone, team names) never starts a formula.
            cells = [neutralise(getattr(row, name)) for name in fixed]
            cells[fixed.index("created_at")] = row.created_at.isoformat()
            cells += [_csv_number(row.median_rank), _csv_number(row.rank_low)]
            cells += [_csv_number(row.rank_high)]
            cells += [" ".join(str(t) for t in row.tied_with or []), self.analysis["status"]]
            for column in self.columns:
                value = row.values.get(column.key) or {}
                cells += [_csv_number(value.get(s)) for s in stats]
            writer.writerow(["" if c is None else c for c in cells])
        return out.getvalue()


#: Why the every-entry board has no intervals (and, for a per-case ranking method, is
#: ranked by the primary metric's mean instead).
EVERY_ENTRY_NOTE = (
    "Rank intervals, ties and the per-case ranking methods are computed for the phase's board "
    "(one entry per participant); this every-entry view ranks by the primary metric's mean "
    "when the phase ranks by a per-case method."
)
#: The phase's ranking method that ranks by the primary metric's mean.
PRIMARY = "primary"
#: ``LeaderboardTable.analysis`` of a board without a stored analysis of its rows.
NO_ANALYSIS: dict[str, Any] = {
    "status": "none",
    "computed_at": None,
    "note": "",
    "ranks_pending": False,
}


def attach_analysis(
    table: LeaderboardTable, phase: Phase, scope: Scope, signatures: Iterable[str]
) -> LeaderboardTable:
    """Give the rows their median rank, 95% rank interval and ties from the board's stored
    analysis when it was computed on exactly these rows (same submission ids, ranking values
    and ranking signature: ``keys.board_key``); otherwise leave them None and say why in
    ``table.analysis["status"]``: "pending" (none stored yet), "updating" (the stored one is
    of an earlier board, or the ranks themselves await it), "current", or "none" (a board
    that is not analysed: no rows). ``ranks_pending``: the rows are ranked provisionally
    (by the primary metric's mean) until the worker's analysis ranks them by the phase's
    per-case method (the table is ``stale`` meanwhile). One query for the analysis, nothing
    computed."""
    signatures = list(signatures)
    if not table.rows or not signatures:
        return table
    pending = any(is_pending(s) for s in signatures)
    paths = [c.key for c in table.columns if c.ranking]
    means = [
        (r.submission_id, {p: (r.values.get(p) or {}).get("mean") for p in paths})
        for r in table.rows
    ]
    key = board_key(signatures[0], means)
    found = board_analysis(phase, scope, key=key)
    if found is None:
        table.analysis = {**NO_ANALYSIS, "status": "pending", "ranks_pending": pending}
        return table
    row = found.row
    current = found.current and not pending and len(set(signatures)) == 1
    table.analysis = {
        "status": "current" if current else "updating",
        "computed_at": row.computed_at.isoformat(),
        "note": row.note,
        "method": (row.payload or {}).get("method"),
        "n_bootstrap": row.n_bootstrap,
        "seed": row.seed,
        "alpha": (row.payload or {}).get("alpha"),
        "ranks_pending": pending,
    }
    if not current or row.payload is None:
        return table
    by_entry = {int(r["entry"]): r for r in row.payload.get("rows", [])}
    for board_row in table.rows:
        found_row = by_entry.get(board_row.submission_id)
        if found_row is None:  # cannot happen with equal keys; never guess
            continue
        board_row.median_rank = found_row.get("median_rank")
        board_row.rank_low = found_row.get("rank_low")
        board_row.rank_high = found_row.get("rank_high")
        board_row.tied_with = [int(t) for t in found_row.get("tied_with") or []]
    return table


def _csv_number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _scorer(phase: Phase) -> str:
    try:
        return phase.challenge.get_task().scorer
    except Exception:  # noqa: BLE001 - an unknown task still gets its columns
        return "standard"


def stored_metrics(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A row's {class: {metric: stats}}."""
    return {k: v for k, v in values.items() if isinstance(v, dict)}


def _columns(phase: Phase, entries: Iterable[LeaderboardEntry]) -> list[Column]:
    criteria = ranking_criteria(phase)
    scorer = _scorer(phase)
    seen = {c.path for c in criteria}
    columns = [make_column(c.path, True, scorer) for c in criteria]
    for entry in entries:
        for cls, metrics in stored_metrics(entry.values).items():
            for metric in metrics:
                key = f"{cls}.{metric}"
                if key not in seen:
                    seen.add(key)
                    try:
                        columns.append(make_column(key, False, scorer))
                    except UnknownMetric:  # stored by an evaluator that named it otherwise
                        log.warning("phase %s: no direction for %s; column left out", phase.pk, key)
    # Extra columns in the task's own order (Dice, IoU, distances, then biometry), not the
    # order the database's JSON happens to keep keys in.
    order = {path: i for i, path in enumerate(_task_paths(phase))}
    extras = sorted(columns[len(criteria) :], key=lambda c: order.get(c.key, len(order)))
    return columns[: len(criteria)] + extras


def _task_paths(phase: Phase) -> list[str]:
    try:
        return metric_paths(phase.challenge.get_task())
    except Exception:  # noqa: BLE001 - an unknown task keeps the stored order
        return []


#: The submission columns ``row_for`` reads (with the team's and creator's names): board
#: queries load these and nothing else of a submission (``.only``), so a row never drags in
#: its inference report or log. A field ``row_for`` starts to read must be added here, or
#: each row would fetch it with a query of its own.
ROW_SUBMISSION_FIELDS = (
    "id",
    "team_id",
    "creator_id",
    "team__name",
    "creator__username",
    "method_name",
    "backbone",
    "fine_tuning_strategy",
    "params_total",
    "params_trainable",
    "params_source",
    "created_at",
    "flops",
    "latency_ms",
    "disqualified",
)


def _submission_fields(prefix: str) -> list[str]:
    """``ROW_SUBMISSION_FIELDS`` as seen from a model that points at the submission."""
    return [f"{prefix}__{name}" for name in ROW_SUBMISSION_FIELDS]


class _SubmissionColumns(SimpleNamespace):
    """What ``row_for`` reads of a submission, straight from a board query's columns
    (``ROW_SUBMISSION_FIELDS``): building model instances (with team and creator) cost more
    than the rest of an every-entry board."""

    @property
    def pk(self) -> int:
        return self.id

    @property
    def participant_name(self) -> str:
        """As ``Submission.participant_name``: the team's name, else the creator's."""
        return self.team__name if self.team_id else self.creator__username


@dataclass
class _Stored:
    """A board row as ``leaderboard_table`` reads it (the parts of a ``LeaderboardEntry``)."""

    submission: _SubmissionColumns
    values: dict[str, Any]
    rank: int
    score: float | None
    computed_at: datetime
    ranking_signature: str
    #: When a recompute last changed the board: its newest snapshot's time (None before).
    board_changed_at: datetime | None


def _submission_rows(queryset: QuerySet, prefix: str, *fields: str) -> list[tuple]:
    """``(submission columns, *fields)`` per row of ``queryset``, in its order: one query,
    no model instances."""
    names = _submission_fields(prefix)
    n = len(fields)
    return [
        (_SubmissionColumns(**dict(zip(ROW_SUBMISSION_FIELDS, row[n:], strict=True))), *row[:n])
        for row in queryset.values_list(*fields, *names)
    ]


def row_for(
    submission: Submission,
    values: dict[str, Any],
    rank: int | None,
    score: float | None,
    *,
    disqualified: bool = False,
) -> Row:
    """One board row: the submission's description and its stored ``{class: {metric: stats}}``."""
    sub = submission
    return Row(
        rank=rank,
        score=score,
        submission_id=sub.pk,
        participant=sub.participant_name,
        method_name=sub.method_name,
        backbone=sub.backbone,
        fine_tuning_strategy=sub.fine_tuning_strategy,
        params_total=sub.params_total,
        params_trainable=sub.params_trainable,
        params_source=sub.params_source,
        created_at=sub.created_at,
        values={
            f"{cls}.{metric}": stats
            for cls, metrics in stored_metrics(values).items()
            for metric, stats in metrics.items()
        },
        flops=sub.flops,
        latency_ms=sub.latency_ms,
        disqualified=disqualified,
    )


def _table(
    phase: Phase,
    scope: Scope,
    selection: str,
    shown: list[Any],
    rows: list[Row],
    *,
    stale: bool = False,
    computed_at: datetime | None = None,
) -> LeaderboardTable:
    """The one table builder: ``shown`` are the rows' sources (anything with ``.values``),
    read for the extra columns."""
    return LeaderboardTable(
        phase.pk,
        scope.site_name,
        phase.ranking_method,
        selection,
        _columns(phase, shown),
        rows,
        stale=stale,
        computed_at=computed_at,
    )


def leaderboard_table(phase: Phase, site: Scope | Site | str | None = None) -> LeaderboardTable:
    """The materialised leaderboard of ``phase`` for all cases (site None or "all") or one
    site (see ``scope_for``): each participant's best or latest entry, as ``recompute``
    selected them."""
    scope = scope_for(phase, site)
    entries = [
        _Stored(*row)
        for row in _submission_rows(
            LeaderboardEntry.objects.filter(phase=phase, site=scope.site)
            .annotate(board_changed_at=_board_changed_at(phase, scope))
            .order_by("rank", "submission__created_at", "submission_id"),
            "submission",
            "values",
            "rank",
            "score",
            "computed_at",
            "ranking_signature",
            "board_changed_at",
        )
    ]
    signature = ranking_signature(phase)
    rows = [row_for(e.submission, e.values, e.rank, e.score) for e in entries]
    table = _table(
        phase,
        scope,
        phase.entry_selection,
        entries,
        rows,
        stale=any(e.ranking_signature != signature for e in entries),
        computed_at=_ranked_at(entries),
    )
    return attach_analysis(table, phase, scope, (e.ranking_signature for e in entries))


def _board_changed_at(phase: Phase, scope: Scope) -> Subquery:
    """The time of the board's newest snapshot: every recompute that changes a board (a row
    added, gone, or re-ranked: the board key changes) records one, so this is when a
    recompute last changed it. A scalar subquery of the rows' query (run once, indexed), so
    reading it costs no extra query and the recompute writes nothing more for it."""
    newest = (
        LeaderboardSnapshot.objects.filter(
            phase=phase,
            site=scope.site,
            selection=phase.entry_selection,
            frozen_at__isnull=True,
        )
        .order_by("-computed_at", "-id")
        .values("computed_at")[:1]
    )
    return Subquery(newest)


def _ranked_at(entries: list[_Stored]) -> datetime | None:
    """When the board was last ranked into what it shows: the last recompute that changed it.
    The rows' own times are not enough: a recompute writes only the rows whose rank, score or
    evaluation changed, so a row that went (a disqualification) leaves the others' older
    times; the newest snapshot has the recompute's time. Both are read for boards with no
    snapshot (before history was kept)."""
    times = [e.computed_at for e in entries]
    times += [e.board_changed_at for e in entries[:1] if e.board_changed_at is not None]
    return max(times, default=None)


@dataclass
class _Scored:
    """One evaluation's values in one scope, shaped like a `LeaderboardEntry` for `_columns`."""

    submission: _SubmissionColumns
    values: dict[str, dict[str, dict]]


def all_entries_table(
    phase: Phase, site: Scope | Site | str | None = None, *, include_disqualified: bool = False
) -> LeaderboardTable:
    """Every scored submission of ``phase`` ranked for all cases (site None) or one site.

    Ranks are competition ranks over all entries (a team can hold several); a submission with
    no value in the scope ranks last, as on the default board. `entry_selection` is "all".
    With ``include_disqualified`` (organisers only), disqualified submissions follow the
    ranked rows with rank None and ``disqualified`` set: shown, never ranked.
    """
    scope = scope_for(phase, site)
    criteria = ranking_criteria(phase)
    evaluations = Evaluation.objects.filter(
        is_current=True,
        submission__phase=phase,
        submission__status=Submission.Status.DONE,
    ).order_by()
    if not include_disqualified:
        evaluations = evaluations.filter(submission__disqualified=False)
    # Only this scope of the compact board values: never the results document.
    evaluations = evaluations.annotate(scope_values=KeyTransform(scope.key, "board_values"))
    every = [
        _Scored(submission, values or {})
        for submission, values in _submission_rows(evaluations, "submission", "scope_values")
    ]
    scored = [s for s in every if not s.submission.disqualified]
    removed = sorted(
        (s for s in every if s.submission.disqualified),
        key=lambda s: (s.submission.created_at, s.submission.pk),
    )
    kept = [scored[i] for i in select_all(scored)]
    ranked = rank_rows(
        [criterion_values(s.values, criteria) for s in kept], criteria, phase.ranking_method
    )
    order = sorted(
        range(len(kept)),
        key=lambda i: (ranked[i][0], kept[i].submission.created_at, kept[i].submission.pk),
    )
    rows = [row_for(kept[i].submission, kept[i].values, *ranked[i]) for i in order]
    rows += [row_for(s.submission, s.values, None, None, disqualified=True) for s in removed]
    shown = [kept[i] for i in order] + removed
    table = _table(phase, scope, ENTRIES_ALL, shown, rows)
    table.analysis = {**NO_ANALYSIS, "note": EVERY_ENTRY_NOTE}
    if needs_cases(phase.ranking_method):
        # Ranking every entry by a per-case method would need the worker's analysis of
        # this every-entry board, which it does not compute: say what ranks these rows.
        table.ranking_method = PRIMARY
    return table


def phase_table(
    phase: Phase,
    site: Scope | Site | str | None = None,
    *,
    all_entries: bool = False,
    include_disqualified: bool = False,
) -> LeaderboardTable:
    """The board the pages and the API show: materialised (default) or every entry (with the
    disqualified ones too when an organiser asks)."""
    if all_entries:
        return all_entries_table(phase, site, include_disqualified=include_disqualified)
    return leaderboard_table(phase, site)
