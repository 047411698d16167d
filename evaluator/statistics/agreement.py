"""How much two rankings agree: Kendall's tau-b.

Kendall (Biometrika 1938) counts the pairs of entries two rankings put in the same order
(concordant) and in opposite orders (discordant); tau-b (Kendall 1945) divides their
difference by sqrt((n0 - n1)(n0 - n2)), n0 = n(n - 1)/2 pairs, n1 and n2 the pairs tied in
either ranking, so tied ranks (common with competition ranking) do not shrink the agreement
of identical rankings below 1. It is ``scipy.stats.kendalltau``'s default variant; Maier-Hein
et al. (Nat Commun 2018) and challengeR (Wiesenfarth et al., Sci Rep 2021) use it to compare
rankings across ranking methods and bootstrap samples.

Counted exactly in integers over all pairs (O(n^2) in blocks of rows: 1,000 entries are a
million pairs, milliseconds). Undefined (None) with fewer than two entries or when either
ranking ties everything, where SciPy returns NaN.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

import numpy as np
from numpy.typing import ArrayLike

#: Pairs per block of the pair count.
BLOCK_PAIRS = 1 << 22


def kendall_tau_b(x: ArrayLike, y: ArrayLike) -> float | None:
    """Kendall's tau-b between two equally long sequences of numbers (e.g. ranks)."""
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"rankings of different lengths: {a.size} and {b.size}")
    n = a.size
    if n < 2 or np.isnan(a).any() or np.isnan(b).any():
        return None
    products = ties_a = ties_b = 0
    step = max(1, BLOCK_PAIRS // n)
    for start in range(0, n, step):
        rows = slice(start, start + step)
        sign_a = np.sign(a[rows, None] - a[None, :]).astype(np.int8)
        sign_b = np.sign(b[rows, None] - b[None, :]).astype(np.int8)
        products += int((sign_a.astype(np.int64) * sign_b).sum())
        ties_a += int((sign_a == 0).sum())
        ties_b += int((sign_b == 0).sum())
    # Ordered pairs were counted twice, and every element is "tied" with itself once.
    total = n * (n - 1) // 2
    concordant_minus_discordant = products // 2
    tied_a, tied_b = (ties_a - n) // 2, (ties_b - n) // 2
    if tied_a == total or tied_b == total:
        return None
    tau = concordant_minus_discordant / math.sqrt(total - tied_a) / math.sqrt(total - tied_b)
    return min(1.0, max(-1.0, tau))


def method_agreement(rankings: Mapping[str, ArrayLike]) -> list[dict]:
    """Kendall's tau-b between the rankings of every pair of methods, in the mapping's
    order: ``[{"a": name, "b": name, "tau": float | None}, ...]``."""
    names = list(rankings)
    return [
        {"a": a, "b": b, "tau": kendall_tau_b(rankings[a], rankings[b])}
        for index, a in enumerate(names)
        for b in names[index + 1 :]
    ]


def snapshot_agreement(
    previous: Mapping[Hashable, float], current: Mapping[Hashable, float]
) -> dict:
    """Kendall's tau-b between two snapshots of one board (entry -> rank), over the entries
    present in both; ``{"tau": float | None, "n_common": int}``. Also serves for comparing
    two sites' boards."""
    common = [key for key in current if key in previous]
    tau = kendall_tau_b([previous[k] for k in common], [current[k] for k in common])
    return {"tau": tau, "n_common": len(common)}
