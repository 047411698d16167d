"""Formatting for metric values and parameter counts on the pages (a metric's ↑/↓ comes
with its column: ``evaluator.metric_spec.MetricSpec.arrow``)."""

from __future__ import annotations

import math

from django import template

register = template.Library()


@register.filter
def params(value: int | None) -> str:
    """24436369 -> "24.4M": parameter counts are compared by order of magnitude."""
    if not isinstance(value, int):
        return "–"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return str(value)


@register.filter
def num(value: float | None, digits: int = 3) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        return "–"
    if value != 0 and (abs(value) >= 1000 or abs(value) < 10 ** -(digits - 1)):
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}" if abs(value) < 1 else f"{value:.{max(digits - 1, 1)}f}"


@register.filter
def get(mapping: dict | None, key: str):
    return (mapping or {}).get(key)


@register.filter
def halfwidth(stats: dict | None) -> float | None:
    """Half the 95% CI width, shown as "± x" next to the mean."""
    stats = stats or {}
    lo, hi = stats.get("ci95_low"), stats.get("ci95_high")
    if not isinstance(lo, int | float) or not isinstance(hi, int | float):
        return None
    return (hi - lo) / 2


@register.filter
def rank(value: float | None) -> str:
    """A rank or a rank percentile: 2 -> "2", 2.5 -> "2.5"; "–" for none."""
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        return "–"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
