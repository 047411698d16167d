"""Statistically tied entries: pairs the data cannot put in order.

Two entries are marked tied when neither evidence separates them: their bootstrap 95% rank
intervals overlap AND the Holm-adjusted one-sided Wilcoxon test is not significant in either
direction. An entry that is significantly better than another is never tied with it, however
their intervals fall; and two entries whose rank intervals are disjoint are not tied even if
the tests (which spend their power on every pair at once) do not separate them. Without rank
intervals (no bootstrap) only the tests decide. Following challengeR's reading of blob plots
and significance maps together (Wiesenfarth et al., Sci Rep 2021).
"""

from __future__ import annotations

import numpy as np


def tied_pairs(
    significant: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """Index pairs (i < j) of statistically tied entries, from the entries x entries
    significance matrix (row better than column) and optional per-entry rank intervals."""
    significant = np.asarray(significant, dtype=bool)
    separated = significant | significant.T
    if low is not None and high is not None:
        low, high = np.asarray(low), np.asarray(high)
        overlap = (low[:, None] <= high[None, :]) & (low[None, :] <= high[:, None])
    else:
        overlap = np.ones(separated.shape, dtype=bool)
    tied = overlap & ~separated
    first, second = np.nonzero(np.triu(tied, 1))
    return [(int(i), int(j)) for i, j in zip(first, second, strict=True)]


def tied_with(pairs: list[tuple[int, int]], n_entries: int) -> list[list[int]]:
    """Per entry, the indices of the entries it is tied with (ascending)."""
    out: list[list[int]] = [[] for _ in range(n_entries)]
    for i, j in pairs:
        out[i].append(j)
        out[j].append(i)
    return [sorted(row) for row in out]
