"""One-sided Wilcoxon signed-rank tests for many pairs at once, as SciPy computes each one.

Wilcoxon (Biometrics Bulletin 1945): for paired per-case values, rank the absolute
differences, sum the ranks of the positive ones (``r_plus``) and ask how unlikely a sum that
large is if both entries were equally good. challengeR's test-then-rank and significance maps
use it one-sided on every ordered pair of entries (Wiesenfarth et al., Sci Rep 2021).

Each row's p-value equals ``scipy.stats.wilcoxon(row, alternative="greater").pvalue`` with
SciPy's defaults (``zero_method="wilcox"``: zero differences are dropped; ``correction=False``;
``method="auto"``), decided row by row as a call on that row alone would decide:

- more than 50 differences (zeros included): normal approximation of ``r_plus`` with the tie
  correction (variance minus sum(t^3 - t)/48 over groups of tied absolute differences);
- at most 50, no zero and no tie: the exact null distribution of ``r_plus``;
- at most 13, with zeros or ties: every one of the 2^n sign flips (SciPy's exact permutation
  test, deterministic for n <= 13);
- 14 to 50 with zeros or ties: the normal approximation.

SciPy vectorised over rows (``axis=``) takes the exact/permutation/normal decision once for
the whole stack (any tie anywhere sends every row to the approximation), so a stack of pairs
would not equal the pairs tested one by one; hence this module, which also ranks each row
only once for both directions. All-zero rows give NaN where SciPy does.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

#: SciPy's method="auto" uses the normal approximation above this many observations.
EXACT_MAX = 50
#: ... and, with zeros or ties, enumerates all 2^n sign flips up to this many.
PERMUTATION_MAX = 13
#: Rows x cases per vectorised block (bounds the temporary arrays to a few tens of MB).
BLOCK_ELEMENTS = 1 << 20


@lru_cache(maxsize=64)
def _exact_sf_table(n: int) -> np.ndarray:
    """P(r_plus >= k) for k = 0 .. n(n+1)/2 under the null, computed as SciPy does (same
    probability mass function, the same sums), so exact p-values agree to the last bit."""
    pmf = np.ones(1, dtype=np.float64)
    for k in range(1, n + 1):
        previous = pmf
        pmf = np.zeros(k * (k + 1) // 2 + 1, dtype=np.float64)
        m = len(previous)
        pmf[:m] = previous * 0.5
        pmf[-m:] += previous * 0.5
    mean = n * (n + 1) / 4
    table = np.array([pmf[k:].sum() if k <= mean else 1 - pmf[:k].sum() for k in range(len(pmf))])
    table.setflags(write=False)
    return table


def _rank_terms(d: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per row: r_plus, r_minus, count of non-zero differences, sum of t^3 - t over tied
    groups, whether a tie exists, and a function giving the average ranks in sorted order.

    One sort per row: the key is the absolute difference's bit pattern (non-negative doubles
    order as their bits) shifted left by one, with the sign in the freed bit, so the sorted
    keys carry both the order of |d| and each difference's sign (no argsort, no gathers).
    Zero differences sort first and are dropped (SciPy's zero_method="wilcox"). Groups of
    equal |d| are then found on the flattened rows; a group starting at flat position b
    with s members, p of them positive, adds p * (b + (s + 1) / 2) to its row's sum, from
    which the row's offset times its positives is taken (all in halves: exact).
    """
    rows, n = d.shape
    keys = (np.abs(d).view(np.uint64) << np.uint64(1)) | (d > 0)
    keys.sort(axis=1)
    flat = keys.ravel()
    magnitudes = flat >> np.uint64(1)
    starts = np.empty(flat.shape, dtype=bool)
    starts[0] = True
    np.not_equal(magnitudes[1:], magnitudes[:-1], out=starts[1:])
    starts[::n] = True  # a row never continues the previous row's group
    begin = np.flatnonzero(starts)
    size = np.diff(begin, append=flat.size)
    row_start = np.arange(rows) * n
    first_group = np.searchsorted(begin, row_start)  # every row starts a group
    # Positives before each flat position: a group's positives are a difference of two.
    positives_before = np.zeros(flat.size + 1, dtype=np.int64)
    np.cumsum(flat & np.uint64(1), dtype=np.int64, out=positives_before[1:])
    positives = np.diff(positives_before[np.append(begin, flat.size)])
    row_positives = positives_before[row_start + n] - positives_before[row_start]
    # Zeros form the first group of their row (the smallest key), if any.
    zeros = np.where(magnitudes[row_start] == 0, size[first_group], 0)
    offset = row_start + zeros  # rank = flat position - offset + 1 for an untied value
    sums = np.add.reduceat(positives * (begin + (size + 1) * 0.5), first_group)
    r_plus = sums - offset * row_positives
    count = n - zeros
    r_minus = count * (count + 1) / 2 - r_plus
    tie_term = np.add.reduceat(size**3 - size, first_group) - (zeros**3 - zeros)
    has_ties = tie_term > 0

    def sorted_ranks() -> np.ndarray:
        group_row = begin // n
        rank = begin + (size + 1) * 0.5 - offset[group_row]
        rank[magnitudes[begin] == 0] = 0.0
        return np.repeat(rank, size).reshape(rows, n)

    return r_plus, r_minus, count, tie_term, has_ties, sorted_ranks


