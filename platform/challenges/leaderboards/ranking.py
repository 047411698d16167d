"""Ranking, pure: no Django, no database, no phase objects.

Ranking follows grand-challenge.org: either the primary metric, or the mean of per-metric
ranks; competition ranking (ties share a rank and the next rank is skipped: 1, 1, 3); missing
values always rank after every present value.

A candidate's stored aggregates (``{scope: {class: {metric: stats}}}``) become per-scope
values (``scope_values``) and then one number per criterion (``criterion_values``); the three
entry selections (``select_best``, ``select_latest``, ``select_all``) say which candidates a
board keeps, and ``rank_rows`` ranks the kept ones.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from evaluator.tasks import higher_is_better

#: The scope of every case (the per-site scopes are the sites' names).
ALL = "all"
#: ``Phase.RankingMethod.MEAN_RANK`` (the model's choice value; this module has no Django).
MEAN_RANK = "mean_rank"
#: ``Phase.EntrySelection.LATEST``; anything else keeps each participant's best entry.
LATEST = "latest"


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


def criteria_for(ranking_metrics: Sequence[dict] | None, task: Any) -> list[Criterion]:
    """The phase's ranking metrics (``[{"class": ..., "metric": ...}]``), or the task's own
    ranking when the phase names none, or head Dice when the task is unknown (``None``)."""
    if ranking_metrics:
        pairs = [(str(m["class"]), str(m["metric"])) for m in ranking_metrics]
    elif task is not None:
        pairs = [(h.metric.partition(".")[0], h.metric.partition(".")[2]) for h in task.ranking]
    else:
        pairs = [("head", "dice")]
    return [Criterion(c, m, metric_higher_is_better(m)) for c, m in pairs]


def number(value: Any) -> float | None:
    """A finite float from a stored value (a number, or stats with a "mean"), else None."""
    if isinstance(value, dict):
        value = value.get("mean")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def scope_values(aggregates: dict[str, Any], scope: str) -> dict[str, dict[str, dict]]:
    """``{class: {metric: {mean, ci95_low, ci95_high}}}`` of one scope of the aggregates."""
    out: dict[str, dict[str, dict]] = {}
    for cls, metrics in (aggregates.get(scope) or {}).items():
        if not isinstance(metrics, dict):
            continue
        for metric, stats in metrics.items():
            if isinstance(stats, dict):
                entry = {k: number(stats.get(k)) for k in ("mean", "ci95_low", "ci95_high")}
            else:
                entry = {"mean": number(stats), "ci95_low": None, "ci95_high": None}
            out.setdefault(str(cls), {})[str(metric)] = entry
    return out


def criterion_values(
    values: dict[str, dict[str, dict]], criteria: list[Criterion]
) -> dict[str, Any]:
    """{criterion key: mean} of one candidate's scope values (None where missing)."""
    return {c.key: (values.get(c.class_name, {}).get(c.metric) or {}).get("mean") for c in criteria}


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
    """(rank, score) for each row of {criterion key: value}; with the mean-rank method and
    several criteria the score is the mean of per-metric ranks, else the primary value."""
    if not rows:
        return []
    if method == MEAN_RANK and len(criteria) > 1:
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
# Entry selections: which candidates a board keeps. Each takes the candidates' participant
# keys in chronological order (``order``: indices sorted by creation time, then id) and
# returns the kept indices, ascending.


def select_latest(participants: Sequence[Hashable], order: Sequence[int]) -> list[int]:
    """Each participant's latest candidate."""
    chosen: dict[Hashable, int] = {}
    for i in order:  # later ones overwrite earlier ones
        chosen[participants[i]] = i
    return sorted(chosen.values())


def select_best(
    participants: Sequence[Hashable],
    order: Sequence[int],
    rows: list[dict[str, float | None]],
    criteria: list[Criterion],
    method: str,
) -> list[int]:
    """Each participant's best-ranked candidate (ranked among all candidates); the earlier
    one wins a tie."""
    ranked = rank_rows(rows, criteria, method)
    best: dict[Hashable, int] = {}
    for i in order:  # earlier submission wins a tie
        key = participants[i]
        if key not in best or ranked[i][0] < ranked[best[key]][0]:
            best[key] = i
    return sorted(best.values())


def select_all(participants: Sequence[Hashable]) -> list[int]:
    """Every candidate (the ``?entries=all`` board)."""
    return list(range(len(participants)))


def select(
    selection: str,
    participants: Sequence[Hashable],
    order: Sequence[int],
    rows: list[dict[str, float | None]],
    criteria: list[Criterion],
    method: str,
) -> list[int]:
    """The kept indices under a phase's entry selection ("best", "latest") or "all"."""
    if selection == ALL:
        return select_all(participants)
    if selection == LATEST:
        return select_latest(participants, order)
    return select_best(participants, order, rows, criteria, method)
