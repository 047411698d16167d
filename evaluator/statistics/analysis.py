"""Everything the platform shows about one board's uncertainty, from one call.

``analyse_board`` takes one board's per-case values (per metric an entries x cases matrix,
NaN for a missing or failed case), applies the missing-value policy, ranks the board by every
method, bootstraps the chosen method's ranks, tests every ordered pair, marks statistically
tied entries, compares the methods' rankings (Kendall's tau-b) and ranks the entries on each
case. The worker calls it per board (all cases, then each site) after a recompute; the result
is plain data (``BoardAnalysis.to_dict()``: lists, numbers, strings, None), versioned by
``SCHEMA_VERSION``, for storage, pages, plots and the challenge report.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from evaluator.statistics.agreement import method_agreement
from evaluator.statistics.board import Board
from evaluator.statistics.bootstrap import N_BOOTSTRAP, RankIntervals, bootstrap
from evaluator.statistics.methods import (
    AGGREGATE_MEAN,
    METHODS,
    TEST_BOOTSTRAP_MAX_WORK,
    MethodRanking,
    get_method,
)
from evaluator.statistics.podium import rank_histogram
from evaluator.statistics.significance import ALPHA, Significance
from evaluator.statistics.ties import tied_pairs, tied_with

#: Version of ``BoardAnalysis.to_dict()``'s layout; bump it when a stored reader must adapt.
SCHEMA_VERSION = 1


def _json_numbers(array: ArrayLike) -> Any:
    """Nested lists of Python numbers; NaN and infinities become None (JSON has neither)."""
    a = np.asarray(array)
    if a.dtype == bool or np.issubdtype(a.dtype, np.integer):
        return a.tolist()
    a = a.astype(np.float64)
    return np.where(np.isfinite(a), a, None).tolist()


def _json_id(value: Hashable) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class BoardAnalysis:
    """One board's analysis; arrays are indexed by entry (rows) and case (columns) in the
    order of ``entry_ids`` and ``case_ids``."""

    entry_ids: list
    case_ids: list
    directions: dict[str, bool]
    primary: str
    method: str
    alpha: float
    seed: int
    n_bootstrap: int
    missing: dict[str, dict]
    rankings: dict[str, MethodRanking]  # every method in METHODS
    intervals: RankIntervals | None  # bootstrap of ``method``; None with bootstrap_note
    bootstrap_note: str | None
    significance: Significance  # on the primary metric
    ties: list[tuple[int, int]]  # index pairs (i < j)
    agreement: list[dict]  # Kendall's tau-b between every pair of methods
    case_ranks: np.ndarray  # entries x cases, primary metric
    case_rank_histogram: np.ndarray  # entries x ranks
    #: Seconds per part of the computation (not part of to_dict: it differs run to run).
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def ranking(self) -> MethodRanking:
        """The chosen method's scores and ranks."""
        return self.rankings[self.method]

    def rows(self) -> list[dict]:
        """One summary per entry, in entry order: rank and score under the chosen method,
        bootstrap median rank and 95% interval, significant wins, statistically tied
        entries."""
        ids = [_json_id(e) for e in self.entry_ids]
        ranking = self.ranking
        scores = _json_numbers(ranking.scores)
        wins = self.significance.wins.tolist()
        ties = tied_with(self.ties, len(ids))
        intervals = self.intervals
        out = []
        for index, entry in enumerate(ids):
            row = {
                "entry": entry,
                "rank": int(ranking.ranks[index]),
                "score": scores[index],
                "median_rank": None,
                "rank_low": None,
                "rank_high": None,
                "wins": int(wins[index]),
                "tied_with": [ids[j] for j in ties[index]],
            }
            if intervals is not None:
                row["median_rank"] = float(intervals.median[index])
                row["rank_low"] = float(intervals.low[index])
                row["rank_high"] = float(intervals.high[index])
            out.append(row)
        return out

    def to_dict(self, include_case_ranks: bool = True) -> dict:
        """JSON-safe plain data (see docs/statistics.md for every field)."""
        ids = [_json_id(e) for e in self.entry_ids]
        intervals = self.intervals
        return {
            "schema_version": SCHEMA_VERSION,
            "method": self.method,
            "primary_metric": self.primary,
            "metrics": [
                {"name": name, "higher_is_better": higher, "missing": self.missing[name]}
                for name, higher in self.directions.items()
            ],
            "alpha": self.alpha,
            "seed": self.seed,
            "n_bootstrap": self.n_bootstrap,
            "entries": ids,
            "cases": [_json_id(c) for c in self.case_ids],
            "rows": self.rows(),
            "rankings": {
                name: {
                    **METHODS[name].to_dict(),
                    "score_higher_is_better": ranking.score_higher_is_better,
                    "scores": _json_numbers(ranking.scores),
                    "ranks": ranking.ranks.tolist(),
                }
                for name, ranking in self.rankings.items()
            },
            "agreement": self.agreement,
            "bootstrap": None
            if intervals is None
            else {
                "method": intervals.method,
                "n_bootstrap": intervals.n_bootstrap,
                "seed": intervals.seed,
                "median_rank": _json_numbers(intervals.median),
                "rank_low": _json_numbers(intervals.low),
                "rank_high": _json_numbers(intervals.high),
                "frequencies": intervals.frequencies.tolist(),
            },
            "bootstrap_note": self.bootstrap_note,
            "significance": {
                "metric": self.primary,
                "test": "wilcoxon signed-rank, one-sided (row better than column)",
                "adjustment": "holm",
                "family": "all ordered pairs",
                "family_size": self.significance.family_size,
                "alpha": self.significance.alpha,
                "pvalues": _json_numbers(self.significance.pvalues),
                "adjusted": _json_numbers(self.significance.adjusted),
                "significant": self.significance.significant.tolist(),
            },
            "ties": [[ids[i], ids[j]] for i, j in self.ties],
            "podium": {
                "metric": self.primary,
                "case_ranks": self.case_ranks.tolist() if include_case_ranks else None,
                "rank_histogram": self.case_rank_histogram.tolist(),
            },
        }