def _normal(r: np.ndarray, count: np.ndarray, tie_term: np.ndarray) -> np.ndarray:
    """Upper-tail p-value of r under the normal approximation, SciPy's arithmetic."""
    count = count.astype(np.float64)
    mean = count * (count + 1.0) * 0.25
    se = count * (count + 1.0) * (2.0 * count + 1.0)
    se = np.sqrt((se - tie_term.astype(np.float64) / 2) / 24)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (r - mean) / se
    return ndtr(-z)


def _permutation(r: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Share of the 2^n sign flips whose r_plus is at least r (SciPy's exact permutation
    test; ranks are multiples of 1/2, so sums compare exactly)."""
    n = ranks.shape[1]
    flips = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.float64)
    null = ranks @ flips.T  # rows x 2^n
    gamma = np.abs(np.finfo(np.float64).eps * 100 * r)
    return (null >= (r - gamma)[:, None]).sum(axis=1) / float(1 << n)


def wilcoxon_greater(d: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """One-sided signed-rank p-values of every row of ``d`` (rows x paired differences).

    Returns ``(forward, backward)``: ``forward[r] == scipy.stats.wilcoxon(d[r],
    alternative="greater").pvalue`` (the first of the pair is better) and ``backward[r]``
    the same for ``-d[r]`` (the second is better), both from one ranking of the row.
    """
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"expected rows x differences, got shape {d.shape}")
    rows, n = d.shape
    forward = np.full(rows, np.nan)
    backward = np.full(rows, np.nan)
    if n == 0 or rows == 0:
        return forward, backward
    step = max(1, BLOCK_ELEMENTS // n)
    for start in range(0, rows, step):
        block = slice(start, start + step)
        r_plus, r_minus, count, tie_term, has_ties, sorted_ranks = _rank_terms(d[block])
        f = _normal(r_plus, count, tie_term)
        b = _normal(r_minus, count, tie_term)
        if n <= EXACT_MAX:
            exact = ~has_ties & (count == n)  # no tie and no zero
            if exact.any():
                table = _exact_sf_table(n)
                f[exact] = table[np.floor(r_plus[exact]).astype(np.int64)]
                b[exact] = table[np.floor(r_minus[exact]).astype(np.int64)]
            if n <= PERMUTATION_MAX and (~exact).any():
                other = ~exact
                ranks = sorted_ranks()
                f[other] = _permutation(r_plus[other], ranks[other])
                b[other] = _permutation(r_minus[other], ranks[other])
        forward[block] = f
        backward[block] = b
    unknown = np.isnan(d).any(axis=1)  # SciPy's nan_policy="propagate"
    forward[unknown] = np.nan
    backward[unknown] = np.nan
    return forward, backward


def oriented(values: ArrayLike, higher_is_better: bool) -> np.ndarray:
    """The matrix with its sign flipped when lower is better, so that larger is better."""
    matrix = np.asarray(values, dtype=np.float64)
    return matrix if higher_is_better else -matrix


def pairwise_wilcoxon(values: ArrayLike, higher_is_better: bool) -> np.ndarray:
    """Entries x entries matrix of one-sided p-values: ``p[i, j]`` for "entry i is better
    than entry j" on the paired cases (columns) of an entries x cases matrix.

    ``p[i, j] == scipy.stats.wilcoxon(x[i], x[j], alternative="greater").pvalue`` when higher
    is better, ``wilcoxon(x[j], x[i], alternative="greater")`` when lower is better. The
    diagonal is NaN. Values must be complete (see missing.fill_missing); equal infinite
    values count as a zero difference.
    """
    matrix = oriented(values, higher_is_better)
    if matrix.ndim != 2:
        raise ValueError(f"expected an entries x cases matrix, got shape {matrix.shape}")
    entries, cases = matrix.shape
    p = np.full((entries, entries), np.nan)
    budget = max(1, BLOCK_ELEMENTS // max(cases, 1))  # pairs per block
    first = 0
    while first < entries - 1:
        # Entries first..last-1 against every later entry: broadcast rows, no gathers.
        last, rows = first, 0
        while last < entries - 1 and (rows == 0 or rows + entries - 1 - last <= budget):
            rows += entries - 1 - last
            last += 1
        with np.errstate(invalid="ignore"):
            d = np.concatenate(
                [
                    np.where(matrix[i] == matrix[i + 1 :], 0.0, matrix[i] - matrix[i + 1 :])
                    for i in range(first, last)
                ]
            )
        forward, backward = wilcoxon_greater(d)
        offset = 0
        for i in range(first, last):
            k = entries - 1 - i
            p[i, i + 1 :] = forward[offset : offset + k]
            p[i + 1 :, i] = backward[offset : offset + k]
            offset += k
        first = last
    return p
