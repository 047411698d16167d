"""The statistics plots, drawn as SVG from a stored board analysis (no computation).

Each function takes the plain data ``evaluator.statistics.analysis.BoardAnalysis.to_dict()``
gives (as the worker stored it) and one label per entry (team and method name), and returns
a ``Figure``: the SVG markup, a title and a one-sentence caption saying how to read it. The
plots are challengeR's (Wiesenfarth et al., Sci Rep 2021):

- ``significance_map``: entry x entry, one-sided Wilcoxon signed-rank tests on the primary
  metric's paired cases, Holm-adjusted; a cell is coloured by the adjusted p-value of "the
  row's entry is better than the column's" and marked when it is significant.
- ``blob_plot``: how often each entry took each rank in the bootstrap resamples of the cases
  (circle area = frequency), with the median rank and the 95% rank interval.
- ``method_plot``: each entry's rank under every ranking method (lines), and
  ``agreement_matrix``, Kendall's tau-b between every pair of methods.
- ``rank_heatmap``: on how many cases each entry ranked first, second, ... (the podium
  places are the first three columns).
- ``site_plot``: an entry's rank on the all-cases board and on each site's board.
- ``history_plot``: one entry's rank over the board's snapshots.

Boards with many entries show the best ``limit`` entries (by the board's rank) and say so in
``Figure.note``: a 1,000 x 1,000 matrix is no picture anyone can read.

Pure: imports only ``svg`` and the evaluator's method registry (for its order); no Django, no
database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from challenges.reports.svg import (
    BLUES,
    DIVERGING,
    GRID,
    INK,
    MUTED,
    Svg,
    entry_colour,
    readable_on,
    scale,
    shorten,
    text_width,
)
from evaluator.statistics.methods import METHODS

#: Entries drawn in a plot at most (the best by the board's rank).
LIMIT = 40
#: Significance map colours: adjusted p = 1 (light) to p <= 1e-4 (dark).
P_STOPS = ("#f2f4f7", "#b9d2fb", "#4f8cf0", "#1f4fa3", "#14213d")
P_FLOOR = 1e-4


@dataclass(frozen=True)
class Figure:
    """One plot: ``svg`` is markup (escaped here), ``note`` says what was left out."""

    key: str
    title: str
    caption: str
    svg: str
    note: str = ""

    @property
    def empty(self) -> bool:
        return not self.svg


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.{digits}g}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1e-4:
        return f"{value:.1e}"
    return f"{value:.4f}".rstrip("0").rstrip(".") if value < 1 else "1"


def rank_order(analysis: Mapping) -> list[int]:
    """Entry indices by the board's rank, then bootstrap median rank, then entry order."""
    rows = analysis.get("rows") or []

    def key(index: int) -> tuple:
        row = rows[index]
        median = row.get("median_rank")
        return (row.get("rank") or math.inf, math.inf if median is None else median, index)

    return sorted(range(len(rows)), key=key)


def _shown(analysis: Mapping, limit: int) -> tuple[list[int], str]:
    order = rank_order(analysis)
    if len(order) <= limit:
        return order, ""
    return order[:limit], f"The best {limit} of {len(order)} entries by rank are shown."


def _label_column(labels: Sequence[str], shown: Sequence[int]) -> tuple[list[str], float]:
    """Row labels "3. Team · method" (cut to fit) and the width they need."""
    texts = [f"{position + 1}. {shorten(labels[i])}" for position, i in enumerate(shown)]
    # Generous: a label measured short would be cut at the image's left edge.
    return texts, max((text_width(t) * 1.12 for t in texts), default=0) + 18


# --------------------------------------------------------------------------------------------
# Significance map


