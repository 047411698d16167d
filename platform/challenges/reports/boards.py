"""One board's stored analysis made ready to show: labels, summary rows, plots, its state.

The statistics page and the challenge report both show a board through ``board_view``: it
reads the stored analysis (``challenges.leaderboards.analyses.stored_analysis``; the worker
computed it, nothing is computed here but layout) and says honestly what it is: ``current``
(matches the board now), ``updating`` (the board changed since; the previous analysis is
shown while the worker computes the next), ``not_analysed`` (the worker stored a note instead,
e.g. a board too large) or ``missing`` (not computed yet).

Entries are labelled "team · method" from the payload's ``entry_info`` (the names when the
analysis was stored); plots and templates escape them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models.fields.json import KeyTransform
from django.utils.dateparse import parse_datetime

from challenges.leaderboards.analyses import phase_analyses, redact_payload, stored_analysis
from challenges.leaderboards.history import rank_history
from challenges.leaderboards.ranking import ALL
from challenges.leaderboards.scopes import Scope, board_scopes
from challenges.models import BoardAnalysis, Phase, Submission
from challenges.reports.plots import (
    LIMIT,
    Figure,
    board_figures,
    case_count,
    history_plot,
    rank_order,
    site_plot,
)

CURRENT = "current"
UPDATING = "updating"
NOT_ANALYSED = "not_analysed"
MISSING = "missing"


def rank_text(value: float | None) -> str:
    """A rank or a rank percentile: "2", "2.5"; "–" for none."""
    if value is None:
        return "–"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def score_text(value: float | None) -> str:
    """A method's score with four significant digits; "–" for none."""
    if value is None:
        return "–"
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def entry_label(info: Mapping[str, Any] | None, entry: object) -> str:
    """ "Team · method" for an entry (its submission id when the payload has no names)."""
    if not info:
        return f"submission {entry}"
    team = str(info.get("team") or "").strip() or f"submission {entry}"
    method = str(info.get("method") or "").strip()
    return f"{team} · {method}" if method else team


def entry_labels(payload: Mapping[str, Any]) -> list[str]:
    """One label per entry, in the payload's entry order."""
    info = payload.get("entry_info") or {}
    return [entry_label(info.get(str(entry)), entry) for entry in payload.get("entries") or []]


@dataclass(frozen=True)
class EntrySummary:
    """One entry's numbers on a board, as the page's table and the report list them."""

    position: int  # 1-based place in the plots' order (rank, then median rank)
    entry: Any  # submission id
    label: str
    rank: int | None
    score: float | None
    median_rank: float | None
    rank_low: float | None
    rank_high: float | None
    wins: int | None
    tied_with: list[str]

    @property
    def has_interval(self) -> bool:
        return self.rank_low is not None and self.rank_high is not None

    @property
    def score_text(self) -> str:
        return score_text(self.score)

    @property
    def median_text(self) -> str:
        return rank_text(self.median_rank)

    @property
    def interval_text(self) -> str:
        """ "1–3" (the 95% rank interval), or "–" without a bootstrap."""
        if not self.has_interval:
            return "–"
        return f"{rank_text(self.rank_low)}–{rank_text(self.rank_high)}"


def summaries(payload: Mapping[str, Any], labels: Sequence[str]) -> list[EntrySummary]:
    """The payload's rows in rank order with labels (tied entries by label)."""
    rows = payload.get("rows") or []
    entries = payload.get("entries") or []
    by_id = {entry: labels[i] for i, entry in enumerate(entries)}
    out = []
    for position, index in enumerate(rank_order(payload)):
        row = rows[index]
        out.append(
            EntrySummary(
                position=position + 1,
                entry=row.get("entry"),
                label=labels[index],
                rank=row.get("rank"),
                score=row.get("score"),
                median_rank=row.get("median_rank"),
                rank_low=row.get("rank_low"),
                rank_high=row.get("rank_high"),
                wins=row.get("wins"),
                tied_with=[by_id.get(t, f"submission {t}") for t in row.get("tied_with") or []],
            )
        )
    return out


@dataclass
class BoardView:
    """One board (all cases or a site) with its stored analysis, ready for a page."""

    name: str  # "All cases" or the site's name
    site: str | None
    stored: dict[str, Any] | None  # stored_analysis(...) (metadata and "analysis")
    labels: list[str] = field(default_factory=list)
    rows: list[EntrySummary] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)

    @property
    def payload(self) -> dict[str, Any] | None:
        return (self.stored or {}).get("analysis")

    @property
    def state(self) -> str:
        if self.stored is None:
            return MISSING
        if self.payload is None:
            return NOT_ANALYSED
        return UPDATING if self.stored.get("updating") else CURRENT

    @property
    def computed_at(self) -> datetime | None:
        text = (self.stored or {}).get("computed_at")
        return parse_datetime(text) if text else None

    @property
    def note(self) -> str:
        return (self.stored or {}).get("note") or ""

    @property
    def method(self) -> dict[str, Any]:
        """The bootstrapped method's name, label and description."""
        payload = self.payload or {}
        return (payload.get("rankings") or {}).get(payload.get("method"), {})

    @property
    def n_cases(self) -> int:
        """Cases analysed (also in a copy redacted of its case ids)."""
        return case_count(self.payload or {})

    @property
    def wins_column(self) -> bool:
        """Whether the table needs a "Significant wins" column: not when the method's own
        score already is the significant wins (test, then rank), which would repeat it."""
        return "wins" not in str(self.method.get("score_label") or "").lower()

    def ranks_by_entry(self) -> dict[Any, float]:
        payload = self.payload or {}
        return {row["entry"]: row["rank"] for row in payload.get("rows") or []}


