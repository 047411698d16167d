"""Bootstrap resamples of cases, and each entry's mean and median in every resample, at once.

A resample draws n cases from the board's n cases with replacement (Efron's bootstrap, as
challengeR does for rank stability: Wiesenfarth et al., Sci Rep 2021). All that matters of a
resample is how often each case was drawn, so resamples are kept as a samples x cases matrix
of counts: an entry's mean in every resample is then one matrix product (counts @ values.T),
and its median a weighted order statistic of its sorted values, with no samples x entries x
cases copy of the data.

Reproducible: the counts come from ``numpy.random.default_rng(seed)`` drawing case indices,
so the same seed gives the same resamples on every machine with the same NumPy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

#: Samples x entries x cases elements per block of the median computation.
BLOCK_ELEMENTS = 1 << 22


def resample_counts(n_cases: int, n_samples: int, seed: int) -> np.ndarray:
    """Samples x cases matrix: how often each case is drawn in each resample of n_cases
    cases with replacement (every row sums to n_cases)."""
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, n_cases, size=(n_samples, n_cases)) if n_cases else None
    if drawn is None:
        return np.zeros((n_samples, 0), dtype=np.int64)
    cells = (drawn + (np.arange(n_samples) * n_cases)[:, None]).ravel()
    return np.bincount(cells, minlength=n_samples * n_cases).reshape(n_samples, n_cases)


def indices_from_counts(counts: ArrayLike) -> np.ndarray:
    """The case indices of one resample (sorted) from its row of counts."""
    row = np.asarray(counts)
    return np.repeat(np.arange(row.size), row)


def per_unique_row(matrix: np.ndarray, compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``compute`` (rows -> samples x rows) on the distinct rows only, spread back to all
    rows. Entries with identical values (the same predictions submitted twice) then get
    bit-identical results and stay tied in every resample, whatever order a BLAS kernel
    sums in."""
    unique, inverse = np.unique(matrix, axis=0, return_inverse=True)
    return compute(unique)[:, np.asarray(inverse).ravel()]


def resampled_means(values: ArrayLike, counts: np.ndarray) -> np.ndarray:
    """Samples x entries means of an entries x cases matrix over each resample."""
    matrix = np.asarray(values, dtype=np.float64)
    n_cases = matrix.shape[1]
    return per_unique_row(matrix, lambda rows: (counts @ rows.T) / n_cases)


def resampled_medians(values: ArrayLike, counts: np.ndarray) -> np.ndarray:
    """Samples x entries medians of an entries x cases matrix over each resample, equal to
    ``np.median(values[:, indices], axis=1)`` (the mean of the two middle values when the
    number of cases is even).

    Each entry's values are sorted once; in a resample, the k-th smallest value is the first
    sorted position whose cumulative count reaches k.
    """
    matrix = np.asarray(values, dtype=np.float64)
    entries, n_cases = matrix.shape
    samples = counts.shape[0]
    out = np.empty((samples, entries))
    if n_cases == 0:
        out[:] = np.nan
        return out
    order = np.argsort(matrix, axis=1, kind="stable")
    ordered = np.take_along_axis(matrix, order, axis=1)
    low_k, high_k = (n_cases + 1) // 2, n_cases // 2 + 1  # 1-based middle positions
    # Cumulative counts never exceed n_cases: int16 halves the memory traffic when it fits.
    small = np.int16 if n_cases <= np.iinfo(np.int16).max else np.int32
    narrow = counts.astype(small)
    step = max(1, BLOCK_ELEMENTS // max(entries * n_cases, 1))
    rows = np.arange(entries)
    for start in range(0, samples, step):
        block = narrow[start : start + step]
        cumulative = np.cumsum(block[:, order], axis=2, dtype=small)  # samples x E x C
        low = (cumulative < low_k).sum(axis=2)
        if high_k == low_k:
            out[start : start + step] = ordered[rows, low]
        else:
            high = (cumulative < high_k).sum(axis=2)
            out[start : start + step] = (ordered[rows, low] + ordered[rows, high]) / 2
    return out