def significance_map(analysis: Mapping, labels: Sequence[str], limit: int = LIMIT) -> Figure:
    significance = analysis.get("significance") or {}
    alpha = significance.get("alpha", analysis.get("alpha", 0.05))
    metric = significance.get("metric") or analysis.get("primary_metric", "")
    title = "Significance map"
    caption = (
        f"Read across a row: a marked cell means the row's entry is significantly better than "
        f"the column's on {metric} (one-sided Wilcoxon signed-rank test on the cases both "
        f"have, Holm-adjusted over all {significance.get('family_size', 0)} ordered pairs, "
        f"alpha {alpha}); darker cells have smaller adjusted p-values."
    )
    shown, note = _shown(analysis, limit)
    n = len(shown)
    if n < 2:
        return Figure(
            "significance", title, caption, "", "Fewer than two entries: nothing to test."
        )
    adjusted = significance.get("adjusted") or []
    raw = significance.get("pvalues") or []
    marks = significance.get("significant") or []
    row_texts, left = _label_column(labels, shown)
    cell = max(12.0, min(30.0, 560.0 / n))
    top = 34.0
    width = max(
        left + n * cell + 20, left + 250 + text_width(f"significant at alpha {alpha}", 10) + 20
    )
    legend_y = top + n * cell + 22
    height = legend_y + 46
    svg = Svg(width, height, f"{title}: {metric}")
    svg.text(left, 12, "column entry (numbered as the rows) →", size=10, fill=MUTED)
    step = 1 if cell >= 16 else math.ceil(16 / cell)
    for position in range(n):
        x = left + position * cell + cell / 2
        if position % step == 0:
            svg.text(x, top - 6, str(position + 1), size=10, anchor="middle", fill=MUTED)
    for row, i in enumerate(shown):
        y = top + row * cell
        svg.text(
            left - 8,
            y + cell / 2 + 4,
            row_texts[row],
            anchor="end",
            title=labels[i],
            class_="row-label",
        )
        for column, j in enumerate(shown):
            x = left + column * cell
            if i == j:
                svg.rect(x, y, cell, cell, "#ffffff", stroke=GRID, stroke_width=0.5)
                svg.line(x + 2, y + cell - 2, x + cell - 2, y + 2, GRID)
                continue
            p_adj = adjusted[i][j] if i < len(adjusted) else None
            p_raw = raw[i][j] if i < len(raw) else None
            significant = bool(marks[i][j]) if i < len(marks) else False
            if p_adj is None:
                fill = "#d0d5dd"
            else:
                fill = scale(P_STOPS, -math.log10(max(p_adj, P_FLOOR)) / -math.log10(P_FLOOR))
            verdict = "significant" if significant else "not significant"
            tip = (
                f"{labels[i]} better than {labels[j]}? p = {_p(p_raw)}, Holm-adjusted "
                f"{_p(p_adj)}: {verdict}"
            )
            svg.rect(
                x,
                y,
                cell,
                cell,
                fill,
                title=tip,
                stroke="#ffffff",
                stroke_width=0.5,
                class_="cell sig" if significant else "cell",
                data_row=row + 1,
                data_col=column + 1,
            )
            if significant:
                svg.circle(
                    x + cell / 2,
                    y + cell / 2,
                    max(2.0, cell * 0.17),
                    readable_on(fill),
                    class_="sig-mark",
                )
    # Legend: the colour bar of adjusted p-values and the mark.
    bar_x, bar_w = left, 200.0
    for k in range(40):
        t = k / 39
        svg.rect(bar_x + k * bar_w / 40, legend_y, bar_w / 40 + 0.5, 10, scale(P_STOPS, t))
    for p in (1.0, 0.05, 0.01, 0.001, P_FLOOR):
        x = bar_x + (-math.log10(p) / -math.log10(P_FLOOR)) * bar_w
        svg.line(x, legend_y + 10, x, legend_y + 14, INK)
        svg.text(
            x,
            legend_y + 25,
            ("≤ " if p == P_FLOOR else "") + _p(p),
            size=9,
            anchor="middle",
            fill=MUTED,
        )
    svg.text(bar_x, legend_y - 4, "Holm-adjusted p-value", size=10, fill=MUTED)
    mark_x = bar_x + bar_w + 30
    svg.rect(mark_x, legend_y - 2, 14, 14, P_STOPS[3])
    svg.circle(mark_x + 7, legend_y + 5, 2.6, "#ffffff")
    svg.text(mark_x + 20, legend_y + 9, f"significant at alpha {alpha}", size=10, fill=MUTED)
    return Figure("significance", title, caption, svg.markup(), note)


