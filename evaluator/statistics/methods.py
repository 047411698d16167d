"""Ranking methods, by name: how a board's per-case values become one rank per entry.

Maier-Hein et al. (Nat Commun 2018) showed that the choice among these reorders real
challenge rankings; challengeR (Wiesenfarth et al., Sci Rep 2021) offers the first four. All
use competition ranks (ties share the lowest rank, "1224"; challengeR's default
``ties.method = "min"``), on complete values (missing cases at the metric's worst value).

- ``aggregate_mean`` / ``aggregate_median``: aggregate-then-rank, the mean (median) of the
  primary metric over cases, ranked in the metric's direction. ``aggregate_mean`` is the
  platform's "primary" method (alias kept).
- ``rank_then_aggregate``: rank the entries on each case, average each entry's ranks over
  the cases, rank those averages (lower is better).
- ``test_then_rank``: one-sided Wilcoxon signed-rank tests of every ordered pair on the
  paired cases, Holm-adjusted over all n(n - 1) pairs at alpha (0.05); an entry's score is
  the number of entries it is significantly better than; more wins rank higher, equal wins
  share a rank.
- ``mean_rank``: mean of per-metric ranks, the platform's existing multi-metric method: rank
  the entries by the mean of each metric (aggregate-then-rank), average those ranks over the
  metrics, rank the averages (lower is better). With one metric it equals aggregate_mean.

Each method gives its scores on the board and, for the bootstrap, its scores in every
resample at once (samples x cases counts in, samples x entries scores out), so resampled
rankings cost matrix products rather than loops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evaluator.statistics.board import Board
from evaluator.statistics.ranks import competition_ranks
from evaluator.statistics.resample import (
    indices_from_counts,
    resampled_means,
    resampled_medians,
)
from evaluator.statistics.significance import significance

#: Work (pairs x cases x samples) up to which test-then-rank is bootstrapped: about 2 s of one
#: core here (benchmarks/board_statistics.md); a larger board's test-then-rank gets no intervals.
TEST_BOOTSTRAP_MAX_WORK = 25_000_000


@dataclass(frozen=True)
class MethodRanking:
    """One method's result on a board: a score and a rank per entry."""

    method: str
    scores: np.ndarray
    ranks: np.ndarray
    score_higher_is_better: bool


@dataclass(frozen=True)
class RankingMethod:
    """A ranking method as the platform offers it (name, label, one-line description)."""

    name: str
    label: str
    description: str
    score_label: str
    #: Scores on the board (one per entry).
    scores: Callable[[Board], np.ndarray]
    #: Scores in each resample: (board, samples x cases counts) -> samples x entries.
    resampled_scores: Callable[[Board, np.ndarray], np.ndarray]
    #: Whether a higher score is better; None: the primary metric's direction.
    score_higher_is_better: bool | None

    def direction(self, board: Board) -> bool:
        if self.score_higher_is_better is None:
            return board.higher_is_better[board.primary]
        return self.score_higher_is_better

    def rank(self, board: Board) -> MethodRanking:
        scores = np.asarray(self.scores(board), dtype=np.float64)
        higher = self.direction(board)
        return MethodRanking(self.name, scores, competition_ranks(scores, higher), higher)

    def resampled_ranks(self, board: Board, counts: np.ndarray) -> np.ndarray:
        """Samples x entries competition ranks of the board in each resample."""
        return competition_ranks(self.resampled_scores(board, counts), self.direction(board))

    def bootstrap_work(self, board: Board, n_samples: int) -> int:
        """Rough element count of resampled_scores, for the test-then-rank budget."""
        if self.name != TEST_THEN_RANK:
            return 0
        pairs = board.n_entries * (board.n_entries - 1) // 2
        return pairs * board.n_cases * n_samples

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "score_label": self.score_label,
        }


# --------------------------------------------------------------------------------------------
# Scores


def _mean(board: Board) -> np.ndarray:
    values = board.values[board.primary]
    if values.shape[1] == 0:
        return np.full(values.shape[0], np.nan)
    return values.mean(axis=1)


def _median(board: Board) -> np.ndarray:
    values = board.values[board.primary]
    if values.shape[1] == 0:
        return np.full(values.shape[0], np.nan)
    return np.median(values, axis=1)


def _mean_case_rank(board: Board) -> np.ndarray:
    ranks = board.case_ranks
    if ranks.shape[1] == 0:
        return np.full(ranks.shape[0], np.nan)
    return ranks.mean(axis=1)


