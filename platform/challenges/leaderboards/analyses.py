"""Stored board analyses: computed by the worker after every recompute, read by pages and the API.

The worker's task ``challenges.tasks.analyse_leaderboards`` (queued by name after a recompute
commits, ``history.queue_analysis``) runs ``analyse_phase``: for every board of the phase (all cases,
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
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import JSONField, Q
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from challenges.leaderboards.history import complete_snapshot, fill_taus
from challenges.leaderboards.keys import (
    board_key,
    criterion_means,
    is_pending,
    needs_cases,
    settled_signature,
)
from challenges.leaderboards.materialise import ranking_criteria, ranking_signature
from challenges.leaderboards.scopes import Scope, board_scopes, scope_for
from challenges.models import (
    BoardAnalysis,
    Case,
    Evaluation,
    LeaderboardEntry,
    LeaderboardSnapshot,
    Phase,
    Site,
    Submission,
)
from challenges.permissions import is_organiser
from evaluator.metric_spec import MetricSpec
from evaluator.statistics.analysis import SCHEMA_VERSION, analyse_board
from evaluator.statistics.methods import ALIASES

log = logging.getLogger(__name__)

#: The bootstrap's seed: fixed, so a board's analysis is reproducible from its per-case values
#: (``evaluator.statistics.analyse_board(..., seed=SEED)`` offline gives the same numbers).
SEED = 20181206  # Maier-Hein et al., Nat Commun 2018 (published 6 December 2018)
#: Bootstrap resamples of the cases per board.
N_BOOTSTRAP = 1000
#: Boards with more entries are not analysed (all-pairs tests and entries x entries matrices
#: grow with the square): the board says so in ``note``.
MAX_ENTRIES = 250
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
    """The stored analysis of the board as it is now (its ``board_key`` equals the board's:
    ``key`` when the caller has it, else read), ``current``; failing that the newest one,
    not current (the board changed since: a newer analysis is being computed); None before
    the first. The matching one wins even when an older board's analysis was stored after
    it (a worker that read the board before it changed). UnknownSite for a site without a
    board."""
    scope = scope_for(phase, site)
    if key is None:
        key = current_board_key(phase, scope)
    if key is not None:
        matching = (
            BoardAnalysis.objects.filter(
                phase=phase,
                site=scope.site,
                selection=selection or phase.entry_selection,
                board_key=key,
            )
            .select_related("site")
            .order_by("-computed_at", "-id")
            .first()
        )
        if matching is not None:
            return StoredAnalysis(matching, current=True)
    row = latest_analysis(phase, scope, selection)
    return None if row is None else StoredAnalysis(row, current=False)


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


#: What a redacted payload says in place of the case-level data it left out.
REDACTED_NOTE = (
    "Per-case results are visible to the organisers and each submitting team only "
    "(the phase's per-case visibility): case ids, each case's site and the per-case ranks "
    "are left out."
)


def may_see_case_results(viewer, phase: Phase) -> bool:
    """Whether ``viewer`` may see every team's per-case results on ``phase``'s boards: the
    organisers always, everyone else only when the phase's per-case visibility is
    "everyone" (``permissions.can_view_case_results`` applies the same rule per
    submission; a board's analysis holds every team's, so a team gets no more of it)."""
    if phase.per_case_visibility == Phase.PerCaseVisibility.EVERYONE:
        return True
    return is_organiser(viewer, phase.challenge)


def redact_payload(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of an analysis payload without case-level data: ``cases`` (ids) and
    ``case_sites`` emptied, ``podium.case_ranks`` None. The aggregates (rows, rank
    intervals, rank histogram, significance, rankings, agreement/tau, bootstrap) stay."""
    if payload is None:
        return None
    out = dict(payload)
    out["cases"] = []
    out["case_sites"] = {}
    if isinstance(out.get("podium"), dict):
        out["podium"] = {**out["podium"], "case_ranks": None}
    out["redacted"] = REDACTED_NOTE
    return out


