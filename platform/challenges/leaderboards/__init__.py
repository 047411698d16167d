"""Leaderboards: ranking scored submissions and materialising the result as rows.

``recompute(phase)`` runs after every evaluation (and after disqualifying or changing the
ranking), never on page views; pages and the API read ``LeaderboardEntry`` rows through
``leaderboard_table``, which costs the same few queries whatever the number of submissions.
Each row also records which ranking built it (``ranking_signature``), so a board whose phase
was re-ranked while no worker ran says it is stale instead of passing old ranks off under the
new method (``LeaderboardTable.stale``).

Ranking follows grand-challenge.org: either the primary metric, or the mean of per-metric
ranks; competition ranking (ties share a rank and the next rank is skipped: 1, 1, 3); missing
values always rank after every present value.

What lives where, and what may import what (each module only imports those above it):

- ``ranking.py``: pure. Criteria (``Criterion``, ``criteria_for``), stored values to numbers
  (``scope_values``, ``criterion_values``), ``competition_ranks``, ``rank_rows`` (primary
  metric or mean rank) and the three entry selections (``select_best``, ``select_latest``,
  ``select_all``). Imports only the evaluator (metric directions): no Django, no database.
- ``materialise.py``: ``ranking_criteria(phase)``, ``ranking_signature(phase)`` and
  ``recompute(phase)``, which writes ``LeaderboardEntry`` rows. Imports ``ranking`` and the
  models.
- ``tables.py``: what readers get. ``Column``, ``Row``, ``LeaderboardTable`` (with CSV/JSON),
  ``leaderboard_table`` (the materialised best/latest board), ``all_entries_table``
  (``?entries=all``), both through one builder, ``phase_table`` and ``wants_all_entries``.
  Imports ``ranking``, ``materialise``, the models and ``challenges.metric_labels``.

This package is imported by services, views, admin and commands; it imports none of them.
The names below are re-exported so ``from challenges import leaderboards;
leaderboards.recompute(phase)`` keeps working.
"""

from challenges.leaderboards.materialise import ranking_criteria, ranking_signature, recompute
from challenges.leaderboards.ranking import (
    ALL,
    Criterion,
    competition_ranks,
    metric_higher_is_better,
    rank_rows,
)
from challenges.leaderboards.tables import (
    ENTRIES_ALL,
    ENTRIES_CHOICES,
    Column,
    EntriesError,
    LeaderboardTable,
    Row,
    all_entries_table,
    leaderboard_table,
    make_column,
    phase_table,
    stored_metrics,
    wants_all_entries,
)

__all__ = [
    "ALL",
    "ENTRIES_ALL",
    "ENTRIES_CHOICES",
    "Column",
    "Criterion",
    "EntriesError",
    "LeaderboardTable",
    "Row",
    "all_entries_table",
    "competition_ranks",
    "leaderboard_table",
    "make_column",
    "metric_higher_is_better",
    "phase_table",
    "rank_rows",
    "ranking_criteria",
    "ranking_signature",
    "recompute",
    "stored_metrics",
    "wants_all_entries",
]
