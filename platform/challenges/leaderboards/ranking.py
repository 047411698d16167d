"""Ranking, pure: no Django, no database, no phase objects.

Ranking follows grand-challenge.org: either the primary metric, or the mean of per-metric
ranks; competition ranking (ties share a rank and the next rank is skipped: 1, 1, 3); missing
values always rank after every present value.

A candidate's values in one scope (``{class: {metric: stats}}``, one scope of the evaluation's
``board_values``, see ``challenges.board_values``) give one number per criterion
(``criterion_values``); the three entry selections (``select_best``, ``select_latest``,
``select_all``) say which candidates a board keeps, and ``rank_rows`` ranks the kept ones.
Every rank is counted by sorting (``competition_ranks``), so a board of n candidates costs
O(n log n), not O(n^2).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

from evaluator.metric_spec import MetricSpec
from evaluator.statistics.ranks import competition_ranks as sorted_competition_ranks
from evaluator.tasks import Task, parse_ranking

#: The scope of every case (the per-site scopes are the sites' names).
ALL = "all"
#: ``Phase.RankingMethod.MEAN_RANK`` (the model's choice value; this module has no Django).
MEAN_RANK = "mean_rank"
#: ``Phase.RankingMethod.PRIMARY``: the primary metric's mean.
PRIMARY = "primary"
#: ``Phase.EntrySelection.LATEST``; anything else keeps each participant's best entry.
LATEST = "latest"
#: What a board ranks by when the phase names nothing and its task cannot be read.
FALLBACK_CRITERION = "head.dice"


def criteria_for(ranking_metrics: Sequence[dict] | None, task: Task | None) -> list[MetricSpec]:
    """The ranking criteria, first = primary: the phase's ranking metrics (the task's ranking
    shape, ``[{"metric": "head.dice"}]``; any other shape is a TaskError), or the task's own
    ranking when the phase names none, or head Dice when the task is unknown (``None``).
    UnknownMetric for a name no scorer emits."""
    scorer = task.scorer if task is not None else "standard"
    if ranking_metrics:
        return list(parse_ranking(ranking_metrics, scorer))
    if task is not None:
        return list(task.ranking)
    return [MetricSpec.of(FALLBACK_CRITERION)]


def criterion_values(
    values: dict[str, dict[str, dict]], criteria: list[MetricSpec]
) -> dict[str, Any]:
    """{criterion path: mean} of one candidate's scope values (None where missing)."""
    return {c.path: (values.get(c.group, {}).get(c.name) or {}).get("mean") for c in criteria}


def competition_ranks(values: Sequence[float | None], higher_first: bool) -> list[int]:
    """1 + number of strictly better values (higher ones when ``higher_first``, else lower
    ones); missing values share the rank after all others.

    By sorting (``evaluator.statistics.ranks``, O(n log n)): a board ranks every candidate of
    every scope after each scored submission, and comparing each value with every other cost
    23 ms per 1,000 values. None goes in as NaN, which that function ranks exactly so."""
    array = [math.nan if value is None else value for value in values]
    return sorted_competition_ranks(array, higher_is_better=higher_first).tolist()


def rank_rows(
    rows: list[dict[str, float | None]], criteria: list[MetricSpec], method: str
) -> list[tuple[int, float | None]]:
    """(rank, score) for each row of {criterion path: value}; with the mean-rank method and
    several criteria the score is the mean of per-metric ranks, else the primary value.
    Measurements (no better side) rank ascending, as they sort."""
    if not rows:
        return []
    if method == MEAN_RANK and len(criteria) > 1:
        per_metric = [
            competition_ranks([row.get(c.path) for row in rows], c.higher_first) for c in criteria
        ]
        scores = [sum(ranks) / len(ranks) for ranks in zip(*per_metric, strict=True)]
        final = competition_ranks(list(scores), higher_first=False)
        return list(zip(final, scores, strict=True))
    primary = criteria[0]
    values = [row.get(primary.path) for row in rows]
    return list(zip(competition_ranks(values, primary.higher_first), values, strict=True))


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
    criteria: list[MetricSpec],
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
    criteria: list[MetricSpec],
    method: str,
) -> list[int]:
    """The kept indices under a phase's entry selection ("best", "latest") or "all"."""
    if selection == ALL:
        return select_all(participants)
    if selection == LATEST:
        return select_latest(participants, order)
    return select_best(participants, order, rows, criteria, method)
