"""Formatting for what a participant reads about their own submission: FLOPs, latency and
score summaries with their 95 % intervals (`{% load participant %}`)."""

from __future__ import annotations

import math

from django import template

register = template.Library()


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@register.filter
def flops(value: int | None) -> str:
    """4_120_000_000 -> "4.12 GFLOPs" (one forward pass)."""
    if not _finite(value):
        return "–"
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.3g} {unit}FLOPs"
    return f"{value:g} FLOPs"


@register.filter
def latency(value: float | None) -> str:
    """Median latency per image: "12.3 ms"."""
    return f"{value:.3g} ms" if _finite(value) else "–"


@register.filter
def score(value: float | None) -> str:
    """A mean as the board shows it (3 significant digits, no exponent below 1000)."""
    if not _finite(value):
        return "–"
    if value != 0 and (abs(value) >= 1000 or abs(value) < 0.001):
        return f"{value:.3g}"
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"
