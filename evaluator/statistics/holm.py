"""Holm's step-down adjustment of p-values (Holm, Scand J Statist 1979).

Sort the m p-values ascending, multiply the k-th smallest by (m - k + 1), carry the running
maximum forward so that adjusted values keep the order of the raw ones, and cap at 1 (R's
``p.adjust(method = "holm")``, which challengeR calls). An adjusted value at most alpha
rejects its hypothesis with the family-wise error rate controlled at alpha, under any
dependence between the tests, which all-pairs comparisons on shared cases certainly have.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def holm(pvalues: ArrayLike) -> np.ndarray:
    """Holm-adjusted p-values of any shape; NaN entries are outside the family (m counts
    only the others, as R's p.adjust does) and stay NaN."""
    p = np.asarray(pvalues, dtype=np.float64)
    flat = p.ravel()
    present = ~np.isnan(flat)
    values = flat[present]
    m = values.size
    order = np.argsort(values, kind="stable")
    factors = m - np.arange(m)  # m, m-1, ..., 1
    steps = np.minimum(1.0, np.maximum.accumulate(factors * values[order]))
    adjusted_present = np.empty(m)
    adjusted_present[order] = steps
    out = np.full(flat.shape, np.nan)
    out[present] = adjusted_present
    return out.reshape(p.shape)