# --------------------------------------------------------------------------------------------
# Blob plot


def blob_plot(analysis: Mapping, labels: Sequence[str], limit: int = LIMIT) -> Figure:
    boot = analysis.get("bootstrap")
    title = "Rank stability (blob plot)"
    method = _method_label(analysis, analysis.get("method", ""))
    if not boot:
        caption = "Bootstrap rank frequencies with the median rank and 95% rank interval."
        why = analysis.get("bootstrap_note") or "no bootstrap was run"
        return Figure("blob", title, caption, "", f"No bootstrap for this board: {why}.")
    samples = boot.get("n_bootstrap") or 1
    caption = (
        f"Each circle's area is the share of the {samples:,} bootstrap resamples of the cases in "
        f"which the entry took that rank under {method.lower()}; the black line is its 95% rank "
        f"interval and the diamond its median rank, so entries whose lines overlap are not "
        f"reliably ordered."
    )
    shown, note = _shown(analysis, limit)
    frequencies = boot.get("frequencies") or []
    medians, lows, highs = boot.get("median_rank"), boot.get("rank_low"), boot.get("rank_high")
    ranks_used = [
        r + 1
        for i in shown
        for r, count in enumerate(frequencies[i] if i < len(frequencies) else [])
        if count
    ]
    top_rank = max([len(shown), *ranks_used, *(math.ceil(highs[i] or 1) for i in shown)])
    row_texts, left = _label_column(labels, shown)
    column = max(6.0, min(34.0, 620.0 / top_rank))
    row_h = 26.0 if len(shown) <= 20 else 18.0
    top = 14.0
    plot_h = len(shown) * row_h
    radius = min(column, row_h) / 2 * 0.98
    width = left + top_rank * column + 24
    height = top + plot_h + 92
    svg = Svg(width, height, f"{title}: {method}")

    def x_of(rank: float) -> float:
        return left + (rank - 0.5) * column

    step = max(1, math.ceil(24 / column))
    for rank in range(1, top_rank + 1):
        if rank == 1 or rank % step == 0:
            svg.line(x_of(rank), top, x_of(rank), top + plot_h, GRID)
            svg.text(x_of(rank), top + plot_h + 16, str(rank), size=10, anchor="middle", fill=MUTED)
    svg.text(
        left + top_rank * column / 2,
        top + plot_h + 34,
        "rank in the bootstrap resamples (1 = best)",
        size=11,
        anchor="middle",
        fill=MUTED,
    )
    for row, i in enumerate(shown):
        y = top + row * row_h + row_h / 2
        colour = entry_colour(row)
        median, low, high = medians[i], lows[i], highs[i]
        summary = f"{labels[i]}: median rank {_number(median)}, 95% interval [{_number(low)}, {_number(high)}]"
        svg.text(left - 8, y + 4, row_texts[row], anchor="end", title=summary, class_="row-label")
        for r, count in enumerate(frequencies[i] if i < len(frequencies) else []):
            if not count:
                continue
            share = count / samples
            svg.circle(
                x_of(r + 1),
                y,
                max(0.8, radius * math.sqrt(share)),
                colour,
                fill_opacity=0.75,
                class_="blob",
                title=f"{labels[i]}: rank {r + 1} in {count} of {samples} resamples ({share:.0%})",
            )
        if low is not None and high is not None:
            svg.line(
                x_of(low), y, x_of(high), y, INK, stroke_width=1.6, class_="interval", title=summary
            )
        if median is not None:
            cx, d = x_of(median), 4.0
            svg.path(
                f"M{cx:.1f},{y - d:.1f} L{cx + d:.1f},{y:.1f} L{cx:.1f},{y + d:.1f} "
                f"L{cx - d:.1f},{y:.1f} Z",
                fill=INK,
                class_="median",
                title=summary,
            )
    # Legend: circle areas and the two marks.
    legend_y = top + plot_h + 60
    x = left
    for share in (0.1, 0.5, 1.0):
        words = f"{share:.0%} of resamples"
        svg.circle(x + radius, legend_y, max(0.8, radius * math.sqrt(share)), PALETTE_GREY)
        svg.text(x + 2 * radius + 6, legend_y + 4, words, size=10, fill=MUTED)
        x += 2 * radius + 6 + text_width(words, 10) * 1.1 + 18
    svg.line(x, legend_y, x + 24, legend_y, INK, stroke_width=1.6)
    svg.text(x + 30, legend_y + 4, "95% rank interval", size=10, fill=MUTED)
    x += 30 + text_width("95% rank interval", 10) * 1.1 + 18
    svg.path(
        f"M{x + 4},{legend_y - 4} L{x + 8},{legend_y} L{x + 4},{legend_y + 4} L{x},{legend_y} Z",
        fill=INK,
    )
    svg.text(x + 14, legend_y + 4, "median rank", size=10, fill=MUTED)
    svg.width = max(svg.width, x + 14 + text_width("median rank", 10) * 1.1 + 10)
    return Figure("blob", title, caption, svg.markup(), note)


