"""A container's log as one list of lines that knows which came from stderr, and the excerpt
a participant is shown.

Docker keeps stdout and stderr apart; read together, their order is whatever the reader saw
first, and a short tail of the mix can lose the one line that matters. A Python model that
crashes writes its traceback to stderr at once, while its buffered stdout is flushed only at
exit, *after* the traceback: the `RuntimeError` line fell out of the 20-line tail (issue 10,
item 10). So each stream is read on its own with Docker's timestamps, merged in time order,
and the excerpt always keeps the last stderr lines.
"""

from __future__ import annotations

from collections.abc import Sequence

STDOUT = "stdout"
STDERR = "stderr"
#: Of the lines shown, at most this share is reserved for the last stderr lines.
STDERR_SHARE = 0.5


def _time_key(stamp: str) -> tuple[str, int]:
    """Sort key of Docker's RFC 3339 timestamp, whose fraction drops trailing zeros (so the
    strings alone do not sort): (date and time to the second, nanoseconds)."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    digits = "".join(ch for ch in fraction if ch.isdigit())[:9]
    return whole, int(digits.ljust(9, "0") or 0)


def parse_timestamped(data: bytes, stream: str, max_bytes: int) -> list[tuple[tuple, str, str]]:
    """Lines of ``docker logs --timestamps`` output as (time key, stream, text)."""
    lines = []
    for raw in data.split(b"\n"):
        if not raw:
            continue
        stamp, sep, text = raw.partition(b" ")
        if not sep:
            stamp, text = b"", raw
        decoded = text[:max_bytes].decode("utf-8", "replace").rstrip("\r")
        lines.append((_time_key(stamp.decode("ascii", "replace")), stream, decoded))
    return lines


def merge_streams(
    stdout: bytes, stderr: bytes, max_lines: int, max_bytes: int
) -> tuple[list[str], list[str]]:
    """The last ``max_lines`` lines (and at most ``max_bytes``) of both streams in time order,
    with each line's stream. Equal times keep stdout first (the sort is stable)."""
    entries = parse_timestamped(stdout, STDOUT, max_bytes)
    entries += parse_timestamped(stderr, STDERR, max_bytes)
    entries.sort(key=lambda entry: entry[0])
    entries = entries[-max_lines:] if max_lines > 0 else []
    while len(entries) > 1 and sum(len(e[2]) + 1 for e in entries) > max_bytes:
        entries.pop(0)
    return [e[2] for e in entries], [e[1] for e in entries]


def excerpt(
    lines: Sequence[str], streams: Sequence[str], limit: int
) -> list[tuple[str, str]]:
    """At most ``limit`` log lines to show (plus gap markers), as (text, stream): the last lines of the log, except
    that the last stderr lines (up to half of ``limit``) are always among them. Where lines
    are left out in between, a marker line (stream "") says how many. ``streams`` may be
    empty (stream unknown): then it is simply the last ``limit`` lines."""
    if limit <= 0 or not lines:
        return []
    known = list(streams) if len(streams) == len(lines) else [""] * len(lines)
    stderr_at = [i for i, s in enumerate(known) if s == STDERR]
    chosen = set(stderr_at[-max(1, int(limit * STDERR_SHARE)) :])
    index = len(lines) - 1
    while len(chosen) < limit and index >= 0:
        chosen.add(index)
        index -= 1
    picked = sorted(chosen)
    out: list[tuple[str, str]] = []
    for position, i in enumerate(picked):
        if position and i - picked[position - 1] > 1:
            gap = i - picked[position - 1] - 1
            out.append((f"[… {gap} line(s) left out …]", ""))
        out.append((lines[i], known[i]))
    return out
