"""Plain-text views of what the API says about your own submission and quota, for
`fetalbench status`, `submit --wait` and `quota`: scores per site with 95 % intervals,
measured parameters, FLOPs and latency, the model run's log, and what is left today."""

from __future__ import annotations

from typing import Any


def number(value: Any) -> str:
    """A mean or bound as the site shows it: 3 decimals below 1, 2 above, 3 digits past 1000."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-"
    magnitude = abs(value)
    if magnitude and (magnitude >= 1000 or magnitude < 0.001):
        return f"{value:.3g}"
    return f"{value:.3f}" if magnitude < 1 else f"{value:.2f}"


def _cell(summary: dict | None) -> str:
    summary = summary or {}
    text = number(summary.get("mean"))
    low, high = summary.get("ci95_low"), summary.get("ci95_high")
    if low is not None and high is not None:
        text += f" [{number(low)}, {number(high)}]"
    if summary.get("n_nan"):
        text += f" ({summary['n_nan']} missing)"
    return text


def direction_arrow(metric: dict) -> str:
    """An arrow (" ↑" or " ↓") for a metric with a better side, nothing for a measurement
    such as the predicted HC, as the API describes it: a board column's ``direction`` ("higher",
    "lower" or null), else ``higher_is_better`` (true, false or null, as a submission's own
    scores give it). The one place the client turns a direction into an arrow."""
    if "direction" in metric:
        return {"higher": " ↑", "lower": " ↓"}.get(metric["direction"] or "", "")
    return {True: " ↑", False: " ↓"}.get(metric.get("higher_is_better"), "")


def format_scores(scores: dict | None) -> str:
    """A table: one row per metric (ranking metrics first, marked *), one column per site."""
    if not scores or not scores.get("metrics"):
        return "scores: none yet"
    sites = list(scores.get("sites") or [])
    values = scores.get("values") or {}
    headers = ["metric"] + ["all cases" if s == "all" else s for s in sites]
    rows = []
    for metric in scores["metrics"]:
        label = metric.get("label", metric["key"]) + direction_arrow(metric)
        label += " *" if metric.get("ranking") else ""
        rows.append([label] + [_cell((values.get(s) or {}).get(metric["key"])) for s in sites])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["scores: mean [95% interval] over the test cases (* = ranked)"]
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def parameter_count(value: Any) -> str:
    """A parameter count as the leaderboard shows it (6.63M, 487k); `-` when unknown."""
    if not isinstance(value, int):
        return "-"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return str(value)


def format_measured(sub: dict) -> str:
    """Parameters (and whether measured or declared), FLOPs and latency on one line."""
    # Only the total is ever measured (the whole model file); which parts were trained is
    # the participant's word.
    total = parameter_count(sub.get("params_total"))
    trainable = parameter_count(sub.get("params_trainable"))
    source = sub.get("params_source", "?")
    parts = [f"parameters {total} total ({source}), {trainable} trainable (declared)"]
    flops = sub.get("flops")
    if isinstance(flops, int | float):
        parts.append(f"FLOPs {flops / 1e9:.3g} G")
    latency = sub.get("latency_ms")
    if isinstance(latency, int | float):
        parts.append(f"latency {latency:.3g} ms/image")
    return "; ".join(parts)


def format_run(run: dict | None) -> str:
    """The model run: its outcome, then the end of its log (stderr lines marked `!`)."""
    if not run:
        return ""
    lines = [f"model run: {run.get('status')} - {run.get('message', '')}"]
    for line in run.get("log") or []:
        mark = "!" if line.get("stream") == "stderr" else " "
        lines.append(f"  {mark} {line.get('text', '')}")
    return "\n".join(lines)


def format_quota(quota: dict) -> str:
    """'3 of 5 submissions left in the last 24 hours; next slot frees at ...'."""
    if quota.get("exempt"):
        return "organisers have no daily limit"
    if not quota.get("limit"):
        return "no daily limit"
    text = (
        f"{quota.get('remaining')} of {quota.get('limit')} submissions left in the last "
        f"{quota.get('window_hours', 24)} hours"
    )
    if quota.get("resets_at"):
        text += f"; the next slot frees at {quota['resets_at']}"
    return text