PALETTE_GREY = "#98a2b3"


# --------------------------------------------------------------------------------------------
# Rank lines: methods, sites


def method_names(analysis: Mapping) -> list[str]:
    """The analysis's ranking methods in the registry's order (stored JSON keeps no order)."""
    rankings = analysis.get("rankings") or {}
    order = {name: i for i, name in enumerate(METHODS)}
    return sorted(rankings, key=lambda name: (order.get(name, len(order)), name))


def _method_label(analysis: Mapping, name: str) -> str:
    info = (analysis.get("rankings") or {}).get(name) or {}
    return info.get("label") or name.replace("_", " ")


def _short_method(analysis: Mapping, name: str) -> str:
    info = (analysis.get("rankings") or {}).get(name) or {}
    words = info.get("score_label") or name.replace("_", " ")
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class _Series:
    label: str
    colour: str
    ranks: list[float | None]
    tips: list[str]


def _bump_chart(
    title: str,
    columns: Sequence[str],
    series: Sequence[_Series],
    *,
    highlight: int | None = None,
    highlight_note: str = "",
    css: str = "",
) -> str:
    """Ranks (1 at the top) across categories, one line per series, labelled at the right."""
    ranks = [r for s in series for r in s.ranks if r is not None]
    top_rank = max([1, *ranks])
    row_h = max(12.0, min(26.0, 420.0 / top_rank))
    column_w = max(110.0, min(170.0, 720.0 / max(1, len(columns))))
    left, top = 40.0, 48.0
    plot_w = column_w * (len(columns) - 1) if len(columns) > 1 else 0
    label_w = max((text_width(shorten(s.label), 10) * 1.12 for s in series), default=0) + 40
    width = left + plot_w + 30 + label_w
    height = top + top_rank * row_h + 24
    svg = Svg(width, height, title, css)

    def x_of(k: int) -> float:
        return left + 14 + k * column_w

    def y_of(rank: float) -> float:
        return top + (rank - 0.5) * row_h

    if highlight is not None:
        svg.rect(x_of(highlight) - 26, top - 40, 52, top_rank * row_h + 46, "#eef3fd")
    for k, name in enumerate(columns):
        bold = "700" if k == highlight else None
        svg.text(
            x_of(k), 16, shorten(name, 24), size=11, anchor="middle", font_weight=bold, title=name
        )
        if k == highlight and highlight_note:
            svg.text(x_of(k), 30, highlight_note, size=9, anchor="middle", fill=MUTED)
        svg.line(x_of(k), top - 6, x_of(k), top + top_rank * row_h, GRID)
    step = max(1, math.ceil(14 / row_h))
    for rank in range(1, top_rank + 1):
        if rank == 1 or rank % step == 0:
            svg.text(left - 6, y_of(rank) + 4, str(rank), size=10, anchor="end", fill=MUTED)
    svg.text(8, top - 14, "rank", size=10, fill=MUTED)
    # Lines first, points above them, labels de-overlapped at the right.
    for s in series:
        segment: list[tuple[float, float]] = []
        for k, rank in enumerate(s.ranks):
            if rank is None:
                if len(segment) > 1:
                    svg.polyline(
                        segment, s.colour, stroke_width=2, title=s.label, class_="rank-line"
                    )
                segment = []
                continue
            segment.append((x_of(k), y_of(rank)))
        if len(segment) > 1:
            svg.polyline(segment, s.colour, stroke_width=2, title=s.label, class_="rank-line")
    for s in series:
        for k, rank in enumerate(s.ranks):
            if rank is not None:
                svg.circle(
                    x_of(k),
                    y_of(rank),
                    4.2,
                    s.colour,
                    stroke="#ffffff",
                    stroke_width=1,
                    title=s.tips[k],
                    class_="rank-point",
                )
    ends = []
    for s in series:
        last = next(((k, r) for k, r in reversed(list(enumerate(s.ranks))) if r is not None), None)
        if last is not None:
            ends.append((y_of(last[1]), last[0], s))
    ends.sort(key=lambda e: e[0])
    previous = -math.inf
    for y, k, s in ends:
        label_y = max(y, previous + 12)
        previous = label_y
        x0 = x_of(len(columns) - 1) + 12
        if k != len(columns) - 1 or abs(label_y - y) > 0.5:
            svg.line(x_of(k) + 5, y, x0 - 2, label_y - 4, s.colour, stroke_width=0.8)
        # Text in ink (light colours do not read), keyed to its line by a swatch.
        svg.rect(x0, label_y - 7, 10, 4, s.colour)
        svg.text(
            x0 + 14,
            label_y,
            shorten(s.label),
            size=10,
            fill=INK,
            title=s.label,
            class_="line-label",
        )
    svg.height = max(height, previous + 10)
    return svg.markup()


