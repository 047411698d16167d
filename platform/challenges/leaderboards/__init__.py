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

A metric's direction is the evaluator's ``MetricSpec`` (``evaluator.metric_spec``): ranking
criteria are specs, and each column carries its spec, so the sort order, the ↑/↓ a page
draws and the words in a header come from one place. A phase's ranking metrics are stored
in the task's ranking shape, ``[{"metric": "head.dice"}]`` (``evaluator.tasks.parse_ranking``
reads them; no other shape is accepted).

What lives where, and what may import what (each module only imports those above it):

- ``ranking.py``: pure. Criteria (``criteria_for``: the phase's ranking metrics or the task's
  own, as ``MetricSpec``), a scope's values to one number per criterion
  (``criterion_values``), ``competition_ranks`` (by sorting), ``rank_rows`` (primary metric
  or mean rank) and the three entry selections (``select_best``, ``select_latest``,
  ``select_all``). Imports only the evaluator (metric specs, ranking entries, sorted ranks):
  no Django, no database. What boards read of an evaluation (``Evaluation.board_values`` and
  ``BoardMeans``) is made by ``challenges.board_values``, outside this package, as the models
  need it.
- ``scopes.py``: which cases a board covers. ``Scope`` (all cases, or one site) and
  ``scope_for(phase, site)``, the one rule for which names have a board (the sites of the
  phase's challenge; ``UnknownSite`` otherwise), used by the tables, the API and the pages;
  ``board_scopes`` (all cases and the sites with cases in the phase) for ``recompute``.
  Imports ``ranking`` and the models.
- ``materialise.py``: ``ranking_criteria(phase)``, ``ranking_signature(phase)`` and
  ``recompute(phase, scored=...)``, which brings the ``LeaderboardEntry`` rows of every scope
  (after a scored submission: of the scopes it touches) up to date, reading only the
  ``BoardMeans`` and writing only changed rows. Imports ``ranking``, ``scopes`` and the
  models.
- ``tables.py``: what readers get. ``Column`` (a ``MetricSpec`` and whether it ranks),
  ``Row``, ``LeaderboardTable`` (with CSV/JSON), ``leaderboard_table`` (the materialised
  best/latest board), ``all_entries_table`` (``?entries=all``), both through one builder,
  ``phase_table`` and ``wants_all_entries``. Imports ``ranking``, ``scopes``,
  ``materialise`` and the models.

This package is imported by services, views, admin and commands; it imports none of them.
The names below are re-exported so ``from challenges import leaderboards;
leaderboards.recompute(phase)`` keeps working.
"""

from challenges.leaderboards.materialise import ranking_criteria, ranking_signature, recompute
from challenges.leaderboards.ranking import ALL, competition_ranks, criteria_for, rank_rows
from challenges.leaderboards.scopes import (
    ALL_CASES,
    Scope,
    UnknownSite,
    board_scopes,
    phase_sites,
    scope_for,
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
    "ALL_CASES",
    "ENTRIES_ALL",
    "ENTRIES_CHOICES",
    "Column",
    "EntriesError",
    "LeaderboardTable",
    "Row",
    "Scope",
    "UnknownSite",
    "all_entries_table",
    "board_scopes",
    "competition_ranks",
    "criteria_for",
    "leaderboard_table",
    "make_column",
    "phase_sites",
    "phase_table",
    "rank_rows",
    "ranking_criteria",
    "ranking_signature",
    "recompute",
    "scope_for",
    "stored_metrics",
    "wants_all_entries",
]
