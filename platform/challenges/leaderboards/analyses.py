"""Stored board analyses: computed by the worker after every recompute, read by pages and the API.

The worker's task ``challenges.tasks.analyse_leaderboards`` (queued by name after a recompute
commits, ``queue_analysis``) runs ``analyse_phase``: for every board of the phase (all cases,
then each site with cases, ``scopes.board_scopes``) and the phase's entry selection it builds
the entries x cases matrices of the ranking metrics from the current evaluations' per-case
values (``results["cases"]``, docs/results-schema.md; a case an entry has no value for is NaN,
which ``evaluator.statistics`` counts at the metric's worst value), calls
``evaluator.statistics.analyse_board`` with the phase's ranking method, ``SEED`` and
``N_BOOTSTRAP``, and stores a ``BoardAnalysis`` row. Then it completes the board's newest
snapshot (intervals, ties, Kendall's tau; ``history.complete_snapshot``) and, for the per-case
ranking methods, writes the analysis's ranks into the board's rows. A page view never
computes any of it.

Entries are the board's rows (``LeaderboardEntry``: the participants' best or latest
submissions as the recompute selected them), identified by submission id. A stored analysis
belongs to a board content: ``board_key`` (``keys.board_key``: ranking signature, submission
ids and their ranking values). Readers compare it with the board as it is now: equal keys,
the analysis is ``current``; different (a recompute since, whose analysis is still being
computed or queued), the previous analysis is returned with ``updating`` true.

Payload layout (``BoardAnalysis.payload``; what ``stored_analysis(...)["analysis"]`` is): the
keys of ``evaluator.statistics.BoardAnalysis.to_dict()`` (schema ``SCHEMA_VERSION``; every field
in docs/statistics.md), arrays indexed by ``entries`` (submission ids, ints) and ``cases``
(case ids)::

    schema_version, method, primary_metric, metrics [{name, higher_is_better, missing}],
    alpha, seed, n_bootstrap, entries [submission ids], cases [case ids],
    rows [{entry, rank, score, median_rank, rank_low, rank_high, wins, tied_with [ids]}],
    rankings {method: {name, label, description, score_label, score_higher_is_better,
                       scores [per entry], ranks [per entry]}},
    agreement [{a, b, tau}], bootstrap {method, n_bootstrap, seed, median_rank, rank_low,
    rank_high, frequencies [entries x ranks]} | None, bootstrap_note,
    significance {metric, test, adjustment, family, family_size, alpha,
                  pvalues, adjusted, significant [entries x entries, row better than column]},
    ties [[id, id]], podium {metric, case_ranks [entries x cases], rank_histogram}

plus, added here:

    entry_info {"<submission id>": {"submission": id, "team": participant name,
                                    "method": method name, "created_at": ISO time}},
    case_sites {"<case id>": site name},
    board {phase, site ("all" or a site name), selection, ranking_method,
           ranking_signature, board_key, truth_version, evaluator_version}

``ranking_method`` is the phase's value ("primary" is the evaluator's ``aggregate_mean``);
``method`` in the payload is the evaluator's name of the bootstrapped method.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from challenges.leaderboards.keys import (
    board_key,
    criterion_means,
)
from challenges.leaderboards.materialise import ranking_criteria
from challenges.leaderboards.scopes import Scope, board_scopes, scope_for
from challenges.models import (
    BoardAnalysis,
    LeaderboardEntry,
    Phase,
    Site,
)
from evaluator.statistics.methods import ALIASES

log = logging.getLogger(__name__)

#: The registered name of ``challenges.tasks.analyse_leaderboards``.
ANALYSE_LEADERBOARDS = "challenges.tasks.analyse_leaderboards"
#: The bootstrap's seed: fixed, so a board's analysis is reproducible from its per-case values
#: (``evaluator.statistics.analyse_board(..., seed=SEED)`` offline gives the same numbers).
SEED = 20181206  # Maier-Hein et al., Nat Commun 2018 (published 6 December 2018)
#: Bootstrap resamples of the cases per board.
N_BOOTSTRAP = 1000
#: Boards with more entries are not analysed (all-pairs tests and entries x entries matrices
#: grow with the square): the board says so in ``note``.
MAX_ENTRIES = 400
#: Older analyses of a board kept besides the newest (the newest is read; one more spares a
#: reader racing the prune).
KEEP_PREVIOUS = 1


def evaluator_method(phase_method: str) -> str:
    """The evaluator's name of a phase's ranking method ("primary" -> "aggregate_mean")."""
    return ALIASES.get(phase_method, phase_method)


# --------------------------------------------------------------------------------------------
# Reading (pages, API, report): never computes


@dataclass(frozen=True)
class StoredAnalysis:
    """The newest stored analysis of a board and whether it matches the board now."""

    row: BoardAnalysis
    current: bool

    @property
    def payload(self) -> dict[str, Any] | None:
        return self.row.payload

    @property
    def updating(self) -> bool:
        """The board changed since this analysis (a newer one is being computed or queued)."""
        return not self.current

    def as_dict(self) -> dict[str, Any]:
        row = self.row
        return {
            "phase": row.phase_id,
            "site": row.site.name if row.site_id else "all",
            "selection": row.selection,
            "computed_at": row.computed_at.isoformat(),
            "truth_version": row.truth_version,
            "evaluator_version": row.evaluator_version,
            "ranking_method": row.ranking_method,
            "ranking_signature": row.ranking_signature,
            "board_key": row.board_key,
            "seed": row.seed,
            "n_bootstrap": row.n_bootstrap,
            "seconds": row.seconds,
            "note": row.note,
            "current": self.current,
            "updating": self.updating,
            "analysis": row.payload,
        }


def current_board_key(phase: Phase, scope: Scope) -> str | None:
    """The key of the board's rows as they are now (None for a board with no rows: nothing
    to match). One query for the rows' ids, values and signature."""
    rows = list(
        LeaderboardEntry.objects.filter(phase=phase, site=scope.site).values_list(
            "submission_id", "values", "ranking_signature"
        )
    )
    if not rows:
        return None
    paths = [c.path for c in ranking_criteria(phase)]
    return board_key(rows[0][2], [(sid, criterion_means(values, paths)) for sid, values, _ in rows])


