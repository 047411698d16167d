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

#: Elements per temporary array of the median computation (entries are taken in chunks).
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

    The k-th smallest value of a resample is found in two steps over each entry's sorted
    values, cut into blocks of about sqrt(n): how often each block was drawn (one matrix
    product of the counts with a case-to-block indicator, exact in float32 for counts below
    2^24) locates the block holding the k-th value, and a cumulative count within that block
    alone finds it. This touches samples x entries x (blocks + block width) numbers instead
    of samples x entries x cases.
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
    width = int(np.ceil(np.sqrt(n_cases)))
    blocks = -(-n_cases // width)
    # Sorted position -> case, padded to whole blocks with case n_cases, never drawn.
    padded = np.full((entries, blocks * width), n_cases)
    padded[:, :n_cases] = order
    drawn_or_not = np.concatenate([counts, np.zeros((samples, 1), counts.dtype)], axis=1)
    as_float = counts.astype(np.float32)
    middle = sorted({(n_cases + 1) // 2, n_cases // 2 + 1})  # 1-based middle positions
    step = max(1, BLOCK_ELEMENTS // (max(samples, n_cases) * blocks))
    for first in range(0, entries, step):
        chunk = np.arange(first, min(entries, first + step))
        m = chunk.size
        position = np.empty((m, n_cases), dtype=np.int64)  # each case's sorted position
        np.put_along_axis(position, order[chunk], np.arange(n_cases)[None, :], axis=1)
        indicator = np.zeros((n_cases, m * blocks), dtype=np.float32)
        cases = np.broadcast_to(np.arange(n_cases), (m, n_cases))
        indicator[cases, np.arange(m)[:, None] * blocks + position // width] = 1.0
        cumulative = np.cumsum((as_float @ indicator).reshape(samples, m, blocks), axis=2)
        entry = np.arange(m)[None, :]
        picked = []
        for k in middle:
            block = (cumulative < k).sum(axis=2)  # samples x m: the block holding the k-th
            before = np.take_along_axis(cumulative, np.maximum(block - 1, 0)[..., None], axis=2)
            before = np.where(block > 0, before[..., 0], 0.0)
            members = padded[chunk].reshape(m, blocks, width)[entry, block]  # samples x m x w
            drawn = np.take_along_axis(drawn_or_not, members.reshape(samples, -1), axis=1)
            running = np.cumsum(drawn.reshape(samples, m, width), axis=2)
            within = (running < (k - before)[..., None]).sum(axis=2)
            picked.append(ordered[chunk][entry, block * width + within])
        out[:, chunk] = picked[0] if len(picked) == 1 else (picked[0] + picked[1]) / 2
    return out
