"""A metric with a direction: the one type that says which way a metric is better.

Results store metrics under a group ("head.dice", "challenge.score"). Tasks rank by them,
leaderboards sort and rank by them, and pages, the API and the CLI draw ↑/↓ for them; all of
them take the direction from here, which reads it from the scorers' own declarations
(`evaluator.scorers`: each scorer lists its metrics with True for "higher is better", False
for "lower is better" and None for a measurement with no better side, such as a predicted
head circumference or its signed difference from the reference).

`MetricSpec.of("head.hd95", scorer="standard")` is the metric with its direction and its
words ("HD95 (mm)"); an unknown name is an `UnknownMetric`, so a misspelt metric can never be
ranked in an arbitrary direction. Specs are built once per (path, scorer) and shared, since a
leaderboard asks for the same columns on every page view.

Imports only `evaluator.scorers.registry` (which loads a scorer's module on first use), so
`evaluator.tasks` and the platform can import this without a cycle.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from evaluator.scorers.registry import all_scorers, get_scorer


class UnknownMetric(ValueError):
    """A metric name that no scorer emits; the message lists the names that exist."""


@dataclass(frozen=True)
class MetricSpec:
    """One metric and which way it is better.

    ``higher_is_better`` is True or False for a score, and None for a measurement with no
    better side (``hc_pred_mm``, the signed ``hc_diff_mm``, ``aop_pred``): boards still sort
    and may rank by those, ascending (``higher_first`` is False), but must not call either
    end better. ``label`` is what a header or an axis says ("HD95 (mm)"), with ``unit`` in it.
    """

    #: "group.metric" ("head.dice") or a bare metric name ("dice").
    path: str
    higher_is_better: bool | None
    label: str = ""
    unit: str = ""

    @classmethod
    def of(cls, path: str, scorer: str = "standard") -> MetricSpec:
        """The spec of ``path`` ("head.dice" or "dice") with the words ``scorer`` uses
        (units differ: the psfhs2023 scorer keeps distances in pixels). UnknownMetric for a
        name no scorer emits."""
        return _spec(path, scorer)

    # Cached: ranking reads them for every candidate and scope (the instance dict is written
    # directly, which a frozen dataclass allows; equality still compares the fields only).
    @functools.cached_property
    def group(self) -> str:
        """The class or group the metric belongs to ("head"); "" for a bare name."""
        return self.path.rpartition(".")[0]

    @functools.cached_property
    def name(self) -> str:
        """The metric's own name, after the group ("dice")."""
        return self.path.rpartition(".")[2]

    @property
    def has_better_side(self) -> bool:
        return self.higher_is_better is not None

    @property
    def higher_first(self) -> bool:
        """The order a board sorts and ranks by: higher values first only where higher is
        better; lower-is-better scores and measurements ascending."""
        return self.higher_is_better is True

    @property
    def direction(self) -> str | None:
        """What a reader may be told: "higher", "lower", or None for a measurement."""
        if self.higher_is_better is None:
            return None
        return "higher" if self.higher_is_better else "lower"

    @property
    def arrow(self) -> str:
        """↑, ↓, or "" for a measurement."""
        return {"higher": "↑", "lower": "↓"}.get(self.direction or "", "")


@functools.cache
def metric_directions() -> Mapping[str, bool | None]:
    """Every metric name any scorer emits (after the group: "dice" in "head.dice") with its
    direction; built on first use, since it imports every scorer's module."""
    directions: dict[str, bool | None] = {}
    for scorer in all_scorers():
        for metric, direction in scorer.directions().items():
            if directions.setdefault(metric, direction) != direction:
                raise RuntimeError(f"scorers disagree on the direction of {metric!r}")
    return MappingProxyType(directions)


@functools.cache
def _spec(path: str, scorer: str) -> MetricSpec:
    metric = path.rpartition(".")[2]
    directions = metric_directions()
    if metric not in directions:
        raise UnknownMetric(f"unknown metric {metric!r}: the evaluator emits {sorted(directions)}")
    words, unit = _words(metric, get_scorer(scorer).distance_unit)
    label = f"{words} ({unit})" if unit else words
    return MetricSpec(path, directions[metric], label, unit)


# --------------------------------------------------------------------------------------------
# Words: what a leaderboard header, a plot axis or an export says for a metric key. A key
# without words here keeps its own name, so a new metric shows up rather than not at all.

#: Distances, in the scorer's distance unit (millimetres, or pixels for psfhs2023).
_DISTANCES = {
    "hd": "HD",
    "hd95": "HD95",
    "hd95_max": "HD95 max",
    "assd": "ASSD",
    "masd": "MASD",
    "asd": "ASD",
}

#: Everything else: words and unit.
_OTHERS = {
    "dice": ("Dice", ""),
    "iou": ("IoU", ""),
    # Without their width, which is a task's (``Task.metric`` labels "NSD @ 2 mm").
    "nsd": ("NSD", ""),
    "boundary_iou": ("Boundary IoU", ""),
    "aop_pred": ("AoP predicted", "°"),
    "aop_ref": ("AoP reference", "°"),
    "aop_abs_diff": ("AoP abs. diff", "°"),
    "score": ("Challenge score", ""),
    "accuracy": ("Accuracy", ""),
    "macro_f1": ("Macro F1", ""),
    "macro_auc": ("Macro AUC", ""),
    "correct": ("Correct", ""),
    "p_true": ("P(true class)", ""),
}

#: A biometric measurement's four metrics (``hc_pred_mm``, ...), always in millimetres.
_BIOMETRY_SUFFIXES = {
    "pred_mm": "predicted",
    "ref_mm": "reference",
    "abs_diff_mm": "abs. diff",
    "diff_mm": "diff, pred − ref",
}


def _words(metric: str, distance_unit: str) -> tuple[str, str]:
    if metric in _DISTANCES:
        return _DISTANCES[metric], distance_unit
    if metric in _OTHERS:
        return _OTHERS[metric]
    for key in sorted({k for s in all_scorers() for k in s.measurements}):
        for suffix, words in _BIOMETRY_SUFFIXES.items():
            if metric == f"{key}_{suffix}":
                return f"{key.upper()} {words}", "mm"
    return metric, ""
