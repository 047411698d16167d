"""Formatting for the leaderboard's compute columns (FLOPs, latency)."""

from __future__ import annotations

import math

from django import template

register = template.Library()


@register.filter
def flops(value: int | None) -> str:
    """4.2e9 -> "4.2G": like parameter counts, FLOPs compare by order of magnitude."""
    if not isinstance(value, int) or isinstance(value, bool):
        return "–"
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return str(value)


@register.filter
def ms(value: float | None) -> str:
    """A latency in milliseconds with three significant digits ("12.3", "0.481")."""
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        return "–"
    return f"{value:.3g}" if value < 1000 else f"{value:.0f}"