def _wins(board: Board) -> np.ndarray:
    return board.significance.wins.astype(np.float64)


def _mean_metric_rank(board: Board) -> np.ndarray:
    per_metric = []
    for metric, values in board.values.items():
        means = values.mean(axis=1) if values.shape[1] else np.full(values.shape[0], np.nan)
        per_metric.append(competition_ranks(means, board.higher_is_better[metric]))
    return np.mean(per_metric, axis=0)


# --------------------------------------------------------------------------------------------
# Scores in every resample (samples x entries)


def _resampled_mean(board: Board, counts: np.ndarray) -> np.ndarray:
    return resampled_means(board.values[board.primary], counts)


def _resampled_median(board: Board, counts: np.ndarray) -> np.ndarray:
    return resampled_medians(board.values[board.primary], counts)


def _resampled_mean_case_rank(board: Board, counts: np.ndarray) -> np.ndarray:
    # Per-case ranks compare entries within a case, so resampling cases only reweights them;
    # integer ranks times integer counts sum exactly in floating point, whatever the order.
    return (counts @ board.case_ranks.T.astype(np.float64)) / board.n_cases


def _resampled_wins(board: Board, counts: np.ndarray) -> np.ndarray:
    # Every resample repeats the whole test-then-rank on its cases: all ordered pairs tested,
    # Holm over that resample's family, wins counted.
    values = board.oriented()
    wins = np.zeros((counts.shape[0], values.shape[0]))
    for sample, row in enumerate(counts):
        resampled = values[:, indices_from_counts(row)]
        wins[sample] = significance(resampled, True, board.alpha).wins
    return wins


def _resampled_mean_metric_rank(board: Board, counts: np.ndarray) -> np.ndarray:
    per_metric = [
        competition_ranks(resampled_means(values, counts), board.higher_is_better[metric])
        for metric, values in board.values.items()
    ]
    return np.mean(per_metric, axis=0)


# --------------------------------------------------------------------------------------------
# The registry

AGGREGATE_MEAN = "aggregate_mean"
AGGREGATE_MEDIAN = "aggregate_median"
RANK_THEN_AGGREGATE = "rank_then_aggregate"
TEST_THEN_RANK = "test_then_rank"
MEAN_RANK = "mean_rank"

METHODS: dict[str, RankingMethod] = {
    m.name: m
    for m in (
        RankingMethod(
            AGGREGATE_MEAN,
            "Mean (aggregate, then rank)",
            "Rank by the mean of the primary metric over all cases.",
            "mean",
            _mean,
            _resampled_mean,
            None,
        ),
        RankingMethod(
            AGGREGATE_MEDIAN,
            "Median (aggregate, then rank)",
            "Rank by the median of the primary metric over all cases.",
            "median",
            _median,
            _resampled_median,
            None,
        ),
        RankingMethod(
            RANK_THEN_AGGREGATE,
            "Mean per-case rank (rank, then aggregate)",
            "Rank the entries on every case, then rank by the mean of those per-case ranks.",
            "mean case rank",
            _mean_case_rank,
            _resampled_mean_case_rank,
            False,
        ),
        RankingMethod(
            TEST_THEN_RANK,
            "Significant wins (test, then rank)",
            "Rank by the number of entries each is significantly better than "
            "(one-sided Wilcoxon signed-rank tests on paired cases, Holm-adjusted, alpha 0.05).",
            "significant wins",
            _wins,
            _resampled_wins,
            True,
        ),
        RankingMethod(
            MEAN_RANK,
            "Mean of per-metric ranks",
            "Rank the entries by the mean of each ranking metric, then rank by the mean of "
            "those ranks.",
            "mean metric rank",
            _mean_metric_rank,
            _resampled_mean_metric_rank,
            False,
        ),
    )
}

#: Names the platform already stores for a method listed here.
ALIASES: dict[str, str] = {"primary": AGGREGATE_MEAN}


def get_method(name: str) -> RankingMethod:
    """The method called ``name`` (or an alias); ValueError naming the choices otherwise."""
    method = METHODS.get(ALIASES.get(name, name))
    if method is None:
        raise ValueError(f"unknown ranking method {name!r}: choose from {sorted(METHODS)}")
    return method


def method_choices() -> list[tuple[str, str]]:
    """(name, label) pairs in the registry's order, for a select."""
    return [(m.name, m.label) for m in METHODS.values()]