def method_plot(analysis: Mapping, labels: Sequence[str], limit: int = LIMIT) -> Figure:
    rankings = analysis.get("rankings") or {}
    chosen = analysis.get("method", "")
    title = "Ranking methods compared"
    caption = (
        "Each line is one entry and each column one ranking method (the board's own is "
        "highlighted): flat lines mean the ranking does not depend on the method, crossing "
        "lines mean the order changes with it."
    )
    shown, note = _shown(analysis, limit)
    if not shown or not rankings:
        return Figure("methods", title, caption, "", "No entries ranked yet.")
    names = method_names(analysis)
    series = []
    for position, i in enumerate(shown):
        ranks, tips = [], []
        for name in names:
            info = rankings[name]
            rank = (info.get("ranks") or [None] * (i + 1))[i]
            score = (info.get("scores") or [None] * (i + 1))[i]
            ranks.append(rank)
            tips.append(
                f"{labels[i]}: rank {_number(rank)} by {info.get('label', name).lower()} "
                f"({info.get('score_label', 'score')} {_number(score, 4)})"
            )
        series.append(_Series(labels[i], entry_colour(position), ranks, tips))
    highlight = names.index(chosen) if chosen in names else None
    columns = [_short_method(analysis, name) for name in names]
    markup = _bump_chart(title, columns, series, highlight=highlight, highlight_note="this board")
    return Figure("methods", title, caption, markup, note)


