"""What leaderboards read of an evaluation, kept beside its results document.

A results document (docs/results-schema.md) holds every case's values: ~250 kB for a 700-case
test set. Boards only read the aggregates' mean and 95 % interval per scope, class and metric,
and reading them straight out of ``results`` made PostgreSQL decompress and walk the whole
document for every evaluation on every recompute and every-entry page (190 ms of the query at
700 cases x 1,000 submissions). So each evaluation also stores ``board_values`` (a few kB),
computed here from its results when it is saved (``Evaluation.save``) and backfilled for older
rows by migration 0010; the boards, the every-entry page and the board API read only that.
The means alone also go into ``BoardMeans`` rows (``board_means``), one small flat JSON
object per scope, which is all a recompute reads to rank.

Pure: no Django, no database (models and the migration import it, so it imports neither).
"""

from __future__ import annotations

import math
from typing import Any

#: The statistics a board shows of each aggregate (mean, and the 95 % bootstrap interval).
BOARD_STATS = ("mean", "ci95_low", "ci95_high")


def number(value: Any) -> float | None:
    """A finite float from a stored value (a number, or stats with a "mean"), else None."""
    if isinstance(value, dict):
        value = value.get("mean")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def scope_values(aggregates: dict[str, Any], scope: str) -> dict[str, dict[str, dict]]:
    """``{class: {metric: {mean, ci95_low, ci95_high}}}`` of one scope of the aggregates."""
    out: dict[str, dict[str, dict]] = {}
    for cls, metrics in (aggregates.get(scope) or {}).items():
        if not isinstance(metrics, dict):
            continue
        for metric, stats in metrics.items():
            if isinstance(stats, dict):
                entry = {k: number(stats.get(k)) for k in BOARD_STATS}
            else:
                entry = {"mean": number(stats), "ci95_low": None, "ci95_high": None}
            out.setdefault(str(cls), {})[str(metric)] = entry
    return out


def board_values(results: Any) -> dict[str, dict[str, dict[str, dict]]]:
    """``{scope: {class: {metric: {mean, ci95_low, ci95_high}}}}`` of a results document:
    every scope of its aggregates ("all" and each site), each as ``scope_values`` reads it,
    so a board row's ``values`` is one scope of this, as stored. A document without
    aggregates (or not a dict) gives ``{}``: such an evaluation ranks last everywhere."""
    aggregates = results.get("aggregates") if isinstance(results, dict) else None
    if not isinstance(aggregates, dict):
        return {}
    return {str(scope): scope_values(aggregates, scope) for scope in aggregates}


def board_means(values: Any) -> dict[str, dict[str, float | None]]:
    """``{scope: {"class.metric": mean}}`` of ``board_values``: the ``BoardMeans`` rows, one
    per scope, the only numbers a recompute reads."""
    if not isinstance(values, dict):
        return {}
    return {
        str(scope): {
            f"{cls}.{metric}": number(stats)
            for cls, metrics in classes.items()
            if isinstance(metrics, dict)
            for metric, stats in metrics.items()
        }
        for scope, classes in values.items()
        if isinstance(classes, dict)
    }
