"""Materialising leaderboards: ``recompute`` writes the phase's ``LeaderboardEntry`` rows.

``recompute(phase)`` runs after every evaluation (and after disqualifying or changing the
ranking), never on page views. Each row also records which ranking built it
(``ranking_signature``: method, metrics and entry selection), so a board whose phase was
re-ranked while no worker ran can say it is stale (``tables.LeaderboardTable.stale``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from challenges.leaderboards.history import record_snapshots
from challenges.leaderboards.keys import needs_cases, pending_signature
from challenges.leaderboards.ranking import (
    criteria_for,
    criterion_values,
    rank_rows,
    scope_values,
    select,
)
from challenges.leaderboards.scopes import board_scopes
from challenges.models import Evaluation, LeaderboardEntry, Phase, Submission
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


@dataclass
class _Candidate:
    submission: Submission
    aggregates: dict[str, Any]


def _select_and_rank(
    candidates: list[_Candidate], scope: str, criteria: list[MetricSpec], phase: Phase
) -> list[tuple[_Candidate, int, float | None, dict]]:
    values = [scope_values(c.aggregates, scope) for c in candidates]
    flats = [criterion_values(v, criteria) for v in values]
    order = sorted(
        range(len(candidates)),
        key=lambda i: (candidates[i].submission.created_at, candidates[i].submission.pk),
    )
    participants = [c.submission.participant_key for c in candidates]
    keep = select(phase.entry_selection, participants, order, flats, criteria, phase.ranking_method)
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
        if needs_cases(phase.ranking_method):
            # Provisional ranks until the worker's analysis gives them (leaderboards.keys).
            signature = pending_signature(signature)
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
        now = timezone.now()
        ranked = [
            (scope, _select_and_rank(candidates, scope.key, criteria, phase))
            for scope in board_scopes(phase)
        ]
        entries = [
            LeaderboardEntry(
                phase=phase,
                site=scope.site,
                submission=cand.submission,
                rank=rank,
                score=score,
                values=values,
                computed_at=now,
                ranking_signature=signature,
            )
            for scope, rows in ranked
            for cand, rank, score, values in rows
        ]
        LeaderboardEntry.objects.filter(phase=phase).delete()
        LeaderboardEntry.objects.bulk_create(entries, batch_size=500)
        # History: a snapshot of each board ranked (and the worker's analysis queued).
        record_snapshots(
            phase,
            [
                (
                    scope,
                    [(c.submission.pk, r, s, criterion_values(v, criteria)) for c, r, s, v in rows],
                )
                for scope, rows in ranked
            ],
            signature=signature,
            paths=[c.path for c in criteria],
            computed_at=now,
        )
    return len(entries)
