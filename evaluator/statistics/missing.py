"""What a missing or failed case counts as: the metric's worst value (the edge-case policy).

A board compares entries on the same cases, and an entry that skipped or failed a case must
not gain from it: dropping the case would let an entry improve its mean by leaving out its
hardest images. So every NaN in an entries x cases matrix is replaced by the metric's worst
value before any ranking or test, as challengeR's ``na.treat`` does (Wiesenfarth et al.,
Sci Rep 2021; e.g. ``na.treat = 0`` for Dice) and as Maier-Hein et al. (Nat Commun 2018)
recommend reporting:

- **fixed** worst value (the default for metrics bounded by construction: Dice, IoU and the
  other [0, 1] scores in ``BOUNDED_WORST`` count a missing case as 0);
- **observed** worst value (the default for unbounded metrics, distances in mm such as HD,
  HD95, ASSD): the worst value any entry has on that case, so a missing case ties with the
  worst real attempt and is never better than it. A case no entry has a value for gets the
  worst value observed anywhere on the board (every entry then ties on it, which changes no
  ranking); a board with no value at all gets 0 (everything ties).

Callers choose per metric with ``worst``: a number is a fixed worst value, ``None`` asks for
the observed one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: Worst values of metrics bounded by construction (the last part of a "class.metric" path).
#: Unlisted metrics default to the observed worst value of each case.
BOUNDED_WORST: dict[str, float] = {
    "dice": 0.0,
    "iou": 0.0,
    "nsd": 0.0,
    "boundary_iou": 0.0,
    "correct": 0.0,
    "p_true": 0.0,
}

FIXED = "fixed"
OBSERVED = "observed"


def default_worst(metric: str) -> float | None:
    """The fixed worst value of a bounded metric ("dice" or "head.dice"), else None
    (meaning: the observed worst value of each case)."""
    return BOUNDED_WORST.get(metric.rsplit(".", 1)[-1])


@dataclass(frozen=True)
class Filled:
    """An entries x cases matrix with every missing value replaced, and what was done."""

    values: np.ndarray
    n_missing: int
    policy: str  # FIXED or OBSERVED
    worst: float | None  # the fixed worst value; None for OBSERVED

    def to_dict(self) -> dict:
        return {"policy": self.policy, "worst": self.worst, "n_missing": self.n_missing}


def fill_missing(values: ArrayLike, higher_is_better: bool, worst: float | None = None) -> Filled:
    """Replace NaNs of an entries x cases matrix by the metric's worst value.

    ``worst`` given: that value everywhere (policy "fixed"). ``None``: per case, the worst
    value observed on that case across entries (lowest when higher is better, else highest);
    for a case nobody has, the worst value on the whole board; with no value at all, 0.
    """
    matrix = np.array(values, dtype=np.float64, copy=True)
    if matrix.ndim != 2:
        raise ValueError(f"expected an entries x cases matrix, got shape {matrix.shape}")
    missing = np.isnan(matrix)
    n_missing = int(missing.sum())
    if worst is not None:
        if np.isnan(worst):
            raise ValueError("the worst value must be a number")
        matrix[missing] = float(worst)
        return Filled(matrix, n_missing, FIXED, float(worst))
    if n_missing:
        present = ~missing
        if not present.any():
            matrix[:] = 0.0
        else:
            fill = np.where(missing, -np.inf if not higher_is_better else np.inf, matrix)
            per_case = fill.max(axis=0) if not higher_is_better else fill.min(axis=0)
            board = matrix[present].max() if not higher_is_better else matrix[present].min()
            nobody = ~present.any(axis=0)
            per_case[nobody] = board
            rows, cols = np.nonzero(missing)
            matrix[rows, cols] = per_case[cols]
    return Filled(matrix, n_missing, OBSERVED, None)
