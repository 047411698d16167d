"""Per-case ranks: the data of challengeR's podium plot and ranking heat map.

On every case the entries are ranked against each other (competition ranks, best = 1); the
entries x cases matrix of those ranks is what rank-then-aggregate averages, and its per-entry
histogram (how many cases each entry won, came second on, ...) is the ranking heat map
(Wiesenfarth et al., Sci Rep 2021, "podium plots" and "ranking heatmaps").
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from evaluator.statistics.ranks import competition_ranks


def case_ranks(values: ArrayLike, higher_is_better: bool) -> np.ndarray:
    """Entries x cases matrix of each entry's competition rank among the entries on each
    case (a column); NaN values rank after every present one."""
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"expected an entries x cases matrix, got shape {matrix.shape}")
    return competition_ranks(matrix.T, higher_is_better).T


def rank_histogram(ranks: ArrayLike) -> np.ndarray:
    """Entries x ranks counts from an entries x cases rank matrix: ``out[e, r - 1]`` is the
    number of cases on which entry e has rank r (ranks 1..n_entries)."""
    matrix = np.asarray(ranks, dtype=np.int64)
    entries = matrix.shape[0]
    if matrix.size == 0:
        return np.zeros((entries, entries), dtype=np.int64)
    cells = (np.arange(entries)[:, None] * entries + (matrix - 1)).ravel()
    return np.bincount(cells, minlength=entries * entries).reshape(entries, entries)
