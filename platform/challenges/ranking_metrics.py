"""Checking a phase's ranking metrics against its challenge's task.

A leaderboard ranks by metric names; a misspelt one (say ``hc_abs_error_mm`` where the
evaluator writes ``hc_abs_diff_mm``) would rank every submission as "missing" without anyone
noticing. So a phase can only name metrics its task's results carry, and each then has a
direction in the evaluator's table (``evaluator.tasks.METRIC_DIRECTIONS``).
"""

from __future__ import annotations

from typing import Any

from evaluator.tasks import Task, metric_paths


def ranking_metrics_problem(ranking_metrics: Any, task: Task) -> str | None:
    """Why ``ranking_metrics`` cannot rank ``task``'s results, or None when it can.

    The value must be a list of ``{"class": ..., "metric": ...}`` whose ``class.metric``
    paths are among the task's metric paths; an empty list means "the task's own ranking".
    """
    shape = 'a list of {"class": ..., "metric": ...} objects'
    if not isinstance(ranking_metrics, list):
        return f"ranking metrics must be {shape}, not {type(ranking_metrics).__name__}"
    valid = metric_paths(task)
    seen: set[str] = set()
    for i, item in enumerate(ranking_metrics, start=1):
        if (
            not isinstance(item, dict)
            or set(item) != {"class", "metric"}
            or not all(isinstance(v, str) for v in item.values())
        ):
            return f"ranking metric #{i} ({item!r}) must be {{'class': str, 'metric': str}}"
        path = f"{item['class']}.{item['metric']}"
        if path not in valid:
            return (
                f"ranking metric #{i} {path!r} is not a metric of task {task.name!r}; "
                f"choose from {valid}"
            )
        if path in seen:
            return f"ranking metric #{i} {path!r} is listed twice"
        seen.add(path)
    return None