def analyse_board(
    values: Mapping[str, ArrayLike],
    directions: Mapping[str, bool],
    entry_ids: Sequence[Hashable],
    case_ids: Sequence[Hashable],
    method: str = AGGREGATE_MEAN,
    seed: int = 0,
    n_bootstrap: int = N_BOOTSTRAP,
    *,
    primary: str | None = None,
    worst: Mapping[str, float | None] | None = None,
    alpha: float = ALPHA,
    max_test_bootstrap_work: int = TEST_BOOTSTRAP_MAX_WORK,
) -> BoardAnalysis:
    """Analyse one board.

    ``values``: per metric (e.g. "head.dice") an entries x cases matrix, NaN where a case is
    missing or failed; the first metric is the primary one unless ``primary`` says otherwise.
    ``directions``: per metric, whether higher is better. ``worst``: per metric, the value a
    missing case counts as (a number; None for the worst value observed on that case); by
    default 0 for bounded metrics such as Dice and the observed worst otherwise. ``method``:
    a name in ``METHODS`` (or "primary"), ranked and bootstrapped ``n_bootstrap`` times
    from ``seed``; every other method is ranked too, for the comparison of methods.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - clock
        clock = now

    chosen = get_method(method)
    board = Board.from_values(values, directions, primary=primary, worst=worst, alpha=alpha)
    if len(entry_ids) != board.n_entries or len(case_ids) != board.n_cases:
        raise ValueError(
            f"{len(entry_ids)} entry ids and {len(case_ids)} case ids for a "
            f"{board.n_entries} x {board.n_cases} board"
        )
    lap("missing")
    _ = board.significance  # shared by test-then-rank and the ties
    lap("significance")
    rankings = {}
    for name, ranking_method in METHODS.items():
        rankings[name] = ranking_method.rank(board)
        lap(f"rank:{name}")
    intervals, note = bootstrap(board, chosen, n_bootstrap, seed, max_test_bootstrap_work)
    lap(f"bootstrap:{chosen.name}")
    ties = tied_pairs(
        board.significance.significant,
        None if intervals is None else intervals.low,
        None if intervals is None else intervals.high,
    )
    agreement = method_agreement({name: r.ranks for name, r in rankings.items()})
    histogram = rank_histogram(board.case_ranks)
    lap("ties, agreement, podium")
    return BoardAnalysis(
        entry_ids=list(entry_ids),
        case_ids=list(case_ids),
        directions=dict(board.higher_is_better),
        primary=board.primary,
        method=chosen.name,
        alpha=board.alpha,
        seed=int(seed),
        n_bootstrap=int(n_bootstrap),
        missing=board.missing,
        rankings=rankings,
        intervals=intervals,
        bootstrap_note=note,
        significance=board.significance,
        ties=ties,
        agreement=agreement,
        case_ranks=board.case_ranks,
        case_rank_histogram=histogram,
        timings=timings,
    )