def agreement_matrix(analysis: Mapping) -> Figure:
    names = method_names(analysis)
    title = "Agreement between ranking methods (Kendall's tau)"
    caption = (
        "Kendall's tau-b between the rankings two methods give this board: 1 means the same "
        "order, 0 no relation, -1 the reverse order; a dash means undefined (a method ties "
        "every entry)."
    )
    if len(names) < 2:
        return Figure("agreement", title, caption, "", "Fewer than two methods.")
    tau = {(a["a"], a["b"]): a.get("tau") for a in analysis.get("agreement") or []}
    shorts = [_short_method(analysis, n) for n in names]
    cell = 66.0
    left = max(text_width(s) for s in shorts) + 16
    top = 78.0
    # Column labels are turned 35 degrees: the last one reaches past the matrix's right edge.
    width = left + cell * len(names) + cell / 2 + max(text_width(s, 10) for s in shorts) * 0.82 + 8
    height = top + cell * len(names) + 50
    svg = Svg(width, height, title)
    for k, short in enumerate(shorts):
        x = left + k * cell + cell / 2
        svg.text(
            x,
            top - 8,
            short,
            size=10,
            anchor="start",
            transform=f"rotate(-35 {x:.1f} {top - 8:.1f})",
            title=_method_label(analysis, names[k]),
        )
        svg.text(
            left - 8,
            top + k * cell + cell / 2 + 4,
            short,
            anchor="end",
            title=_method_label(analysis, names[k]),
        )
    for r, a in enumerate(names):
        for c, b in enumerate(names):
            value = 1.0 if a == b else tau.get((a, b), tau.get((b, a)))
            x, y = left + c * cell, top + r * cell
            fill = "#d0d5dd" if value is None else scale(DIVERGING, (value + 1) / 2)
            words = "undefined" if value is None else f"{value:.2f}"
            svg.rect(
                x,
                y,
                cell,
                cell,
                fill,
                stroke="#ffffff",
                stroke_width=1,
                class_="tau-cell",
                data_tau="" if value is None else f"{value:.6f}",
                title=f"{_method_label(analysis, a)} vs {_method_label(analysis, b)}: "
                f"tau = {words}",
            )
            svg.text(
                x + cell / 2,
                y + cell / 2 + 4,
                "–" if value is None else f"{value:.2f}",
                size=12,
                anchor="middle",
                fill=readable_on(fill),
            )
    legend_y = top + cell * len(names) + 18
    for k in range(40):
        svg.rect(left + k * 5, legend_y, 5.5, 10, scale(DIVERGING, k / 39))
    for value in (-1, 0, 1):
        svg.text(
            left + (value + 1) / 2 * 200,
            legend_y + 24,
            str(value),
            size=9,
            anchor="middle",
            fill=MUTED,
        )
    return Figure("agreement", title, caption, svg.markup())


def site_plot(
    boards: Sequence[tuple[str, Mapping[object, float]]],
    labels: Mapping[object, str],
    limit: int = LIMIT,
) -> Figure:
    """``boards``: (board name, {entry key: rank}) with the all-cases board first; entries are
    matched across boards by key (the submission)."""
    title = "Ranks per acquisition site"
    caption = (
        "Each line is one entry: its rank on the all-cases board (first column) and on each "
        "site's board, so a line that climbs or drops shows an entry that does better or worse "
        "on that site's images; a gap means the entry has no rank on that board."
    )
    if len(boards) < 2:
        return Figure("sites", title, caption, "", "This phase has one site: nothing to compare.")
    first = boards[0][1]
    keys = sorted(first, key=lambda k: (first[k], str(k)))
    keys += sorted({k for _, ranks in boards[1:] for k in ranks if k not in first}, key=str)
    note = ""
    if len(keys) > limit:
        note = f"The best {limit} of {len(keys)} entries on the all-cases board are shown."
        keys = keys[:limit]
    if not keys:
        return Figure("sites", title, caption, "", "No entries ranked yet.")
    series = []
    for position, key in enumerate(keys):
        label = labels.get(key, str(key))
        ranks = [ranks_by_key.get(key) for _, ranks_by_key in boards]
        tips = [
            f"{label}: rank {_number(r)} on {name}"
            for (name, _), r in zip(boards, ranks, strict=True)
        ]
        series.append(_Series(label, entry_colour(position), ranks, tips))
    markup = _bump_chart(
        title, [name for name, _ in boards], series, highlight=0, highlight_note="all cases"
    )
    return Figure("sites", title, caption, markup, note)


# --------------------------------------------------------------------------------------------
# Ranks over cases (podium)


def case_count(analysis: Mapping) -> int:
    """How many cases the analysis ranked: its case ids, or, in a copy redacted for a viewer
    who may not see per-case results (ids removed), a row of the podium's rank histogram
    (each row counts every case once)."""
    cases = analysis.get("cases") or []
    if cases:
        return len(cases)
    histogram = (analysis.get("podium") or {}).get("rank_histogram") or []
    return max((int(sum(row)) for row in histogram), default=0)


