"""A submission's own scores (overall and per site, with 95 % intervals) for its owners.

The leaderboard shows a team's chosen entry, and only when the board is public; the owners of
a submission must see what it scored in any case (issue 10, item 4). The numbers come from the
current evaluation's `aggregates` (docs/results-schema.md) as they are: nothing is recomputed.
Who may call this is the caller's business (`permissions.can_view_submission`).
"""

from __future__ import annotations

from typing import Any

from challenges.leaderboards.ranking import ALL
from challenges.models import Evaluation, Submission
from evaluator.metric_spec import MetricSpec, UnknownMetric

SUMMARY_FIELDS = ("mean", "ci95_low", "ci95_high", "n", "n_nan")


def _direction(metric: str) -> bool | None:
    """True/False from the metric's spec; None for a measurement with no better side
    (hc_pred_mm, hc_diff_mm, ...) and for a name the evaluator does not know."""
    try:
        return MetricSpec.of(metric).higher_is_better
    except UnknownMetric:
        return None


def _ranking_keys(submission: Submission) -> list[str]:
    phase = submission.phase
    if phase.ranking_metrics:
        return [spec.path for spec in phase.ranking_specs]
    try:
        return [spec.path for spec in phase.challenge.get_task().ranking]
    except Exception:  # noqa: BLE001 - an unknown task: no metric is marked
        return []


def current_evaluation(submission: Submission) -> Evaluation | None:
    return submission.evaluations.filter(is_current=True).order_by("-created_at", "-id").first()


def submission_scores(submission: Submission) -> dict[str, Any] | None:
    """``{"metrics": [...], "sites": [...], "values": {site: {key: summary}}, ...}`` or None
    while the submission has no current evaluation. Ranking metrics come first."""
    evaluation = current_evaluation(submission)
    if evaluation is None:
        return None
    aggregates = (evaluation.results or {}).get("aggregates") or {}
    sites = [ALL] + [s for s in aggregates if s != ALL] if ALL in aggregates else list(aggregates)
    values: dict[str, dict[str, dict]] = {}
    keys: list[str] = []
    for site in sites:
        flat: dict[str, dict] = {}
        for group, metrics in (aggregates.get(site) or {}).items():
            for metric, summary in (metrics or {}).items():
                key = f"{group}.{metric}"
                flat[key] = {f: (summary or {}).get(f) for f in SUMMARY_FIELDS}
                if key not in keys:
                    keys.append(key)
        values[site] = flat
    ranking = [k for k in _ranking_keys(submission) if k in keys]
    ordered = ranking + [k for k in keys if k not in ranking]
    metrics = [
        {
            "key": key,
            "class_name": key.partition(".")[0],
            "metric": key.partition(".")[2],
            "label": key.replace(".", " "),
            "higher_is_better": _direction(key),
            "ranking": key in ranking,
        }
        for key in ordered
    ]
    return {
        "evaluated_at": evaluation.created_at.isoformat(),
        "evaluator_version": evaluation.evaluator_version,
        "ranking": ranking,
        "metrics": metrics,
        "sites": sites,
        "values": values,
    }


def score_rows(scores: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The same scores as table rows for a page: one per metric, one cell per site."""
    if not scores:
        return []
    return [
        {**metric, "cells": [scores["values"].get(site, {}).get(metric["key"]) for site in scores["sites"]]}
        for metric in scores["metrics"]
    ]
