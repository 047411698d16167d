"""Leaderboards: ranking scored submissions and materialising the result as rows.

``recompute(phase)`` runs after every evaluation (and after disqualifying or changing the
ranking), never on page views; pages and the API read ``LeaderboardEntry`` rows through
``leaderboard_table``, which costs the same few queries whatever the number of submissions.

Each row also records which ranking built it (``LeaderboardEntry.ranking_signature``: method,
metrics and entry selection), so a board whose phase was re-ranked while no worker ran says it is
stale instead of passing old ranks off under the new method (``LeaderboardTable.stale``).

Ranking follows grand-challenge.org: either the primary metric, or the mean of per-metric
ranks; competition ranking (ties share a rank and the next rank is skipped: 1, 1, 3); missing
values always rank after every present value.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from hardening.csv_cells import neutralise

from challenges.metric_labels import column_label, metric_label
from challenges.models import Case, Evaluation, LeaderboardEntry, Phase, Site, Submission
from evaluator.tasks import TaskError, has_better_side, higher_is_better, metric_paths

ALL = "all"
log = logging.getLogger(__name__)


def metric_higher_is_better(metric: str) -> bool:
    """Direction of a metric ("dice" or "head.dice"): the evaluator's one table
    (evaluator.tasks.METRIC_DIRECTIONS); TaskError for a name no scorer emits."""
    return higher_is_better(metric)


@dataclass(frozen=True)
class Criterion:
    class_name: str
    metric: str
    higher_is_better: bool

    @property
    def key(self) -> str:
        return f"{self.class_name}.{self.metric}"


def ranking_criteria(phase: Phase) -> list[Criterion]:
    """The phase's ranking metrics, or the task's own ranking when the phase names none.

    Phase.save has checked the phase's metrics against the task, so every name has a
    direction; one that somehow has none fails here with the evaluator's TaskError.
    """
    try:
        task = phase.challenge.get_task()
    except Exception:  # noqa: BLE001 - an unknown task still gets a (Dice) leaderboard
        task = None
    if phase.ranking_metrics:
        pairs = [(str(m["class"]), str(m["metric"])) for m in phase.ranking_metrics]
    elif task is not None:
        pairs = [(h.metric.partition(".")[0], h.metric.partition(".")[2]) for h in task.ranking]
    else:
        pairs = [("head", "dice")]
    return [Criterion(c, m, metric_higher_is_better(m)) for c, m in pairs]


def ranking_signature(phase: Phase) -> str:
    """A short fingerprint of everything that decides the phase's rows: ranking method,
    effective ranking metrics (the task's own when the phase names none) and entry selection.
    Visibility is left out: it decides who sees the board, not what it holds."""
    config = {
        "method": phase.ranking_method,
        "metrics": [c.key for c in ranking_criteria(phase)],
        "selection": phase.entry_selection,
    }
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# Ranking (pure functions, tested directly)


def _number(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("mean")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def competition_ranks(values: list[float | None], higher_is_better: bool) -> list[int]:
    """1 + number of strictly better values; missing values share the rank after all others."""
    present = [v for v in values if v is not None]
    ranks = []
    for value in values:
        if value is None:
            ranks.append(len(present) + 1)
        elif higher_is_better:
            ranks.append(1 + sum(1 for other in present if other > value))
        else:
            ranks.append(1 + sum(1 for other in present if other < value))
    return ranks


def rank_rows(
    rows: list[dict[str, float | None]], criteria: list[Criterion], method: str
) -> list[tuple[int, float | None]]:
    """(rank, score) for each row of {criterion key: value}."""
    if not rows:
        return []
    if method == Phase.RankingMethod.MEAN_RANK and len(criteria) > 1:
        per_metric = [
            competition_ranks([row.get(c.key) for row in rows], c.higher_is_better)
            for c in criteria
        ]
        scores = [sum(ranks) / len(ranks) for ranks in zip(*per_metric, strict=True)]
        final = competition_ranks(list(scores), higher_is_better=False)
        return list(zip(final, scores, strict=True))
    primary = criteria[0]
    values = [row.get(primary.key) for row in rows]
    return list(zip(competition_ranks(values, primary.higher_is_better), values, strict=True))


# --------------------------------------------------------------------------------------------
# Materialisation


@dataclass
class _Candidate:
    submission: Submission
    aggregates: dict[str, Any]


def _scope_values(aggregates: dict[str, Any], scope: str) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for cls, metrics in (aggregates.get(scope) or {}).items():
        if not isinstance(metrics, dict):
            continue
        for metric, stats in metrics.items():
            if isinstance(stats, dict):
                entry = {k: _number(stats.get(k)) for k in ("mean", "ci95_low", "ci95_high")}
            else:
                entry = {"mean": _number(stats), "ci95_low": None, "ci95_high": None}
            out.setdefault(str(cls), {})[str(metric)] = entry
    return out


def _flat(values: dict[str, dict[str, dict]], criteria: list[Criterion]) -> dict[str, Any]:
    return {c.key: (values.get(c.class_name, {}).get(c.metric) or {}).get("mean") for c in criteria}


def _select_and_rank(
    candidates: list[_Candidate], scope: str, criteria: list[Criterion], phase: Phase
) -> list[tuple[_Candidate, int, float | None, dict]]:
    values = [_scope_values(c.aggregates, scope) for c in candidates]
    flats = [_flat(v, criteria) for v in values]
    order = sorted(
        range(len(candidates)),
        key=lambda i: (candidates[i].submission.created_at, candidates[i].submission.pk),
    )
    if phase.entry_selection == Phase.EntrySelection.LATEST:
        chosen: dict[str, int] = {}
        for i in order:  # later ones overwrite earlier ones
            chosen[candidates[i].submission.participant_key] = i
        keep = sorted(chosen.values())
    else:
        ranked = rank_rows(flats, criteria, phase.ranking_method)
        best: dict[str, int] = {}
        for i in order:  # earlier submission wins a tie
            key = candidates[i].submission.participant_key
            if key not in best or ranked[i][0] < ranked[best[key]][0]:
                best[key] = i
        keep = sorted(best.values())
    final = rank_rows([flats[i] for i in keep], criteria, phase.ranking_method)
    rows = [
        (candidates[i], rank, score, values[i])
        for i, (rank, score) in zip(keep, final, strict=True)
    ]
    rows.sort(key=lambda r: (r[1], r[0].submission.created_at, r[0].submission.pk))
    return rows


def recompute(phase: Phase) -> int:
    """Rebuild the phase's leaderboard rows (overall and per site); returns rows written."""
    with transaction.atomic():
        # One recompute at a time, on the phase as it is now (a queued recompute may run
        # after further edits; it must rank by the latest settings, not its caller's copy).
        phase = Phase.objects.select_for_update().select_related("challenge").get(pk=phase.pk)
        criteria = ranking_criteria(phase)
        signature = ranking_signature(phase)
        evaluations = (
            Evaluation.objects.filter(
                is_current=True,
                submission__phase=phase,
                submission__status=Submission.Status.DONE,
                submission__disqualified=False,
            )
            .select_related("submission")
            .annotate(aggregates=KeyTransform("aggregates", "results"))
            .defer("results")
        )
        candidates = [_Candidate(e.submission, e.aggregates or {}) for e in evaluations]
        site_ids = set(Case.objects.filter(phase=phase).values_list("site_id", flat=True))
        scopes: list[tuple[Site | None, str]] = [(None, ALL)]
        scopes += [
            (site, site.name)
            for site in Site.objects.filter(challenge_id=phase.challenge_id, pk__in=site_ids)
        ]
        now = timezone.now()
        entries = [
            LeaderboardEntry(
                phase=phase,
                site=site,
                submission=cand.submission,
                rank=rank,
                score=score,
                values=values,
                computed_at=now,
                ranking_signature=signature,
            )
            for site, scope in scopes
            for cand, rank, score, values in _select_and_rank(candidates, scope, criteria, phase)
        ]
        LeaderboardEntry.objects.filter(phase=phase).delete()
        LeaderboardEntry.objects.bulk_create(entries, batch_size=500)
    return len(entries)


# --------------------------------------------------------------------------------------------
# Reading: one table shape for the web pages, the API and the exports


@dataclass
class Column:
    """One metric column. ``higher_is_better`` is the sort direction (measurements sort
    ascending); ``direction`` is what a reader may be told: "higher", "lower" or None for a
    measurement with no better side (a predicted HC is not better for being smaller)."""

    key: str
    class_name: str
    metric: str
    higher_is_better: bool
    ranking: bool
    label: str = ""
    direction: str | None = None
    metric_label: str = ""


def make_column(class_name: str, metric: str, ranking: bool, scorer: str = "standard") -> Column:
    """A column with its words and direction; TaskError for a metric with no direction."""
    higher = metric_higher_is_better(metric)
    direction = ("higher" if higher else "lower") if has_better_side(metric) else None
    return Column(
        key=f"{class_name}.{metric}",
        class_name=class_name,
        metric=metric,
        higher_is_better=higher,
        ranking=ranking,
        label=column_label(class_name, metric, scorer),
        direction=direction,
        metric_label=metric_label(metric, scorer),
    )


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

    @property
    def shows_mean_rank(self) -> bool:
        """Whether ``score`` is a mean of per-metric ranks (worth its own column)."""
        return self.ranking_method == Phase.RankingMethod.MEAN_RANK and (
            sum(1 for c in self.columns if c.ranking) > 1
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase_id,
            "site": self.site or ALL,
            "ranking_method": self.ranking_method,
            "entry_selection": self.entry_selection,
            "stale": self.stale,
            "computed_at": self.computed_at.isoformat() if self.computed_at else None,
            "columns": [asdict(c) for c in self.columns],
            "rows": [asdict(r) | {"created_at": r.created_at.isoformat()} for r in self.rows],
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        # CRLF rows (RFC 4180): the writer then quotes a cell holding \r as well as \n.
        writer = csv.writer(out, lineterminator="\r\n")
        fixed = ["rank", "score", "submission_id", "participant", "method_name", "backbone"]
        fixed += ["fine_tuning_strategy", "params_total", "params_trainable", "flops"]
        fixed += ["latency_ms", "created_at"]
        stats = ("mean", "ci95_low", "ci95_high")
        writer.writerow(fixed + [f"{c.key}.{s}" for c in self.columns for s in stats])
        for row in self.rows:
            # Participants' text (method, backbone, team names) never starts a formula.
            cells = [neutralise(getattr(row, name)) for name in fixed]
            cells[fixed.index("created_at")] = row.created_at.isoformat()
            for column in self.columns:
                value = row.values.get(column.key) or {}
                cells += [_csv_number(value.get(s)) for s in stats]
            writer.writerow(["" if c is None else c for c in cells])
        return out.getvalue()


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
    seen = {c.key for c in criteria}
    columns = [make_column(c.class_name, c.metric, True, scorer) for c in criteria]
    for entry in entries:
        for cls, metrics in stored_metrics(entry.values).items():
            for metric in metrics:
                key = f"{cls}.{metric}"
                if key not in seen:
                    seen.add(key)
                    try:
                        columns.append(make_column(cls, metric, False, scorer))
                    except TaskError:  # stored by an evaluator that named it otherwise
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


def leaderboard_table(phase: Phase, site: Site | str | None = None) -> LeaderboardTable:
    """The materialised leaderboard of ``phase`` for all cases (site None) or one site."""
    entries = LeaderboardEntry.objects.filter(phase=phase).select_related(
        "submission__team", "submission__creator"
    )
    if site is None or site == ALL:
        site_name = None
        entries = entries.filter(site__isnull=True)
    elif isinstance(site, Site):
        site_name = site.name
        entries = entries.filter(site=site)
    else:
        site_name = str(site)
        entries = entries.filter(site__name=site_name, site__challenge_id=phase.challenge_id)
    entries = list(entries.order_by("rank", "submission__created_at", "submission_id"))
    columns = _columns(phase, entries)
    signature = ranking_signature(phase)
    rows = []
    for entry in entries:
        sub = entry.submission
        flat = {
            f"{cls}.{metric}": stats
            for cls, metrics in stored_metrics(entry.values).items()
            for metric, stats in metrics.items()
        }
        rows.append(
            Row(
                rank=entry.rank,
                score=entry.score,
                submission_id=sub.pk,
                participant=sub.participant_name,
                method_name=sub.method_name,
                backbone=sub.backbone,
                fine_tuning_strategy=sub.fine_tuning_strategy,
                params_total=sub.params_total,
                params_trainable=sub.params_trainable,
                params_source=sub.params_source,
                created_at=sub.created_at,
                values=flat,
                flops=sub.flops,
                latency_ms=sub.latency_ms,
            )
        )
    return LeaderboardTable(
        phase.pk,
        site_name,
        phase.ranking_method,
        phase.entry_selection,
        columns,
        rows,
        stale=any(e.ranking_signature != signature for e in entries),
        computed_at=min((e.computed_at for e in entries), default=None),
    )
