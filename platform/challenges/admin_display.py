"""Readable pieces of a submission for the organisers' admin page: the model run's summary
with its log, measured size and speed, and each evaluation's headline scores.

The admin showed ``Submission.inference`` and ``Evaluation.results`` as raw JSON (or not at
all), so an organiser asked "why did my model fail?" could not answer from the page. These
helpers return safe HTML (``format_html``): log lines and messages are the participant's own
text and are escaped.
"""

from __future__ import annotations

import math
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from challenges.models import Evaluation, Submission

EMPTY = "–"


def number(value: Any, digits: int = 4) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return EMPTY
    return f"{value:.{digits}g}"


def count(value: int | None) -> str:
    """24436369 -> "24,436,369 (24.4 M)": exact for audits, short for reading."""
    if value is None:
        return EMPTY
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value:,} ({value / size:.3g} {unit})"
    return f"{value:,}"


def measurements(submission: Submission) -> SafeString:
    """Parameters (declared or measured), FLOPs and latency in one block."""
    rows = [
        ("Parameters", count(submission.params_total)),
        ("Trainable", count(submission.params_trainable)),
        ("Source", submission.get_params_source_display()),
        ("FLOPs per image", count(submission.flops)),
        (
            "Latency per image",
            f"{number(submission.latency_ms, 4)} ms" if submission.latency_ms is not None else EMPTY,
        ),
    ]
    return _table(rows)


def inference_summary(summary: dict | None) -> SafeString:
    """The run: status, message, wall time, exit code and the log tail as a readable block
    (stderr lines marked), or a dash for uploaded predictions."""
    if not summary:
        return format_html("{}", "– (no model run: uploaded predictions, or not run yet)")
    rows = [
        ("Run status", str(summary.get("status") or EMPTY)),
        ("Message", str(summary.get("message") or EMPTY)),
        ("Wall time", f"{number(summary.get('wall_seconds'), 4)} s"),
        ("Exit code", EMPTY if summary.get("exit_code") is None else str(summary["exit_code"])),
    ]
    details = summary.get("details") or {}
    if isinstance(details, dict) and details.get("format"):
        rows.append(("Model format", str(details["format"])))
    lines = [str(line) for line in summary.get("log_tail") or []]
    streams = list(summary.get("log_streams") or [])
    marked = [
        f"[{streams[i]}] {line}" if i < len(streams) and streams[i] == "stderr" else line
        for i, line in enumerate(lines)
    ]
    log = (
        format_html('<pre class="fb-log" id="inference-log">{}</pre>', "\n".join(marked))
        if marked
        else format_html("<p>{}</p>", "(the run wrote no log lines)")
    )
    return format_html("{}<p><strong>Log tail</strong> ({} lines)</p>{}", _table(rows), len(lines), log)


def status_detail(submission: Submission) -> SafeString:
    """The failure reason (or any status message) as a preformatted block: validation
    reports are one problem a line."""
    if not submission.status_detail:
        return format_html("{}", EMPTY)
    return format_html('<pre class="fb-detail" id="status-detail">{}</pre>', submission.status_detail)


def headline_scores(evaluation: Evaluation, keys: list[str]) -> SafeString:
    """Overall mean [95% CI] of each "class.metric" in `keys`, then the first one per site."""
    aggregates = (evaluation.results or {}).get("aggregates") or {}
    overall = aggregates.get("all") or {}
    rows = [(key.replace(".", " "), _stat(overall, key)) for key in keys]
    if keys:
        first = keys[0]
        rows += [
            (f"{first.replace('.', ' ')} · site {site}", _stat(groups, first))
            for site, groups in aggregates.items()
            if site != "all"
        ]
    if not rows:
        return format_html("{}", EMPTY)
    n_cases = (evaluation.results or {}).get("n_cases")
    caption = f"{n_cases} cases" if n_cases is not None else ""
    # One line per score: the inline's narrow column made a two-column table wrap badly.
    items = format_html_join("", "<li><strong>{}</strong> {}</li>", rows)
    return format_html('<ul class="fb-scores">{}</ul><small>{}</small>', items, caption)


def _stat(groups: dict, key: str) -> str:
    group, _, metric = key.partition(".")
    stats = (groups.get(group) or {}).get(metric) or {}
    mean = stats.get("mean")
    if mean is None:
        return EMPTY
    low, high = stats.get("ci95_low"), stats.get("ci95_high")
    ci = f" [{number(low)}, {number(high)}]" if low is not None and high is not None else ""
    return f"{number(mean)}{ci}"


def _table(rows: list[tuple[str, str]]) -> SafeString:
    body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
    return format_html('<table class="fb-summary">{}</table>', body)