def view_of(
    stored: dict[str, Any] | None,
    site: str | None,
    *,
    figures: bool = True,
    limit: int = LIMIT,
    redact: bool = False,
) -> BoardView:
    """A board's view from its stored analysis (``stored_analysis(...)``; None: not computed
    yet) for all cases (``site`` None) or one site; with its plots unless ``figures`` is
    false. ``redact``: for a viewer who may not see other teams' per-case results
    (``analyses.may_see_case_results``), the view holds ``redact_payload``'s copy, so
    nothing laid out from it can show a case id or a per-case rank."""
    if redact and stored and stored.get("analysis"):
        stored = {**stored, "analysis": redact_payload(stored["analysis"])}
    view = BoardView(site or "All cases", site, stored)
    payload = view.payload
    if payload:
        view.labels = entry_labels(payload)
        view.rows = summaries(payload, view.labels)
        if figures:
            view.figures = board_figures(payload, view.labels, limit)
    return view


def board_view(
    phase: Phase, scope: Scope, selection: str | None = None, *, figures: bool = True
) -> BoardView:
    """The board of ``scope`` with its stored analysis, read now."""
    return view_of(stored_analysis(phase, scope, selection), scope.site_name, figures=figures)


def phase_views(
    phase: Phase,
    selection: str | None = None,
    *,
    figures: bool = True,
    limit: int = LIMIT,
    redact: bool = False,
) -> list[BoardView]:
    """Every analysed board of the phase (all cases first), from one read per board
    (``redact``: as in ``view_of``)."""
    views = []
    for stored in phase_analyses(phase, selection):
        site = None if stored.get("site") in (None, ALL) else stored["site"]
        views.append(view_of(stored, site, figures=figures, limit=limit, redact=redact))
    return views


def sites_figure(views: Sequence[BoardView], limit: int = LIMIT) -> Figure:
    """The per-site rank comparison from the boards' stored analyses (all cases first)."""
    boards, labels = [], {}
    for view in views:
        if not view.payload:
            continue
        boards.append((view.name, view.ranks_by_entry()))
        for entry, label in zip(view.payload.get("entries") or [], view.labels, strict=False):
            labels.setdefault(entry, label)
    return site_plot(boards, labels, limit)


def phase_sites_figure(
    phase: Phase, selection: str | None = None, limit: int = LIMIT
) -> Figure | None:
    """The per-site rank comparison read straight from the database: only each board's
    newest analysis's rows and names (``payload -> rows``, ``payload -> entry_info``), not
    its matrices, so a page showing one board does not decode every board's analysis. None
    for a phase with a single board."""
    scopes = board_scopes(phase)
    if len(scopes) < 2:
        return None
    views = []
    for scope in scopes:
        found = (
            BoardAnalysis.objects.filter(
                phase=phase, site=scope.site, selection=selection or phase.entry_selection
            )
            .order_by("-computed_at", "-id")
            .annotate(
                rows=KeyTransform("rows", "payload"),
                entries=KeyTransform("entries", "payload"),
                entry_info=KeyTransform("entry_info", "payload"),
            )
            .values("rows", "entries", "entry_info")
            .first()
        )
        if found and found["rows"] is not None:
            view = BoardView(scope.site_name or "All cases", scope.site_name, {"analysis": found})
            view.labels = entry_labels(found)
            views.append(view)
    return sites_figure(views, limit) if len(views) > 1 else None


def entry_history(submission: Submission) -> Figure:
    """A submission's rank over time on each board of its phase (all cases, then each site),
    from the boards' snapshots (one query per board). Snapshots whose ranks still await the
    worker's analysis (a per-case ranking method) are left out: the analysis completes them."""
    series = []
    for scope in board_scopes(submission.phase):
        points = [
            (parse_datetime(h["computed_at"]), h["rank"], None, None)
            for h in rank_history(submission, scope)
            if not h.get("ranks_pending")
        ]
        series.append((scope.site_name or "All cases", points))
    label = entry_label(
        {"team": submission.participant_name, "method": submission.method_name}, submission.pk
    )
    return history_plot(series, label)
