"""One board ready for analysis: complete matrices, directions, the primary metric.

A board is the entries x cases values of one or more metrics over the same entries and the
same cases (the all-cases board or one site's board of a phase). ``Board.from_values`` applies
the missing-value policy (missing.py) once, so every ranking method, test and resample sees
the same complete numbers, and caches what several analyses share (the significance tests,
the per-case ranks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from evaluator.statistics.missing import default_worst, fill_missing
from evaluator.statistics.podium import case_ranks
from evaluator.statistics.significance import ALPHA, Significance, significance
from evaluator.statistics.wilcoxon import oriented


@dataclass
class Board:
    """Complete entries x cases matrices per metric (missing values already replaced)."""

    values: dict[str, np.ndarray]
    higher_is_better: dict[str, bool]
    primary: str
    alpha: float = ALPHA
    #: Per metric, what the missing-value policy did: {"policy", "worst", "n_missing"}.
    missing: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def from_values(
        cls,
        values: Mapping[str, ArrayLike],
        directions: Mapping[str, bool],
        primary: str | None = None,
        worst: Mapping[str, float | None] | None = None,
        alpha: float = ALPHA,
    ) -> Board:
        """Check shapes and directions, and fill missing values: ``worst[metric]`` when the
        caller gives one (a number, or None for the observed worst of each case), else the
        bound of a bounded metric (missing.BOUNDED_WORST), else the observed worst."""
        if not values:
            raise ValueError("a board needs at least one metric")
        shapes = {name: np.shape(matrix) for name, matrix in values.items()}
        first_shape = next(iter(shapes.values()))
        if len(first_shape) != 2 or any(shape != first_shape for shape in shapes.values()):
            raise ValueError(f"every metric needs the same entries x cases matrix: {shapes}")
        unknown = [name for name in values if name not in directions]
        if unknown:
            raise ValueError(f"no direction (higher_is_better) for {unknown}")
        primary = next(iter(values)) if primary is None else primary
        if primary not in values:
            raise ValueError(f"primary metric {primary!r} is not among {list(values)}")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
        worst = worst or {}
        filled, missing = {}, {}
        for name, matrix in values.items():
            fixed = worst[name] if name in worst else default_worst(name)
            result = fill_missing(matrix, bool(directions[name]), fixed)
            filled[name] = result.values
            missing[name] = result.to_dict()
        return cls(
            values=filled,
            higher_is_better={name: bool(directions[name]) for name in values},
            primary=primary,
            alpha=float(alpha),
            missing=missing,
        )

    @property
    def metrics(self) -> list[str]:
        return list(self.values)

    @property
    def n_entries(self) -> int:
        return self.values[self.primary].shape[0]

    @property
    def n_cases(self) -> int:
        return self.values[self.primary].shape[1]

    def oriented(self, metric: str | None = None) -> np.ndarray:
        """A metric's matrix with larger always better (negated when lower is better)."""
        metric = self.primary if metric is None else metric
        return oriented(self.values[metric], self.higher_is_better[metric])

    @cached_property
    def significance(self) -> Significance:
        """All-pairs one-sided Wilcoxon tests, Holm-adjusted, on the primary metric."""
        return significance(
            self.values[self.primary], self.higher_is_better[self.primary], self.alpha
        )

    @cached_property
    def case_ranks(self) -> np.ndarray:
        """Entries x cases ranks of the primary metric on each case."""
        return case_ranks(self.values[self.primary], self.higher_is_better[self.primary])
