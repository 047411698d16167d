"""Rank uncertainty by the bootstrap: how an entry's rank varies when the cases vary.

The board's cases are a sample of the cases a method will meet; resampling them with
replacement (B = 1,000 times by default) and ranking the board again in each resample shows
how firmly each rank is held (Wiesenfarth et al., Sci Rep 2021: bootstrap rankings, blob
plots; Maier-Hein et al., Nat Commun 2018: ranking robustness). Per entry this gives the
median rank over the resamples, the 95% rank interval (2.5th and 97.5th percentiles, linear
interpolation as R's default quantile type 7 and numpy.percentile) and the rank frequency
table (entries x ranks counts) that a blob plot draws.

Every method bootstraps with its own resampled scores (methods.py): the aggregate and
rank-based methods in one vectorised pass; test-then-rank repeats all pairwise tests in each
resample and is only run when pairs x cases x samples stays within
``methods.TEST_BOOTSTRAP_MAX_WORK`` (otherwise ``bootstrap`` returns None with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluator.statistics.board import Board
from evaluator.statistics.methods import TEST_BOOTSTRAP_MAX_WORK, RankingMethod
from evaluator.statistics.podium import rank_histogram
from evaluator.statistics.resample import resample_counts

N_BOOTSTRAP = 1000


@dataclass(frozen=True)
class RankIntervals:
    """Bootstrap summary of one method's ranks on one board."""

    method: str
    n_bootstrap: int
    seed: int
    median: np.ndarray  # per entry, median rank over the resamples
    low: np.ndarray  # per entry, 2.5th percentile of the rank
    high: np.ndarray  # per entry, 97.5th percentile of the rank
    frequencies: np.ndarray  # entries x ranks: resamples in which entry e had rank r

    @classmethod
    def from_ranks(cls, method: str, seed: int, ranks: np.ndarray) -> RankIntervals:
        """Summarise a samples x entries matrix of ranks."""
        low, median, high = np.percentile(ranks, [2.5, 50.0, 97.5], axis=0)
        return cls(
            method=method,
            n_bootstrap=int(ranks.shape[0]),
            seed=int(seed),
            median=median,
            low=low,
            high=high,
            frequencies=rank_histogram(ranks.T),
        )


def bootstrap_ranks(board: Board, method: RankingMethod, n_bootstrap: int, seed: int) -> np.ndarray:
    """Samples x entries ranks of the board under ``method`` in each of n_bootstrap
    resamples of its cases, drawn from ``numpy.random.default_rng(seed)``."""
    counts = resample_counts(board.n_cases, n_bootstrap, seed)
    return method.resampled_ranks(board, counts)


def bootstrap(
    board: Board,
    method: RankingMethod,
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
    max_test_work: int = TEST_BOOTSTRAP_MAX_WORK,
) -> tuple[RankIntervals | None, str | None]:
    """(intervals, None), or (None, why not) when there is nothing to resample or the
    method's resampling would exceed the work budget."""
    if n_bootstrap < 1:
        return None, "no bootstrap requested"
    if board.n_entries == 0:
        return None, "no entries"
    if board.n_cases == 0:
        return None, "no cases to resample"
    work = method.bootstrap_work(board, n_bootstrap)
    if work > max_test_work:
        return None, (
            f"{method.name} is not bootstrapped on a board this large "
            f"({work:,} pair-case-samples > {max_test_work:,})"
        )
    ranks = bootstrap_ranks(board, method, n_bootstrap, seed)
    return RankIntervals.from_ranks(method.name, seed, ranks), None