def rank_heatmap(analysis: Mapping, labels: Sequence[str], limit: int = LIMIT) -> Figure:
    podium = analysis.get("podium") or {}
    histogram = podium.get("rank_histogram") or []
    n_cases = case_count(analysis)
    title = "Ranks over cases (podium heat map)"
    caption = (
        f"Each row counts the cases on which the entry ranked first, second, ... among the "
        f"entries on {podium.get('metric') or analysis.get('primary_metric', '')} (darker = more "
        f"of the {n_cases} cases); the first three columns are its podium places."
    )
    shown, note = _shown(analysis, limit)
    if not shown or not n_cases:
        return Figure("podium", title, caption, "", "No cases to rank.")
    n_ranks = len(histogram[0]) if histogram else 0
    columns = min(n_ranks, limit)
    overflow = n_ranks > columns
    row_texts, left = _label_column(labels, shown)
    cell = max(10.0, min(34.0, 620.0 / (columns + overflow)))
    row_h = max(14.0, min(26.0, cell))
    top = 40.0
    width = left + (columns + overflow) * cell + 20
    height = top + len(shown) * row_h + 54
    svg = Svg(width, height, title)
    podium_w = min(3, columns) * cell
    svg.line(left + 2, 16, left + podium_w - 2, 16, INK, stroke_width=1)
    svg.text(left + podium_w / 2, 12, "podium", size=9, anchor="middle", fill=MUTED)
    step = 1 if cell >= 16 else math.ceil(16 / cell)
    for c in range(columns + overflow):
        words = f">{columns}" if c == columns else str(c + 1)
        if c == columns or c % step == 0 or c < 3:
            svg.text(
                left + c * cell + cell / 2,
                top - 8,
                words,
                size=10,
                anchor="middle",
                fill=INK if c < 3 else MUTED,
                font_weight="700" if c < 3 else None,
            )
    for row, i in enumerate(shown):
        y = top + row * row_h
        svg.text(
            left - 8,
            y + row_h / 2 + 4,
            row_texts[row],
            anchor="end",
            title=labels[i],
            class_="row-label",
        )
        counts = histogram[i] if i < len(histogram) else []
        cells = list(counts[:columns]) + ([sum(counts[columns:])] if overflow else [])
        for c, count in enumerate(cells):
            share = count / n_cases
            fill = scale(BLUES, share**0.6)
            where = f"rank {c + 1}" if c < columns else f"a rank after {columns}"
            svg.rect(
                left + c * cell,
                y,
                cell,
                row_h,
                fill,
                stroke="#ffffff",
                stroke_width=0.5,
                class_="case-rank-cell",
                data_count=count,
                title=f"{labels[i]}: {where} on {count} of {n_cases} cases ({share:.0%})",
            )
            if count and cell >= 22:
                svg.text(
                    left + c * cell + cell / 2,
                    y + row_h / 2 + 4,
                    str(count),
                    size=9,
                    anchor="middle",
                    fill=readable_on(fill),
                )
    svg.text(
        left + (columns + overflow) * cell / 2,
        top + len(shown) * row_h + 20,
        "rank on a case (1 = best on that case)",
        size=11,
        anchor="middle",
        fill=MUTED,
    )
    return Figure("podium", title, caption, svg.markup(), note)


# --------------------------------------------------------------------------------------------
# One entry's rank over time


#: A point of a rank history: (snapshot time, rank, 95% interval low, high).
HistoryPoint = tuple[datetime, float | None, float | None, float | None]


