"""Every scored submission as its own leaderboard row (`?entries=all`).

The materialised leaderboard keeps one row per participant (its best or latest entry, as the
phase says), which is what a competition ranks. Comparing strategies needs every entry: one
team (e.g. `reference_models reproduce` with one token) submits one model per fine-tuning
strategy, and only its best would show. This view ranks all current, non-disqualified scored
submissions among each other, read straight from their evaluations' aggregates (one query,
no materialised rows to keep in step). Organisers may also ask for the disqualified ones,
listed after the ranked rows without a rank and marked, so they can see what they removed.
It comes in the same `LeaderboardTable` shape as the default
board, so pages, plots, the API and the CSV/JSON exports render it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models.fields.json import KeyTransform

from challenges.leaderboards import (
    ALL,
    LeaderboardTable,
    Row,
    _columns,
    _flat,
    _scope_values,
    leaderboard_table,
    rank_rows,
    ranking_criteria,
)
from challenges.models import Evaluation, Phase, Site, Submission

#: `entries` query values: "" (or absent) = one row per participant, "all" = every entry.
ENTRIES_ALL = "all"
ENTRIES_CHOICES = ("", ENTRIES_ALL)


class EntriesError(ValueError):
    """An `entries` value the leaderboard does not know; the message lists the choices."""


def wants_all_entries(value: str | None) -> bool:
    """Whether an `entries` query parameter asks for every entry; unknown values are refused
    rather than silently showing the default board under a misspelt option."""
    value = (value or "").strip()
    if value not in ENTRIES_CHOICES:
        raise EntriesError(
            f"unknown entries={value!r}: use entries=all for every scored submission, or leave "
            "it out for one row per participant"
        )
    return value == ENTRIES_ALL


@dataclass
class _Scored:
    """One evaluation's values in one scope, shaped like a `LeaderboardEntry` for `_columns`."""

    submission: Submission
    values: dict[str, dict[str, dict]]


def all_entries_table(
    phase: Phase, site: Site | str | None = None, *, include_disqualified: bool = False
) -> LeaderboardTable:
    """Every scored submission of ``phase`` ranked for all cases (site None) or one site.

    Ranks are competition ranks over all entries (a team can hold several); a submission with
    no value in the scope ranks last, as on the default board. `entry_selection` is "all".
    With ``include_disqualified`` (organisers only), disqualified submissions follow the
    ranked rows with rank None and ``disqualified`` set: shown, never ranked.
    """
    site_name = None if site is None or site == ALL else getattr(site, "name", str(site))
    scope = site_name or ALL
    criteria = ranking_criteria(phase)
    evaluations = (
        Evaluation.objects.filter(
            is_current=True,
            submission__phase=phase,
            submission__status=Submission.Status.DONE,
        )
        .select_related("submission__team", "submission__creator")
        .annotate(scope_values=KeyTransform(scope, KeyTransform("aggregates", "results")))
        .defer("results")
    )
    if not include_disqualified:
        evaluations = evaluations.filter(submission__disqualified=False)
    every = [
        _Scored(e.submission, _scope_values({scope: e.scope_values or {}}, scope))
        for e in evaluations
    ]
    scored = [s for s in every if not s.submission.disqualified]
    removed = sorted(
        (s for s in every if s.submission.disqualified),
        key=lambda s: (s.submission.created_at, s.submission.pk),
    )
    ranked = rank_rows([_flat(s.values, criteria) for s in scored], criteria, phase.ranking_method)
    order = sorted(
        range(len(scored)),
        key=lambda i: (ranked[i][0], scored[i].submission.created_at, scored[i].submission.pk),
    )
    rows = [_row(scored[i], *ranked[i]) for i in order]
    rows += [_row(s, None, None) for s in removed]
    columns = _columns(phase, [scored[i] for i in order] + removed)  # type: ignore[arg-type]
    return LeaderboardTable(phase.pk, site_name, phase.ranking_method, ENTRIES_ALL, columns, rows)


def _row(scored: _Scored, rank: int | None, score: Any) -> Row:
    sub = scored.submission
    return Row(
        rank=rank,
        score=score,
        submission_id=sub.pk,
        participant=sub.participant_name,
        method_name=sub.method_name,
        backbone=sub.backbone,
        fine_tuning_strategy=sub.fine_tuning_strategy,
        params_total=sub.params_total,
        params_trainable=sub.params_trainable,
        params_source=sub.params_source,
        created_at=sub.created_at,
        flops=sub.flops,
        latency_ms=sub.latency_ms,
        disqualified=sub.disqualified,
        values={
            f"{cls}.{metric}": stats
            for cls, metrics in scored.values.items()
            for metric, stats in metrics.items()
        },
    )


def phase_table(
    phase: Phase,
    site: Site | str | None = None,
    *,
    all_entries: bool = False,
    include_disqualified: bool = False,
) -> LeaderboardTable:
    """The board the pages and the API show: materialised (default) or every entry (with the
    disqualified ones too when an organiser asks)."""
    if all_entries:
        return all_entries_table(phase, site, include_disqualified=include_disqualified)
    return leaderboard_table(phase, site)