def payload_for(viewer, phase: Phase, payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """The analysis payload as ``viewer`` may see it: whole for those who may see every
    team's per-case results (``may_see_case_results``), ``redact_payload``'s copy for
    everyone else. Every page, report and API answer that serves a payload (a board's
    analysis, a frozen board's) goes through this; the stored payload is never changed."""
    if payload is None or may_see_case_results(viewer, phase):
        return payload
    return redact_payload(payload)


def entry_rows(payload: dict[str, Any] | None) -> dict[int, dict[str, Any]]:
    """{submission id: the payload's row (rank, score, median_rank, rank_low, rank_high,
    wins, tied_with)} of a stored payload ({} for None)."""
    if not payload:
        return {}
    return {int(row["entry"]): row for row in payload.get("rows", [])}


# --------------------------------------------------------------------------------------------
# Computing (the worker)


@dataclass
class _BoardRows:
    """A board's rows as the recompute left them."""

    submission_ids: list[int]
    signature: str
    key: str


def _board_rows(phase: Phase, scope: Scope, paths: Sequence[str]) -> _BoardRows | None:
    rows = list(
        LeaderboardEntry.objects.filter(phase=phase, site=scope.site)
        .order_by("rank", "submission_id")
        .values_list("submission_id", "values", "ranking_signature")
    )
    if not rows:
        return None
    signature = rows[0][2]
    key = board_key(signature, [(sid, criterion_means(values, paths)) for sid, values, _ in rows])
    return _BoardRows([sid for sid, _, _ in rows], signature, key)


def _case_ids(phase: Phase, scope: Scope) -> tuple[list[str], dict[str, str]]:
    """The board's case ids (sorted) and each case's site name."""
    cases = Case.objects.filter(phase=phase).select_related("site").order_by("case_id")
    if scope.site is not None:
        cases = cases.filter(site=scope.site)
    pairs = [(c.case_id, c.site.name) for c in cases]
    return [case for case, _ in pairs], dict(pairs)


class CaseValues:
    """The ranking metrics' per-case values of current evaluations, read once per
    ``analyse_phase`` and shared by its boards (the all-cases board and each site's take the
    same submissions' values; each results document is decoded once, not once per board).
    Only the results' ``cases`` list is read."""

    def __init__(self, specs: Sequence[MetricSpec]) -> None:
        self.specs = list(specs)
        #: submission id -> (evaluator version, {case id: {metric path: value}})
        self._loaded: dict[int, tuple[str, dict[str, dict[str, float]]]] = {}

    def _load(self, submission_ids: Sequence[int]) -> None:
        missing = [sid for sid in submission_ids if sid not in self._loaded]
        if not missing:
            return
        evaluations = (
            Evaluation.objects.filter(submission_id__in=missing, is_current=True)
            .annotate(case_values=self._case_values())
            .values_list("submission_id", "case_values", "evaluator_version")
        )
        compact = connection.vendor == "postgresql"
        for submission_id, cases, version in evaluations:
            values: dict[str, dict[str, float]] = {}
            for case in cases or []:
                if compact:  # [case id, value of each spec]
                    case_id, found = case[0], zip(self.specs, case[1:], strict=True)
                else:
                    metrics = case.get("metrics") or {}
                    case_id = case.get("case")
                    found = ((s, (metrics.get(s.group) or {}).get(s.name)) for s in self.specs)
                kept = {}
                for spec, value in found:
                    number = isinstance(value, int | float) and not isinstance(value, bool)
                    if number and math.isfinite(value):
                        kept[spec.path] = float(value)
                values[str(case_id)] = kept
            self._loaded[submission_id] = (version or "", values)

    def _case_values(self) -> RawSQL | KeyTransform:
        """What the query reads of each results document: on PostgreSQL only
        ``[case id, value per ranking metric]`` per case, picked out by the database (a
        700-case document carries every metric of every class, ~20x more, and decoding it
        was most of an analysis's time); elsewhere the ``cases`` list."""
        if connection.vendor != "postgresql":
            return KeyTransform("cases", "results")
        table = connection.ops.quote_name(Evaluation._meta.db_table)
        column = connection.ops.quote_name(Evaluation._meta.get_field("results").column)
        picks = "".join(", c #> %s" for _ in self.specs)
        sql = (
            f"(SELECT jsonb_agg(jsonb_build_array(c -> 'case'{picks})) "
            f"FROM jsonb_array_elements({table}.{column} -> 'cases') AS c)"
        )
        params = [["metrics", spec.group, spec.name] for spec in self.specs]
        return RawSQL(sql, params, output_field=JSONField())

    def matrices(
        self, submission_ids: Sequence[int], case_ids: Sequence[str]
    ) -> tuple[dict[str, np.ndarray], list[str]]:
        """Per ranking metric, the entries x cases matrix (NaN where a case is missing,
        failed or not a finite number), and the entries' distinct evaluator versions."""
        self._load(submission_ids)
        shape = (len(submission_ids), len(case_ids))
        matrices = {spec.path: np.full(shape, np.nan) for spec in self.specs}
        versions = set()
        for i, sid in enumerate(submission_ids):
            version, values = self._loaded.get(sid, ("", {}))
            if version:
                versions.add(version)
            for j, case in enumerate(case_ids):
                for path, value in values.get(case, {}).items():
                    matrices[path][i, j] = value
        return matrices, sorted(versions)


def _entry_info(submission_ids: Sequence[int]) -> dict[str, dict[str, Any]]:
    subs = Submission.objects.filter(pk__in=list(submission_ids)).select_related("team", "creator")
    return {
        str(s.pk): {
            "submission": s.pk,
            "team": s.participant_name,
            "method": s.method_name,
            "created_at": s.created_at.isoformat(),
        }
        for s in subs
    }


@dataclass
class _Computed:
    payload: dict[str, Any] | None
    note: str
    evaluator_version: str
    seconds: float


def _compute(
    phase: Phase, scope: Scope, rows: _BoardRows, specs: Sequence[MetricSpec], values: CaseValues
) -> _Computed:
    """Analyse one board from the per-case values (no lock held: this is the slow part)."""
    started = time.perf_counter()
    case_ids, case_sites = _case_ids(phase, scope)
    ids = rows.submission_ids
    # A board over MAX_ENTRIES is not analysed (below): nothing of it to read.
    matrices, versions = values.matrices(ids if len(ids) <= MAX_ENTRIES else [], case_ids)
    version = ", ".join(versions)[:200]
    if not case_ids:
        note = "This board has no cases to analyse."
        return _Computed(None, note, version, time.perf_counter() - started)
    if len(ids) > MAX_ENTRIES:
        note = (
            f"This board has {len(ids)} entries; boards of more than {MAX_ENTRIES} are not "
            "analysed (all-pairs tests grow with the square of the entries)."
        )
        return _Computed(None, note, version, time.perf_counter() - started)
    result = analyse_board(
        matrices,
        {s.path: s.higher_first for s in specs},
        ids,
        case_ids,
        method=evaluator_method(phase.ranking_method),
        seed=SEED,
        n_bootstrap=N_BOOTSTRAP,
    )
    payload = result.to_dict()
    payload["entry_info"] = _entry_info(ids)
    payload["case_sites"] = case_sites
    payload["board"] = {
        "phase": phase.pk,
        "site": scope.key,
        "selection": phase.entry_selection,
        "ranking_method": phase.ranking_method,
        "ranking_signature": settled_signature(rows.signature),
        "board_key": rows.key,
        "truth_version": phase.truth_version,
        "evaluator_version": version,
    }
    return _Computed(payload, "", version, time.perf_counter() - started)


def _final_ranks(payload: dict[str, Any] | None, method: str) -> dict[int, tuple[int, Any]]:
    """{submission id: (rank, score)} under ``method`` from a stored payload ({} without)."""
    if not payload:
        return {}
    ranking = (payload.get("rankings") or {}).get(evaluator_method(method))
    if not ranking:
        return {}
    return {
        int(entry): (int(rank), score)
        for entry, rank, score in zip(
            payload["entries"], ranking["ranks"], ranking["scores"], strict=True
        )
    }


def _interval_rows(payload: dict[str, Any] | None) -> dict[int, dict[str, Any]]:
    return {
        sid: {
            "median_rank": row.get("median_rank"),
            "rank_low": row.get("rank_low"),
            "rank_high": row.get("rank_high"),
            "tied_with": [int(t) for t in row.get("tied_with") or []],
        }
        for sid, row in entry_rows(payload).items()
    }


def _apply(
    phase: Phase, scope: Scope, analysis: BoardAnalysis, rows: _BoardRows
) -> dict[str, bool]:
    """Under the phase's lock, with the board still holding the analysed content: give a
    per-case method's rows their final ranks, and complete the board's snapshots of that
    content (``_complete_history``). Returns what was done."""
    done = {"ranked": False, "snapshot": False}
    final = _analysis_ranks(analysis)
    if is_pending(rows.signature) and final:
        entries = list(LeaderboardEntry.objects.filter(phase=phase, site=scope.site))
        for entry in entries:
            entry.rank, entry.score = final[entry.submission_id]
            entry.ranking_signature = settled_signature(rows.signature)
        LeaderboardEntry.objects.bulk_update(entries, ["rank", "score", "ranking_signature"])
        done["ranked"] = True
    done["snapshot"] = _complete_history(phase, scope, analysis) > 0
    return done


def _analysis_ranks(analysis: BoardAnalysis) -> dict[int, tuple[int, Any]]:
    """The final ``{submission id: (rank, score)}`` a per-case method's analysis gives ({}
    for the other methods, whose ranks the recompute wrote). The analysis's own method, not
    the phase's now: it is the one its content (board key) was ranked by."""
    method = analysis.ranking_method
    return _final_ranks(analysis.payload, method) if needs_cases(method) else {}


#: Snapshots of one board content completed per analysis, at most (a content seen again
#: after a change back is a new snapshot; a handful at most in practice).
COMPLETE_LIMIT = 20


def _incomplete_snapshots(phase: Phase, scope: Scope, selection: str, key: str):
    """The board's live snapshots of exactly this content (``key``) that still miss the
    analysis: its intervals, or a per-case method's final ranks (``ranks_pending``)."""
    return (
        LeaderboardSnapshot.objects.filter(
            phase=phase,
            site=scope.site,
            selection=selection,
            frozen_at__isnull=True,
            board_key=key,
        )
        .filter(Q(intervals_at__isnull=True) | Q(ranks_pending=True))
        .order_by("-computed_at", "-id")
    )


def _complete_history(phase: Phase, scope: Scope, analysis: BoardAnalysis) -> int:
    """Add the analysis to every snapshot of the board that records exactly its content:
    intervals, ties, tau and, for a per-case method, the final ranks with ``ranks_pending``
    false, so ``as_of`` and the rank history show the ranks the live board showed. Also for
    a snapshot no longer the newest: a board that changed while its analysis was computed
    (the analysis then finds the rows moved on) would otherwise keep its provisional ranks
    forever. Returns how many were completed."""
    if analysis.payload is None:
        return 0
    final = _analysis_ranks(analysis)
    todo = list(
        _incomplete_snapshots(phase, scope, analysis.selection, analysis.board_key)[:COMPLETE_LIMIT]
    )
    for snapshot in reversed(todo):  # oldest first: each one's tau reads the one before
        complete_snapshot(
            snapshot,
            _interval_rows(analysis.payload),
            method=analysis.payload.get("method", ""),
            n_bootstrap=analysis.n_bootstrap,
            seed=analysis.seed,
            final_ranks=(final or None) if snapshot.ranks_pending else None,
        )
    return len(todo)


def _needs_applying(
    phase: Phase, scope: Scope, selection: str, rows: _BoardRows, stored: BoardAnalysis
) -> bool:
    """Whether the board still needs something the stored analysis gives: final ranks (its
    rows are pending) or a snapshot of this content still missing it."""
    if stored.payload is None:
        return False  # nothing to give (the note says why)
    if is_pending(rows.signature):
        return True
    return _incomplete_snapshots(phase, scope, selection, rows.key).exists()


def analyse_board_scope(phase: Phase, scope: Scope, values: CaseValues | None = None) -> str:
    """Analyse one board of ``phase`` (unless its newest analysis is of the same content),
    store it, and apply it (final ranks, snapshot). Returns what happened, for the log.

    The slow part (reading per-case values, the statistics) holds no lock; the analysis is
    stored in one statement; only giving rows their ranks and the snapshot its intervals
    takes the recompute's lock on the phase, briefly, and only when there is something to
    give. A queued run that finds its board analysed and applied already does nothing."""
    criteria = ranking_criteria(phase)
    paths = [c.path for c in criteria]
    rows = _board_rows(phase, scope, paths)
    if rows is None:
        return "no rows"
    selection = phase.entry_selection
    stored = (
        BoardAnalysis.objects.filter(
            phase=phase, site=scope.site, selection=selection, board_key=rows.key
        )
        .order_by("-computed_at", "-id")
        .first()
    )
    reused = stored is not None and stored.seed == SEED and stored.n_bootstrap == N_BOOTSTRAP
    if reused and not _needs_applying(phase, scope, selection, rows, stored):
        return "up to date"
    if not reused:
        values = CaseValues(criteria) if values is None else values
        computed = _compute(phase, scope, rows, criteria, values)
        now_rows = _board_rows(phase, scope, paths)
        if now_rows is None or now_rows.key != rows.key:
            # A recompute changed the board while this was computed: its own queued run
            # analyses the new board; storing this one would only show an outdated board.
            return "board changed while computing; not stored"
        stored = BoardAnalysis.objects.create(
            phase=phase,
            site=scope.site,
            selection=selection,
            computed_at=timezone.now(),
            truth_version=phase.truth_version,
            evaluator_version=computed.evaluator_version,
            ranking_method=phase.ranking_method,
            ranking_signature=settled_signature(rows.signature),
            board_key=rows.key,
            seed=SEED,
            n_bootstrap=N_BOOTSTRAP,
            seconds=computed.seconds,
            payload=computed.payload,
            note=computed.note,
        )
        _prune(phase, scope, selection, keep=stored)
    with transaction.atomic():
        # The recompute's lock: rows and snapshots change one writer at a time.
        locked = Phase.objects.select_for_update().select_related("challenge").get(pk=phase.pk)
        now_rows = _board_rows(locked, scope, paths)
        if (
            now_rows is None
            or now_rows.key != rows.key
            or locked.ranking_method != phase.ranking_method
            or ranking_signature(locked) != settled_signature(rows.signature)
        ):
            # The rows moved on; the history of the analysed content still gets it.
            completed = _complete_history(locked, scope, stored)
            return f"stored; board changed meanwhile; snapshots completed={completed}"
        done = _apply(locked, scope, stored, now_rows)
    what = "reused" if reused else f"computed in {computed.seconds:.2f} s"
    return f"{what}; ranked={done['ranked']} snapshot={done['snapshot']}"


def _prune(phase: Phase, scope: Scope, selection: str, keep: BoardAnalysis) -> None:
    """Delete a board's analyses older than the newest ``KEEP_PREVIOUS`` before ``keep``."""
    older = (
        BoardAnalysis.objects.filter(phase=phase, site=scope.site, selection=selection)
        .exclude(pk=keep.pk)
        .order_by("-computed_at", "-id")
        .values_list("pk", flat=True)
    )
    stale = list(older[KEEP_PREVIOUS:])
    if stale:
        BoardAnalysis.objects.filter(pk__in=stale).delete()


def analyse_phase(phase_id: int) -> dict[str, str]:
    """The worker's step after a recompute: analyse every board of the phase (all cases,
    then each site). Returns {board: what happened}. A phase deleted meanwhile needs
    nothing."""
    phase = Phase.objects.select_related("challenge").filter(pk=phase_id).first()
    if phase is None:
        return {}
    out = {}
    values = CaseValues(ranking_criteria(phase))
    for scope in board_scopes(phase):
        out[scope.key] = analyse_board_scope(phase, scope, values)
        log.info("phase %s board %s analysis: %s", phase.pk, scope.key, out[scope.key])
    fill_taus(phase)
    return out


#: Stored payloads carry this schema (``evaluator.statistics.SCHEMA_VERSION``).
PAYLOAD_SCHEMA = SCHEMA_VERSION