def history_plot(series: Sequence[tuple[str, Sequence[HistoryPoint]]], label: str) -> Figure:
    """One entry's rank over time on each board: ``series`` is (board name, points oldest
    first), the all-cases board first. Ranks hold between snapshots (step lines)."""
    title = "Rank over time"
    lines = [(name, [p for p in points if p[1] is not None]) for name, points in series]
    lines = [(name, points) for name, points in lines if points]
    bars = any(p[2] is not None for _, points in lines for p in points)
    caption = (
        "The entry's rank at each recompute of the board (1 = best; each step is a new "
        "snapshot), one line per board (all cases, each site; lines on the same rank are "
        "drawn side by side)"
        + (", with its 95% bootstrap rank interval as a vertical bar." if bars else ".")
    )
    if not lines:
        return Figure("history", title, caption, "", "No snapshot of a board holds this entry yet.")
    times = [p[0].timestamp() for _, points in lines for p in points]
    worst = max(max(p[1], p[3] or 0) for _, points in lines for p in points)
    top_rank = max(2, math.ceil(worst))
    left, top, plot_w, plot_h = 44.0, 26.0, 640.0, max(120.0, min(260.0, 26.0 * top_rank))
    legend_w = max(text_width(shorten(name, 24), 10) * 1.12 for name, _ in lines) + 40
    width, height = left + plot_w + 16 + legend_w, top + plot_h + 48
    svg = Svg(width, height, f"{title}: {label}")
    t0, t1 = min(times), max(times)
    span = t1 - t0 or 1.0

    def x_of(t: float) -> float:
        return left + 10 + (t - t0) / span * (plot_w - 20) if t1 > t0 else left + plot_w / 2

    def y_of(rank: float) -> float:
        return top + (rank - 1) / (top_rank - 1) * plot_h

    step = max(1, math.ceil(top_rank / 8))
    for rank in range(1, top_rank + 1):
        if rank == 1 or rank % step == 0:
            svg.line(left, y_of(rank), left + plot_w, y_of(rank), GRID)
            svg.text(left - 6, y_of(rank) + 4, str(rank), size=10, anchor="end", fill=MUTED)
    svg.text(8, top - 4, "rank", size=10, fill=MUTED)
    moments = sorted({p[0] for _, points in lines for p in points})
    # Time labels as fine as the span needs: days, then minutes, then seconds.
    pattern = "%-d %b" if span > 2 * 86400 else "%-d %b %H:%M" if span > 3600 else "%H:%M:%S"
    last_x = -math.inf
    for when in moments:
        x = x_of(when.timestamp())
        if x - last_x < 90:
            continue
        last_x = x
        svg.text(
            x,
            top + plot_h + 18,
            when.strftime(pattern),
            size=10,
            anchor="middle",
            fill=MUTED,
        )
    for index, (name, points) in enumerate(lines):
        colour = entry_colour(index)
        # Boards often agree on a rank: each line is nudged a little so none hides another.
        nudge = (index - (len(lines) - 1) / 2) * 3.0
        d = ""
        for k, (when, rank, _low, _high) in enumerate(points):
            x, y = x_of(when.timestamp()), y_of(rank) + nudge
            d += f"M{x:.1f},{y:.1f}" if k == 0 else f" H{x:.1f} V{y:.1f}"
        svg.path(d, fill="none", stroke=colour, stroke_width=2, class_="history-line", title=name)
        for when, rank, low, high in points:
            x = x_of(when.timestamp())
            tip = f"{name}, {when:%Y-%m-%d %H:%M:%S}: rank {_number(rank)}"
            if low is not None and high is not None:
                tip += f", 95% interval [{_number(low)}, {_number(high)}]"
                svg.line(x, y_of(low), x, y_of(high), colour, stroke_width=1.2, stroke_opacity=0.5)
            svg.circle(
                x,
                y_of(rank) + nudge,
                4,
                colour,
                stroke="#ffffff",
                stroke_width=1,
                title=tip,
                class_="history-point",
                data_board=name,
                data_rank=_number(rank),
            )
        legend_y = top + 8 + index * 16
        svg.rect(left + plot_w + 16, legend_y - 7, 10, 4, colour)
        svg.text(left + plot_w + 30, legend_y, shorten(name, 24), size=10, title=name)
    svg.text(
        left + plot_w / 2,
        top + plot_h + 38,
        "snapshot (recompute) time",
        size=11,
        anchor="middle",
        fill=MUTED,
    )
    return Figure("history", title, caption, svg.markup())


def board_figures(analysis: Mapping, labels: Sequence[str], limit: int = LIMIT) -> list[Figure]:
    """Every plot of one board, in the order pages and the report show them."""
    return [
        significance_map(analysis, labels, limit),
        blob_plot(analysis, labels, limit),
        method_plot(analysis, labels, limit),
        agreement_matrix(analysis),
        rank_heatmap(analysis, labels, limit),
    ]