def latest_analysis(
    phase: Phase, site: Scope | Site | str | None = None, selection: str | None = None
) -> BoardAnalysis | None:
    """The newest stored analysis of a board (any content), or None."""
    scope = scope_for(phase, site)
    return (
        BoardAnalysis.objects.filter(
            phase=phase, site=scope.site, selection=selection or phase.entry_selection
        )
        .select_related("site")
        .order_by("-computed_at", "-id")
        .first()
    )


def board_analysis(
    phase: Phase,
    site: Scope | Site | str | None = None,
    selection: str | None = None,
    *,
    key: str | None = None,
) -> StoredAnalysis | None:
    """The newest stored analysis of a board with whether it is ``current`` (its
    ``board_key`` equals the board's now: ``key`` when the caller has it, else read), or None
    before the first. UnknownSite for a site without a board."""
    scope = scope_for(phase, site)
    row = latest_analysis(phase, scope, selection)
    if row is None:
        return None
    if key is None:
        key = current_board_key(phase, scope)
    return StoredAnalysis(row, current=key is not None and row.board_key == key)


def stored_analysis(
    phase: Phase, site: Scope | Site | str | None = None, selection: str | None = None
) -> dict[str, Any] | None:
    """``board_analysis(...).as_dict()``: the stored analysis with its metadata, ``current``,
    ``updating`` and ``analysis`` (the payload above; None with ``note`` saying why a board was
    not analysed), or None before the first analysis of the board."""
    found = board_analysis(phase, site, selection)
    return None if found is None else found.as_dict()


def phase_analyses(phase: Phase, selection: str | None = None) -> list[dict[str, Any]]:
    """``stored_analysis`` of every board of the phase (all cases first), skipping boards not
    analysed yet: what the challenge report and the per-site comparison read."""
    out = []
    for scope in board_scopes(phase):
        found = stored_analysis(phase, scope, selection)
        if found is not None:
            out.append(found)
    return out


def entry_rows(payload: dict[str, Any] | None) -> dict[int, dict[str, Any]]:
    """{submission id: the payload's row (rank, score, median_rank, rank_low, rank_high,
    wins, tied_with)} of a stored payload ({} for None)."""
    if not payload:
        return {}
    return {int(row["entry"]): row for row in payload.get("rows", [])}
