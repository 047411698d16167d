"""A small SVG writer: the statistics pages and the challenge report draw their plots with it.

Plots are drawn on the server, as SVG markup, rather than by a JavaScript charting library in
the browser: the same markup then serves the page and the self-contained report (HTML and
PDF, offline, with no library to ship), and it holds under the site's Content-Security-Policy
(``style-src 'self'``), which forbids the ``<style>`` elements and ``style="..."`` attributes
that charting libraries such as Plotly inject. Colours and fonts are SVG presentation
attributes (``fill=``, ``font-size=``), which that policy allows.

Every text and attribute value is escaped here, so a team or method name (participants
choose them) is shown as text, never read as markup.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Sequence

FONT = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', Roboto, sans-serif"
#: Text colours and lines, as the site's stylesheet has them.
INK = "#1d2330"
MUTED = "#667085"
GRID = "#e3e6eb"
AXIS = "#98a2b3"
#: Ten distinguishable colours for entries (Tableau 10), repeated beyond ten.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: float) -> str:
    """A coordinate, short: SVG files with many cells stay small."""
    return f"{value:.1f}".rstrip("0").rstrip(".") if math.isfinite(value) else "0"


@functools.lru_cache(maxsize=256)
def _attribute(key: str) -> str:
    """A keyword argument's attribute name: ``class_`` -> class, ``stroke_width`` ->
    stroke-width."""
    return key.rstrip("_").replace("_", "-")


def text_width(text: str, size: float = 11.0) -> float:
    """Rough width of ``text`` in pixels (about 0.58 em per character in a sans-serif)."""
    return len(text) * size * 0.58


def shorten(text: str, limit: int = 34) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (full text goes in a tooltip)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def entry_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def blend(low: str, high: str, t: float) -> str:
    """The colour a fraction ``t`` (0..1) of the way from ``low`` to ``high``."""
    t = min(1.0, max(0.0, t))
    a, b = _hex(low), _hex(high)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


@functools.lru_cache(maxsize=4096)
def _scale(stops: tuple[str, ...], t: float) -> str:
    position = t * (len(stops) - 1)
    index = min(int(position), len(stops) - 2)
    return blend(stops[index], stops[index + 1], position - index)


def scale(stops: Sequence[str], t: float) -> str:
    """A colour on a scale through ``stops`` at ``t`` (0..1)."""
    t = min(1.0, max(0.0, t))
    if len(stops) == 1:
        return stops[0]
    return _scale(tuple(stops), round(t, 3))


#: Sequential scale (white to dark blue) for counts and frequencies.
BLUES = ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
#: Diverging scale for Kendall's tau (-1 red, 0 white, +1 blue).
DIVERGING = ("#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac")


def readable_on(fill: str) -> str:
    """Black or white text, whichever reads on ``fill``."""
    r, g, b = _hex(fill)
    return INK if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else "#ffffff"


class Svg:
    """Collects elements; ``markup()`` gives the ``<svg>`` element (width 100%, scalable)."""

    def __init__(self, width: float, height: float, label: str, css_class: str = "") -> None:
        self.width = width
        self.height = height
        self.label = label
        self.css_class = css_class
        self.parts: list[str] = []

    @staticmethod
    def _attrs(attrs: dict[str, object]) -> str:
        out = []
        for key, value in attrs.items():
            if value is None:
                continue
            if isinstance(value, float):
                text = fmt(value)
            elif isinstance(value, int):
                text = str(value)
            else:
                text = escape(value)
            out.append(f' {_attribute(key)}="{text}"')
        return "".join(out)

    def _element(
        self, tag: str, attrs: dict[str, object], title: str | None, body: str = ""
    ) -> None:
        inner = (f"<title>{escape(title)}</title>" if title else "") + body
        if inner:
            self.parts.append(f"<{tag}{self._attrs(attrs)}>{inner}</{tag}>")
        else:
            self.parts.append(f"<{tag}{self._attrs(attrs)}/>")

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: str,
        *,
        title: str | None = None,
        **attrs: object,
    ) -> None:
        self._element(
            "rect", {"x": x, "y": y, "width": w, "height": h, "fill": fill, **attrs}, title
        )

    def circle(
        self,
        cx: float,
        cy: float,
        r: float,
        fill: str,
        *,
        title: str | None = None,
        **attrs: object,
    ) -> None:
        self._element("circle", {"cx": cx, "cy": cy, "r": r, "fill": fill, **attrs}, title)

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        stroke: str = AXIS,
        *,
        title: str | None = None,
        **attrs: object,
    ) -> None:
        self._element(
            "line", {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "stroke": stroke, **attrs}, title
        )

    def polyline(
        self,
        points: Sequence[tuple[float, float]],
        stroke: str,
        *,
        title: str | None = None,
        **attrs: object,
    ) -> None:
        coordinates = " ".join(f"{fmt(x)},{fmt(y)}" for x, y in points)
        self._element(
            "polyline", {"points": coordinates, "fill": "none", "stroke": stroke, **attrs}, title
        )

    def path(self, d: str, *, title: str | None = None, **attrs: object) -> None:
        self._element("path", {"d": d, **attrs}, title)

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        size: float = 11,
        anchor: str = "start",
        fill: str = INK,
        title: str | None = None,
        **attrs: object,
    ) -> None:
        attributes = {"x": x, "y": y, "font-size": size, "text-anchor": anchor, "fill": fill}
        self._element("text", {**attributes, **attrs}, title, escape(content))

    def open_group(self, **attrs: object) -> None:
        self.parts.append(f"<g{self._attrs(attrs)}>")

    def close_group(self) -> None:
        self.parts.append("</g>")

    def markup(self) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {fmt(self.width)} '
            f'{fmt(self.height)}" width="{fmt(self.width)}" height="{fmt(self.height)}" '
            f'role="img" aria-label="{escape(self.label)}" font-family="{escape(FONT)}"'
            + (f' class="{escape(self.css_class)}"' if self.css_class else "")
            + ">"
        )
        return head + f"<title>{escape(self.label)}</title>" + "".join(self.parts) + "</svg>"
