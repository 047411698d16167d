"""Which board an analysis or a snapshot belongs to: the board key and the pending marker.

Pure (no Django, no database), so the recompute, the worker's analysis, the tables and the
history all compute the same key from what each has in hand.

A board key fingerprints one board's content as ranked: the ranking signature (method,
metrics, entry selection) and, per row, the submission id and its ranking criteria's values.
A stored analysis is shown beside a board only when both give the same key, so rank
intervals and ties are never shown for other rows, other scores (a rescore after a truth
change) or another ranking than the ones analysed.

The per-case ranking methods (aggregate median, rank-then-aggregate, test-then-rank) need
every entry's per-case values: ``recompute`` writes their rows with provisional ranks (the
primary metric's mean) under ``pending_signature(signature)``, and the worker's analysis
replaces the ranks and the signature. A table whose rows carry a pending signature is
stale ("being updated") until then.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Iterable, Mapping

#: Ranking methods whose ranks come from per-case values (the worker's analysis), not from
#: the stored aggregates (``Phase.RankingMethod`` values; this module has no Django).
CASE_METHODS = frozenset({"aggregate_median", "rank_then_aggregate", "test_then_rank"})
#: Prefix of a row's ranking signature while its ranks await the analysis.
PENDING = "pending:"


def needs_cases(method: str) -> bool:
    """Whether ``method`` ranks from per-case values (ranked by the worker's analysis)."""
    return method in CASE_METHODS


def pending_signature(signature: str) -> str:
    """The signature of rows whose ranks are provisional until the analysis has run."""
    return PENDING + signature


def is_pending(signature: str) -> bool:
    return signature.startswith(PENDING)


def settled_signature(signature: str) -> str:
    """The ranking signature without the pending marker."""
    return signature.removeprefix(PENDING)


def board_key(signature: str, rows: Iterable[tuple[int, Mapping[str, float | None]]]) -> str:
    """SHA-256 (hex) of a board: the settled ranking signature and, per row, the submission
    id and its ranking values ``{criterion path: mean}``; the rows' order does not matter.
    Ids and values are hashed as 64-bit binary numbers (a missing value, None or any NaN, as one NaN), so 1 and 1.0
    from different readers agree; ~1 ms for 1,000 rows (every recompute and board read)."""
    ordered = sorted(rows, key=_first_as_int)
    paths = sorted({path for _, values in ordered for path in values})
    ids = array("q", (int(submission) for submission, _ in ordered))
    numbers = array("d", (_float(values.get(path)) for _, values in ordered for path in paths))
    digest = hashlib.sha256()
    digest.update("\n".join([settled_signature(signature), *paths, ""]).encode())
    digest.update(ids.tobytes())
    digest.update(numbers.tobytes())
    return digest.hexdigest()


def _first_as_int(row: tuple[int, object]) -> int:
    return int(row[0])


#: The one NaN a missing value is hashed as. NaNs differ in their sign and payload bits (x86's
#: ``inf - inf`` is 0xfff8..., ``math.nan`` 0x7ff8..., a database or JSON reader may give
#: either), so hashing a NaN's own bytes gave one board two keys and its analysis never matched.
_MISSING = math.nan


def _float(value: object) -> float:
    """A ranking value as a float, the one ``_MISSING`` NaN for a missing one, whatever
    its bits (values reach here as numbers or None: the recompute's means,
    ``criterion_means`` and the tables' stored means)."""
    if value is None:
        return _MISSING
    try:
        number = float(value)
    except (TypeError, ValueError):  # not a number at all: as good as missing
        return _MISSING
    return _MISSING if math.isnan(number) else number


def criterion_means(
    values: Mapping[str, Mapping[str, Mapping[str, float | None]]], paths: Iterable[str]
) -> dict[str, float | None]:
    """``{path: mean}`` of the ranking criteria from a row's stored ``{class: {metric:
    stats}}`` (a ``LeaderboardEntry``'s values)."""
    out = {}
    for path in paths:
        group, _, name = path.partition(".")
        stats = (values.get(group) or {}).get(name)
        out[path] = _number(stats.get("mean") if isinstance(stats, Mapping) else stats)
    return out


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if value == value and value not in (float("inf"), float("-inf")) else None
