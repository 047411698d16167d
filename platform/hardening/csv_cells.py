"""Spreadsheet-safe CSV cells (OWASP "CSV Injection").

Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a
formula, and tab or carriage return can smuggle one in; the leaderboard CSV carries text that
participants choose (method, backbone, team names). OWASP's advice: prefix such cells with a
single quote so the spreadsheet shows them as text. Only text is touched: numbers written by
the exporter itself (a negative score, a CI bound) stay numbers.
"""

from __future__ import annotations

from typing import TypeVar

#: Cell starts that spreadsheets may read as a formula (OWASP CSV Injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


def neutralise(value: T) -> T | str:
    """`value` with a leading `'` if it is text a spreadsheet would run; otherwise as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
