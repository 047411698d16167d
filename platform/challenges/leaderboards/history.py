"""Leaderboard history: one snapshot per board per recompute, ``as_of`` reads, rank over time,
Kendall's tau between consecutive snapshots, and the organiser's frozen final boards.

Writing: ``record_snapshots`` is called by ``materialise.recompute`` inside its transaction,
with the boards it has just ranked; it stores ranks and scores only (a few milliseconds at
1,000 rows: no names, no per-case values), and queues the worker's analysis
(``queue_analysis``, sent by name once the recompute commits). The analysis completes the newest
snapshot of each board it analysed (``complete_snapshot``): rank intervals and ties, the final
ranks of a per-case ranking method, and Kendall's tau-b against the board's previous snapshot.

A snapshot's ``rows`` (list, in rank order; layout version ``ROWS_VERSION``)::

    {"submission": 12, "rank": 1, "score": 0.93,
     "values": {"head.dice": 0.93, ...},       # the ranking criteria's means on this board
     "median_rank": 1.0, "rank_low": 1.0, "rank_high": 2.0,   # added by the analysis
     "tied_with": [15]}                         # submission ids; added by the analysis

(the last four are absent until the analysis completed the snapshot; readers get None)

A frozen snapshot's rows also carry ``participant`` and ``method_name`` as they were when it
was frozen, so the final board reads the same whatever is renamed later.

Reading: ``snapshots`` (a board's history, newest first), ``snapshot_as_of`` (the board as it
was at a time), ``rank_history`` (one submission's rank over time), ``frozen_boards`` and
``frozen_board``; ``snapshot_board`` turns a snapshot into the board API's shape. Nothing here
computes statistics on a read except Kendall's tau for a snapshot the worker has not completed
yet (``tau_between``: integer pair counts, milliseconds).

Freezing: ``freeze`` copies the newest snapshot of a board, with the matching stored analysis,
into a new frozen row with a slug (permalink) and ``checksum``: SHA-256 of
``canonical_json(canonical_content(snapshot))`` (keys sorted, no spaces, UTF-8), which anyone
can recompute from the API's ``content`` to verify it (``verify``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery import current_app
from django.db import connection, transaction
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from django.utils.text import slugify

from challenges.leaderboards.keys import board_key, is_pending, settled_signature
from challenges.leaderboards.scopes import Scope, scope_for
from challenges.models import (
    BoardAnalysis,
    Evaluation,
    LeaderboardSnapshot,
    Phase,
    Site,
    Submission,
)
from evaluator.statistics.agreement import kendall_tau_b

log = logging.getLogger(__name__)

#: Layout version of ``LeaderboardSnapshot.rows`` (and of the frozen content).
ROWS_VERSION = 1
#: What a snapshot's row says before the analysis completed it.
INTERVAL_FIELDS = {"median_rank": None, "rank_low": None, "rank_high": None, "tied_with": None}


def rank_key(submission_id: int) -> str:
    """A submission's key in ``LeaderboardSnapshot.ranks``: "s12", not "12", because the
    database reads a key made of digits as an array index (Django's KeyTransform does)."""
    return f"s{submission_id}"


#: The registered name of ``challenges.tasks.analyse_leaderboards``.
ANALYSE_LEADERBOARDS = "challenges.tasks.analyse_leaderboards"


class NoSnapshot(LookupError):
    """No snapshot of the board at or before the time asked (or no frozen board so named)."""


# --------------------------------------------------------------------------------------------
# Writing


def queue_analysis(phase_id: int) -> None:
    """Queue the worker's analysis of the phase's boards (``analyses.analyse_phase``) once the
    surrounding transaction commits, by the task's registered name (this package never
    imports the Celery module). A broker that cannot be reached leaves the board's analysis
    "updating" (logged); it never fails the recompute."""

    def send() -> None:
        try:
            current_app.send_task(ANALYSE_LEADERBOARDS, args=(phase_id,))
        except Exception:  # noqa: BLE001 - the board says its analysis is being updated
            log.exception("phase %s: leaderboard analysis not queued", phase_id)

    transaction.on_commit(send)


def evaluator_versions(phase: Phase) -> str:
    """The distinct evaluator versions of the phase's current evaluations, comma separated
    (one query)."""
    versions = (
        Evaluation.objects.filter(submission__phase=phase, is_current=True)
        .exclude(evaluator_version="")
        .values_list("evaluator_version", flat=True)
        .order_by()  # Evaluation's default ordering would make every row distinct
        .distinct()
    )
    return ", ".join(sorted(versions))[:200]


#: One ranked row as the recompute has it: submission id, rank, score and the ranking
#: criteria's means on the board ({criterion path: mean}).
RankedRow = tuple[int, int, float | None, Mapping[str, float | None]]


def _snapshot_rows(rows: Iterable[RankedRow]) -> list[dict[str, Any]]:
    return [
        {"submission": submission, "rank": rank, "score": score, "values": dict(values)}
        for submission, rank, score, values in sorted(rows, key=lambda r: (r[1], r[0]))
    ]


def record_snapshots(
    phase: Phase,
    boards: Iterable[tuple[Scope, Sequence[RankedRow]]],
    *,
    signature: str,
    paths: Sequence[str],
    computed_at: datetime,
) -> list[LeaderboardSnapshot]:
    """Store a snapshot of each board a recompute has just ranked (call it inside the
    recompute's transaction, so a board and its snapshot appear together), and queue the
    worker's analysis of the phase for when that transaction commits. ``signature`` is
    the one the rows were written with (pending for a per-case method, ``keys``); ``paths``
    the ranking criteria.

    A board whose content is what its newest snapshot already records (same board key and
    truth version: the ranks follow from these) gets no new one, so a recompute that changes
    nothing, or re-ranks a board it did not change, adds nothing to the history: then this
    costs one query and the boards' keys (~1.5 ms per 1,000 rows); each new snapshot adds
    the evaluator versions' query and its share of one insert."""
    boards = list(boards)
    if not boards:
        return []
    queue_analysis(phase.pk)  # even for unchanged boards: per-case ranks must be written again
    latest = _latest_keys(phase, phase.entry_selection)
    changed = []
    for scope, rows in boards:
        key = board_key(signature, [(submission, values) for submission, _, _, values in rows])
        if latest.get(scope.site.pk if scope.site else None) != (key, phase.truth_version):
            changed.append((scope, key, _snapshot_rows(rows)))
    if not changed:
        return []
    versions = evaluator_versions(phase)
    return LeaderboardSnapshot.objects.bulk_create(
        (
            LeaderboardSnapshot(
                phase=phase,
                site=scope.site,
                selection=phase.entry_selection,
                computed_at=computed_at,
                truth_version=phase.truth_version,
                evaluator_version=versions,
                ranking_method=phase.ranking_method,
                ranking_signature=settled_signature(signature),
                ranking_metrics=list(paths),
                board_key=key,
                ranks_pending=is_pending(signature),
                rows=rows,
                ranks={rank_key(r["submission"]): r["rank"] for r in rows},
            )
            for scope, key, rows in changed
        ),
        # One INSERT per snapshot: Django's multi-row PostgreSQL insert (UNNEST of arrays) has
        # psycopg quote each large JSON value in Python, about twice the time of libpq's C
        # escaping of a plain INSERT (115-160 vs 57-77 ms for a recompute's 4 boards of 250 rows).
        batch_size=1,
    )


def _latest_keys(phase: Phase, selection: str) -> dict[int | None, tuple[str, str]]:
    """{site id (None: all cases): (board key, truth version)} of each board's newest
    snapshot (one query; PostgreSQL's DISTINCT ON where available)."""
    queryset = _board_history_all(phase.pk, selection).order_by("site_id", "-computed_at", "-id")
    fields = ("site_id", "board_key", "truth_version")
    if connection.vendor == "postgresql":
        rows = queryset.distinct("site_id").values_list(*fields)
    else:
        rows = queryset.values_list(*fields)
    out: dict[int | None, tuple[str, str]] = {}
    for site_id, key, truth in rows:
        out.setdefault(site_id, (key, truth))
    return out


def tau_between(
    previous: dict[str, Any],
    current: dict[str, Any],
    participants: Mapping[str, str] | None = None,
) -> tuple[float | None, int]:
    """Kendall's tau-b between two snapshots' ``ranks`` over the participants in both, and
    how many there are. A board holds one row per participant (its best or latest entry),
    so entries are matched by participant (``participants``: {rank key: participant key},
    ``participant_keys``): a team whose new best entry replaced its row and moved up lowers
    tau, as the board changed. Without it, by submission. Rounded to 12 digits (exactly 1
    or -1 when the orders agree or are reversed, not 0.9999999999999999)."""
    if participants is not None:
        previous, current = (
            _by_participant(previous, participants),
            _by_participant(current, participants),
        )
    common = [key for key in current if key in previous]
    tau = kendall_tau_b([previous[k] for k in common], [current[k] for k in common])
    if tau is not None:
        tau = max(-1.0, min(1.0, round(tau, 12))) + 0.0  # + 0.0: no -0.0
    return tau, len(common)


def _by_participant(ranks: dict[str, Any], participants: Mapping[str, str]) -> dict[str, Any]:
    """A snapshot's ``ranks`` keyed by participant (a participant with two rows, which a
    board never has, keeps its better rank)."""
    out: dict[str, Any] = {}
    for key, rank in ranks.items():
        who = participants.get(key, key)
        if who not in out or rank < out[who]:
            out[who] = rank
    return out


def participant_keys(*ranks: dict[str, Any]) -> dict[str, str]:
    """{rank key ("s12"): participant key ("team:3", or "user:7" without a team)} of the
    submissions in these snapshots' ``ranks`` (one query), the same participant a board
    selects one entry per."""
    ids = {int(key[1:]) for r in ranks for key in r if key[1:].isdigit()}
    rows = Submission.objects.filter(pk__in=ids).values_list("pk", "team_id", "creator_id")
    return {
        rank_key(pk): f"team:{team}" if team else f"user:{creator}" for pk, team, creator in rows
    }


def _tau_previous(
    previous: dict[str, Any] | None, current: dict[str, Any]
) -> tuple[float | None, int]:
    """Tau-b against the previous snapshot's ranks, per participant (None, 0 without one)."""
    if previous is None:
        return None, 0
    return tau_between(previous, current, participant_keys(previous, current))


def previous_snapshot(snapshot: LeaderboardSnapshot) -> LeaderboardSnapshot | None:
    """The board's snapshot just before ``snapshot`` (frozen copies are not history)."""
    return (
        _board_history(snapshot.phase_id, snapshot.site_id, snapshot.selection)
        .filter(computed_at__lte=snapshot.computed_at, id__lt=snapshot.pk)
        .order_by("-computed_at", "-id")
        .only("id", "ranks")
        .first()
    )


def complete_snapshot(
    snapshot: LeaderboardSnapshot,
    rows: dict[int, dict[str, Any]],
    *,
    method: str,
    n_bootstrap: int,
    seed: int,
    final_ranks: dict[int, tuple[int, float | None]] | None = None,
) -> None:
    """Add the analysis to a board's snapshot: per submission id ``{"median_rank",
    "rank_low", "rank_high", "tied_with"}`` (``rows``), the final ``(rank, score)`` of a
    per-case method (``final_ranks``), and Kendall's tau-b against the previous snapshot."""
    updated = []
    for row in snapshot.rows:
        row = dict(row)
        extra = rows.get(row["submission"])
        if extra is not None:
            row.update(extra)
        if final_ranks is not None and row["submission"] in final_ranks:
            row["rank"], row["score"] = final_ranks[row["submission"]]
        updated.append(row)
    updated.sort(key=lambda r: (r["rank"], r["submission"]))
    snapshot.rows = updated
    snapshot.ranks = {rank_key(r["submission"]): r["rank"] for r in updated}
    if final_ranks is not None:
        snapshot.ranks_pending = False
    snapshot.intervals_at = timezone.now()
    snapshot.analysis_method = method
    snapshot.n_bootstrap = n_bootstrap
    snapshot.seed = seed
    previous = previous_snapshot(snapshot)
    snapshot.tau_previous, snapshot.n_common_previous = _tau_previous(
        None if previous is None else previous.ranks, snapshot.ranks
    )
    snapshot.save()


def fill_taus(phase: Phase, limit: int = 200) -> int:
    """Kendall's tau-b against the previous snapshot of the same board for the phase's
    snapshots that have none yet (the worker, after its analyses: snapshots superseded before
    their analysis ran are never completed, yet belong to the chain). ``n_common_previous``
    marks a snapshot done (0 for a board's first). Returns how many were filled."""
    todo = list(
        LeaderboardSnapshot.objects.filter(
            phase=phase, frozen_at__isnull=True, n_common_previous__isnull=True
        )
        .order_by("computed_at", "id")
        .only("id", "phase_id", "site_id", "selection", "computed_at", "ranks")[:limit]
    )
    for snapshot in todo:
        previous = previous_snapshot(snapshot)
        tau, common = _tau_previous(None if previous is None else previous.ranks, snapshot.ranks)
        LeaderboardSnapshot.objects.filter(pk=snapshot.pk, frozen_at__isnull=True).update(
            tau_previous=tau, n_common_previous=common
        )
    return len(todo)


# --------------------------------------------------------------------------------------------
# Reading


def _board_history_all(phase_id: int, selection: str):
    """Every board's history of a phase (frozen copies are not history)."""
    return LeaderboardSnapshot.objects.filter(
        phase_id=phase_id, selection=selection, frozen_at__isnull=True
    )


def _board_history(phase_id: int, site_id: int | None, selection: str):
    return LeaderboardSnapshot.objects.filter(
        phase_id=phase_id, site_id=site_id, selection=selection, frozen_at__isnull=True
    )


def _scope(phase: Phase, site: Scope | Site | str | None) -> Scope:
    return scope_for(phase, site)


def snapshots(
    phase: Phase,
    site: Scope | Site | str | None = None,
    *,
    selection: str | None = None,
    limit: int | None = None,
) -> list[LeaderboardSnapshot]:
    """A board's snapshots, newest first (``limit`` of them), without their rows (``ranks``
    is there); frozen boards are listed by ``frozen_boards``. UnknownSite for a site the
    phase has no board for."""
    scope = _scope(phase, site)
    queryset = (
        _board_history(
            phase.pk, scope.site.pk if scope.site else None, selection or phase.entry_selection
        )
        .select_related("site")
        .defer("rows")
        .order_by("-computed_at", "-id")
    )
    if limit is not None:
        queryset = queryset[:limit]
    return list(queryset)


def snapshot_as_of(
    phase: Phase,
    site: Scope | Site | str | None,
    when: datetime,
    *,
    selection: str | None = None,
) -> LeaderboardSnapshot:
    """The board as the last recompute at or before ``when`` left it (with the analysis the
    worker added to that snapshot, if any); NoSnapshot before the first one."""
    scope = _scope(phase, site)
    snapshot = (
        _board_history(
            phase.pk, scope.site.pk if scope.site else None, selection or phase.entry_selection
        )
        .filter(computed_at__lte=when)
        .select_related("site")
        .order_by("-computed_at", "-id")
        .first()
    )
    if snapshot is None:
        first = (
            _board_history(
                phase.pk, scope.site.pk if scope.site else None, selection or phase.entry_selection
            )
            .order_by("computed_at", "id")
            .values_list("computed_at", flat=True)
            .first()
        )
        since = f"; the first is from {first.isoformat()}" if first else "; there are none yet"
        raise NoSnapshot(f"no snapshot of this board at or before {when.isoformat()}{since}")
    return snapshot


def rank_history(
    submission: Submission, site: Scope | Site | str | None = None
) -> list[dict[str, Any]]:
    """One submission's rank on a board over time (oldest first): every snapshot of the
    phase's board (current entry selection) that has it, ``{"snapshot", "computed_at",
    "rank", "n_entries", "ranks_pending", "ranking_method", "truth_version",
    "tau_previous"}``. Read in the database (one query, the rank by key)."""
    phase = submission.phase
    scope = _scope(phase, site)
    key = rank_key(submission.pk)
    queryset = (
        _board_history(phase.pk, scope.site.pk if scope.site else None, phase.entry_selection)
        .filter(ranks__has_key=key)
        .annotate(entry_rank=KeyTransform(key, "ranks"))
        .order_by("computed_at", "id")
        .values(
            "id",
            "computed_at",
            "entry_rank",
            "ranks_pending",
            "ranking_method",
            "truth_version",
            "tau_previous",
        )
    )
    return [
        {
            "snapshot": row["id"],
            "computed_at": row["computed_at"].isoformat(),
            "rank": row["entry_rank"],
            "ranks_pending": row["ranks_pending"],
            "ranking_method": row["ranking_method"],
            "truth_version": row["truth_version"],
            "tau_previous": row["tau_previous"],
        }
        for row in queryset
    ]


def frozen_boards(phase: Phase) -> list[LeaderboardSnapshot]:
    """The phase's frozen boards, newest first (without their rows)."""
    return list(
        LeaderboardSnapshot.objects.filter(phase=phase, frozen_at__isnull=False)
        .select_related("site")
        .defer("rows", "analysis")
        .order_by("-frozen_at", "-id")
    )


def frozen_board(slug_or_id: str | int) -> LeaderboardSnapshot:
    """A frozen board by its slug or id (its permalink); NoSnapshot otherwise."""
    queryset = LeaderboardSnapshot.objects.filter(frozen_at__isnull=False).select_related(
        "phase__challenge", "site"
    )
    text = str(slug_or_id)
    found = (
        queryset.filter(pk=int(text)).first()
        if text.isascii() and text.isdigit() and len(text) <= 18
        else queryset.filter(slug=text).first()
    )
    if found is None:
        raise NoSnapshot(f"no frozen board {text!r}")
    return found


def _names(submission_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """{submission id: (participant, method name)} in one query."""
    subs = Submission.objects.filter(pk__in=list(submission_ids)).select_related("team", "creator")
    return {s.pk: (s.participant_name, s.method_name) for s in subs}


def snapshot_board(snapshot: LeaderboardSnapshot) -> dict[str, Any]:
    """A snapshot in the board API's shape: metadata, then ``rows`` (the stored ones, with
    ``participant`` and ``method_name``: frozen boards keep theirs, others are read now)."""
    rows = [dict(INTERVAL_FIELDS) | r for r in snapshot.rows]
    if not snapshot.is_frozen:
        names = _names(r["submission"] for r in rows)
        for row in rows:
            row["participant"], row["method_name"] = names.get(row["submission"], ("", ""))
    return {**snapshot_meta(snapshot), "rows": rows}


def snapshot_meta(snapshot: LeaderboardSnapshot) -> dict[str, Any]:
    """Everything about a snapshot except its rows (the snapshots list gives this)."""
    meta = {
        "id": snapshot.pk,
        "phase": snapshot.phase_id,
        "site": snapshot.site.name if snapshot.site_id else "all",
        "selection": snapshot.selection,
        "computed_at": snapshot.computed_at.isoformat(),
        "truth_version": snapshot.truth_version,
        "evaluator_version": snapshot.evaluator_version,
        "ranking_method": snapshot.ranking_method,
        "ranking_signature": snapshot.ranking_signature,
        "ranking_metrics": snapshot.ranking_metrics,
        "ranks_pending": snapshot.ranks_pending,
        "intervals": None
        if snapshot.intervals_at is None
        else {
            "added_at": snapshot.intervals_at.isoformat(),
            "method": snapshot.analysis_method,
            "n_bootstrap": snapshot.n_bootstrap,
            "seed": snapshot.seed,
        },
        "n_entries": len(snapshot.ranks),
        "tau_previous": snapshot.tau_previous,
        "n_common_previous": snapshot.n_common_previous,
        "frozen": snapshot.is_frozen,
    }
    if snapshot.is_frozen:
        meta |= {
            "slug": snapshot.slug,
            "title": snapshot.title,
            "frozen_at": snapshot.frozen_at.isoformat(),
            "frozen_by": snapshot.frozen_by,
            "frozen_from": snapshot.frozen_from,
            "checksum": snapshot.checksum,
        }
    return meta


# --------------------------------------------------------------------------------------------
# Freezing


def canonical_content(snapshot: LeaderboardSnapshot) -> dict[str, Any]:
    """What a frozen board's checksum covers: the board (phase, challenge, site, ranking,
    versions, time), its rows and its analysis (None when none matched when it was frozen)."""
    phase = snapshot.phase
    return {
        "rows_version": ROWS_VERSION,
        "challenge": phase.challenge.slug,
        "phase": phase.slug,
        "phase_id": phase.pk,
        "site": snapshot.site.name if snapshot.site_id else "all",
        "selection": snapshot.selection,
        "computed_at": snapshot.computed_at.isoformat(),
        "truth_version": snapshot.truth_version,
        "evaluator_version": snapshot.evaluator_version,
        "ranking_method": snapshot.ranking_method,
        "ranking_signature": snapshot.ranking_signature,
        "ranking_metrics": snapshot.ranking_metrics,
        "ranks_pending": snapshot.ranks_pending,
        "title": snapshot.title,
        "rows": snapshot.rows,
        "analysis": snapshot.analysis,
    }


def canonical_json(content: Any) -> bytes:
    """The bytes a checksum is taken of: JSON, keys sorted, no spaces, UTF-8."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def checksum(content: Any) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def verify(snapshot: LeaderboardSnapshot) -> bool:
    """Whether a frozen board's stored content still hashes to its checksum."""
    return bool(snapshot.checksum) and checksum(canonical_content(snapshot)) == snapshot.checksum


@dataclass(frozen=True)
class FreezeRefused(Exception):
    """Why a board cannot be frozen now (the message says)."""

    message: str

    def __str__(self) -> str:
        return self.message


class AnalysisPending(FreezeRefused):
    """The board's statistics (its analysis, or a per-case method's ranks) are still being
    computed: freezing now would fix a board without them, for good (API: 409)."""


#: Why a board whose analysis is pending or outdated is not frozen.
ANALYSIS_PENDING = (
    "The statistics for this board are being computed; freeze when they are current "
    "(the worker stores them shortly after each recompute)."
)


def _unique_slug(base: str) -> str:
    slug, n = base[:180], 1
    while LeaderboardSnapshot.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base[:180]}-{n}"
    return slug


def freeze(
    phase: Phase,
    site: Scope | Site | str | None = None,
    *,
    by: str = "",
    title: str = "",
) -> LeaderboardSnapshot:
    """Freeze a board: copy its newest snapshot (rows with names, and the stored analysis
    when it matches that snapshot) into a new frozen, checksummed snapshot with a slug.
    FreezeRefused while the board has no snapshot; AnalysisPending (a FreezeRefused) while its
    analysis of exactly that content, or a per-case method's ranks, are not stored yet."""
    scope = _scope(phase, site)
    with transaction.atomic():
        latest = (
            _board_history(phase.pk, scope.site.pk if scope.site else None, phase.entry_selection)
            .select_for_update()
            .order_by("-computed_at", "-id")
            .first()
        )
        if latest is None:
            raise FreezeRefused("This board has no snapshot yet: score a submission first.")
        stored = (
            BoardAnalysis.objects.filter(
                phase=phase,
                site=scope.site,
                selection=latest.selection,
                board_key=latest.board_key,
            )
            .order_by("-computed_at", "-id")
            .first()
        )
        # No analysis of exactly this board yet (or its per-case ranks not written): a
        # frozen board always carries its statistics. A stored analysis without a payload
        # (a board too large or without cases; its note says so) is all there will be.
        if latest.ranks_pending or stored is None:
            raise AnalysisPending(ANALYSIS_PENDING)
        rows = [dict(INTERVAL_FIELDS) | r for r in latest.rows]
        names = _names(r["submission"] for r in rows)
        for row in rows:
            row["participant"], row["method_name"] = names.get(row["submission"], ("", ""))
        now = timezone.now()
        scope_name = scope.site_name or "all"
        base = slugify(f"{phase.challenge.slug}-{phase.slug}-{scope_name}-final") or "final"
        frozen = LeaderboardSnapshot(
            phase=phase,
            site=scope.site,
            selection=latest.selection,
            computed_at=latest.computed_at,
            truth_version=latest.truth_version,
            evaluator_version=latest.evaluator_version,
            ranking_method=latest.ranking_method,
            ranking_signature=latest.ranking_signature,
            ranking_metrics=latest.ranking_metrics,
            board_key=latest.board_key,
            ranks_pending=False,
            rows=rows,
            ranks=latest.ranks,
            intervals_at=latest.intervals_at,
            analysis_method=latest.analysis_method,
            n_bootstrap=latest.n_bootstrap,
            seed=latest.seed,
            tau_previous=latest.tau_previous,
            n_common_previous=latest.n_common_previous,
            frozen_from=latest.pk,
            frozen_by=by[:150],
            slug=_unique_slug(base),
            title=(title or f"Final leaderboard: {phase} ({scope_name})")[:200],
            analysis=stored.payload,
        )
        frozen.checksum = checksum(canonical_content(frozen))
        frozen.frozen_at = now
        frozen.save()
    return frozen
