"""Checking a phase's ranking metrics against its challenge's task.

A leaderboard ranks by metric paths; a misspelt one (say ``head.hc_abs_error_mm`` where the
evaluator writes ``head.hc_abs_diff_mm``) would rank every submission as "missing" without
anyone noticing. So a phase can only name metrics its task's results carry, each then has a
direction (``evaluator.metric_spec.MetricSpec``), and the value has the one shape a task's
own ``ranking`` has: ``[{"metric": "head.dice"}, ...]`` (``evaluator.tasks.ranking_problem``),
so organisers write ranking metrics the same way in a task file and on a phase.
"""

from __future__ import annotations

from typing import Any

from evaluator.tasks import Task, metric_paths, ranking_problem


def ranking_metrics_problem(ranking_metrics: Any, task: Task) -> str | None:
    """Why ``ranking_metrics`` cannot rank ``task``'s results, or None when it can.

    The value must be a list of ranking entries (``{"metric": "group.metric"}``, optionally
    with ``higher_is_better``) whose paths are among the task's metric paths, each once; an
    empty list means "the task's own ranking".
    """
    problem = ranking_problem(ranking_metrics, metric_paths(task), what=f"task {task.name!r}")
    if problem:
        return problem
    seen: set[str] = set()
    for i, item in enumerate(ranking_metrics, start=1):
        if item["metric"] in seen:
            return f"ranking metric #{i} {item['metric']!r} is listed twice"
        seen.add(item["metric"])
    return None
