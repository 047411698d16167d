"""The columns a leaderboard page offers, in order, with what the column chooser needs.

The table is wider than a screen once every metric shows (HC18 has a dozen), so each column
gets a stable id (`cols` in the URL names the shown ones), words for its header, the
direction its header may claim, and whether it shows before the reader chooses. Rank and team
are not here: they are always shown and stay put (sticky) while the rest scrolls.
"""

from __future__ import annotations

from dataclasses import dataclass

from challenges.leaderboards import Column, LeaderboardTable
from challenges.models import Phase


@dataclass(frozen=True)
class BoardColumn:
    id: str
    label: str
    #: What the template puts in the cell: "method", "strategy", "backbone", "params_total",
    #: "params_trainable", "flops", "latency_ms", "score" or "metric".
    kind: str
    numeric: bool = True
    #: First-click sort direction ("asc"/"desc"): best first where there is a best.
    sort_dir: str = "asc"
    shown: bool = True
    title: str = ""
    arrow: str = ""
    ranking: bool = False
    metric: Column | None = None


def _metric_column(column: Column, default_metrics: set[str]) -> BoardColumn:
    spec = column.spec
    if spec.direction is None:
        title = f"{column.label}: a measurement, neither higher nor lower is better"
    else:
        title = f"{column.label}: {spec.direction} is better"
    return BoardColumn(
        id=column.key,
        label=column.label,
        kind="metric",
        sort_dir="desc" if spec.higher_first else "asc",
        shown=column.ranking or spec.name in default_metrics,
        title=title,
        arrow=spec.arrow,
        ranking=column.ranking,
        metric=column,
    )


#: The score column of the per-case ranking methods (the row's ``score`` is the method's
#: score once the worker's analysis has ranked the board).
PER_CASE_SCORES = {
    Phase.RankingMethod.RANK_THEN_AGGREGATE: BoardColumn(
        "score",
        "Mean case rank",
        "score",
        title="Mean over the cases of the entry's rank on each case: lower is better",
        arrow="↓",
        ranking=True,
    ),
    Phase.RankingMethod.TEST_THEN_RANK: BoardColumn(
        "score",
        "Significant wins",
        "score",
        sort_dir="desc",
        title="Entries this one beats in a one-sided Wilcoxon test (Holm-adjusted): "
        "higher is better",
        arrow="↑",
        ranking=True,
    ),
}


def board_columns(table: LeaderboardTable, default_metrics: set[str]) -> list[BoardColumn]:
    """Every optional column of ``table``'s page, in display order."""
    columns: list[BoardColumn] = []
    per_case = PER_CASE_SCORES.get(table.ranking_method)
    if per_case:
        # The method's own score, so the order is explainable (empty while ranks are pending).
        columns.append(per_case)
    elif table.shows_mean_rank:
        columns.append(
            BoardColumn(
                "score",
                "Mean rank",
                "score",
                title="Mean of the per-metric ranks over the highlighted columns: lower is better",
                arrow="↓",
                ranking=True,
            )
        )
    columns += [
        BoardColumn("method", "Method", "method", numeric=False),
        BoardColumn("strategy", "Strategy", "strategy", numeric=False),
        BoardColumn("backbone", "Backbone", "backbone", numeric=False),
        BoardColumn(
            "params_total",
            "Params",
            "params_total",
            title="Total parameters; ● measured by the platform, ○ declared",
        ),
        BoardColumn(
            "params_trainable",
            "Trainable params",
            "params_trainable",
            shown=False,
            title="Parameters trained for this task; ● measured, ○ declared",
        ),
        BoardColumn(
            "flops", "FLOPs", "flops", title="Measured FLOPs of one forward pass (model files)"
        ),
        BoardColumn(
            "latency_ms",
            "Latency (ms)",
            "latency_ms",
            title="Measured median latency per image on the worker (model files)",
        ),
    ]
    columns += [_metric_column(c, default_metrics) for c in table.columns]
    return columns
