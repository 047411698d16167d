"""Leaderboard statistics: ranking methods, rank uncertainty, significance, agreement.

Pure NumPy/SciPy on plain arrays (no Django, nothing else of the project), so the worker,
the challenge report and an organiser offline compute the same numbers. Input is one board:
per metric an entries x cases matrix of per-case values (NaN = missing or failed case) and
the metric's direction; output is plain data. Definitions and references: docs/statistics.md.

What lives where, lowest first (a module imports only from modules listed before it):

- `ranks.py`: competition ranks ("1224") by sorting, vectorised over rows.
- `missing.py`: the missing-value policy (a missing case counts at the metric's worst value).
- `holm.py`: Holm's step-down adjustment.
- `wilcoxon.py`: one-sided Wilcoxon signed-rank p-values of many pairs, as SciPy computes each.
- `significance.py`: all ordered pairs tested, Holm over the family, wins.
- `podium.py`: per-case ranks and their per-entry histogram.
- `board.py`: `Board`, the complete matrices of one board with shared, cached results.
- `resample.py`: bootstrap resamples as case counts; resampled means and medians.
- `methods.py`: the ranking-method registry (`METHODS`, `get_method`, `method_choices`).
- `bootstrap.py`: bootstrap ranks and their summary (`RankIntervals`).
- `ties.py`: statistically tied pairs.
- `agreement.py`: Kendall's tau-b between rankings (methods, snapshots, sites).
- `analysis.py`: `analyse_board`, the one entry point, and `BoardAnalysis.to_dict()`.
"""

from evaluator.statistics.agreement import kendall_tau_b, method_agreement, snapshot_agreement
from evaluator.statistics.analysis import SCHEMA_VERSION, BoardAnalysis, analyse_board
from evaluator.statistics.board import Board
from evaluator.statistics.bootstrap import N_BOOTSTRAP, RankIntervals, bootstrap, bootstrap_ranks
from evaluator.statistics.holm import holm
from evaluator.statistics.methods import (
    ALIASES,
    METHODS,
    MethodRanking,
    RankingMethod,
    get_method,
    method_choices,
)
from evaluator.statistics.missing import BOUNDED_WORST, default_worst, fill_missing
from evaluator.statistics.podium import case_ranks, rank_histogram
from evaluator.statistics.ranks import competition_ranks
from evaluator.statistics.significance import ALPHA, Significance, significance
from evaluator.statistics.ties import tied_pairs, tied_with
from evaluator.statistics.wilcoxon import pairwise_wilcoxon, wilcoxon_greater

__all__ = [
    "ALIASES",
    "ALPHA",
    "BOUNDED_WORST",
    "METHODS",
    "N_BOOTSTRAP",
    "SCHEMA_VERSION",
    "Board",
    "BoardAnalysis",
    "MethodRanking",
    "RankIntervals",
    "RankingMethod",
    "Significance",
    "analyse_board",
    "bootstrap",
    "bootstrap_ranks",
    "case_ranks",
    "competition_ranks",
    "default_worst",
    "fill_missing",
    "get_method",
    "holm",
    "kendall_tau_b",
    "method_agreement",
    "method_choices",
    "pairwise_wilcoxon",
    "rank_histogram",
    "significance",
    "snapshot_agreement",
    "tied_pairs",
    "tied_with",
    "wilcoxon_greater",
]
