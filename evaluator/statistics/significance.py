"""Which entry is significantly better than which: the data of a significance map.

Every ordered pair of entries (i, j), i != j, is tested one-sided ("i is better than j") with
the Wilcoxon signed-rank test on their paired per-case values (wilcoxon.py), and the
n(n - 1) p-values are Holm-adjusted as one family (holm.py). That family is challengeR's:
its ``decision.challenge`` tests every ordered pair and adjusts all of them together
(Wiesenfarth et al., Sci Rep 2021), and so do its significance maps and test-then-rank. An
entry's wins are the pairs it is significantly better in; test-then-rank ranks by them.

A pair whose test is undefined (SciPy gives NaN: more than 13 cases and every paired
difference zero, i.e. the same values) enters the family with p = 1: it is one of the
comparisons made, and it shows no difference. An adjusted p-value at most alpha is
significant (challengeR's ``<= alpha``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from evaluator.statistics.holm import holm
from evaluator.statistics.wilcoxon import pairwise_wilcoxon

#: Significance level of every test here unless a caller says otherwise.
ALPHA = 0.05


@dataclass(frozen=True)
class Significance:
    """One-sided pairwise tests of a board (entries x entries; row i "better than" column j)."""

    pvalues: np.ndarray  # raw one-sided p-values, NaN on the diagonal (and where undefined)
    adjusted: np.ndarray  # Holm over all ordered pairs, NaN on the diagonal
    alpha: float

    @property
    def significant(self) -> np.ndarray:
        """Boolean matrix: row i is significantly better than column j."""
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(self.adjusted, nan=1.0) <= self.alpha

    @property
    def wins(self) -> np.ndarray:
        """Per entry, the number of entries it is significantly better than."""
        return self.significant.sum(axis=1)

    @property
    def family_size(self) -> int:
        n = self.pvalues.shape[0]
        return n * (n - 1)


def significance(values: ArrayLike, higher_is_better: bool, alpha: float = ALPHA) -> Significance:
    """All-pairs one-sided Wilcoxon signed-rank tests on a complete entries x cases matrix,
    Holm-adjusted over the n(n - 1) ordered pairs."""
    raw = pairwise_wilcoxon(values, higher_is_better)
    family = raw.copy()
    off_diagonal = ~np.eye(raw.shape[0], dtype=bool)
    family[off_diagonal & np.isnan(raw)] = 1.0  # undefined test: no evidence, still counted
    return Significance(pvalues=raw, adjusted=holm(family), alpha=float(alpha))
