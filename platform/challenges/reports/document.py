"""The challenge report of one phase: one self-contained HTML document from stored data.

``build_report(phase)`` gathers what the report says, all of it stored already: the phase's
configuration (written out as the assessment method, ``method.py``), every board's stored
analysis (all cases, then each site: tables and plots, ``boards.py``/``plots.py``), the
participation counts, the BIAS items covered, and a reproducibility manifest (evaluator and
library versions, truth-set hash, seeds, bootstrap size, the boards' keys). Nothing is
computed statistically here; plots are laid out from the stored numbers.

``render_html(report)`` renders it with the package's own template (``templates/``) through
a standalone Django template engine (autoescaping on): one HTML file with its styles inline,
the plots inline as SVG and no script, so it opens offline, prints, and can be turned into
PDF by ``pdf.html_to_pdf``.
"""

from __future__ import annotations

import importlib.metadata
import platform as python_platform
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db.models import Count
from django.template import Context, Engine
from django.utils import timezone

from challenges.leaderboards import phase_table
from challenges.leaderboards.history import frozen_boards
from challenges.leaderboards.ranking import MEAN_RANK
from challenges.leaderboards.scopes import board_scopes
from challenges.models import Case, Phase, Submission
from challenges.reports.boards import BoardView, phase_views, sites_figure
from challenges.reports.method import BIAS_ITEMS, BiasItem, Method, assessment_method
from challenges.reports.plots import Figure
from evaluator import __version__ as EVALUATOR_VERSION

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Libraries whose versions the manifest lists (the statistics and the site).
LIBRARIES = ("numpy", "scipy", "Django", "djangorestframework", "celery", "psycopg")

_engine: Engine | None = None


def engine() -> Engine:
    """The report's template engine (built once): the package's templates, autoescaped."""
    global _engine
    if _engine is None:
        _engine = Engine(dirs=[str(TEMPLATES)], autoescape=True, debug=False)
    return _engine


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@dataclass
class Report:
    """What the report shows, in its order."""

    challenge: str
    phase: str
    generated_at: datetime
    selection: str
    summary: list[tuple[str, str]]
    sites: list[tuple[str, int]]
    boards: list[BoardView]
    sites_figure: Figure | None
    method: Method
    bias: list[BiasItem]
    manifest: list[tuple[str, str]]
    board_manifest: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    metric_tables: list[dict[str, Any]] = field(default_factory=list)
    frozen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.challenge}: {self.phase}"

    @property
    def all_current(self) -> bool:
        return bool(self.boards) and all(b.state == "current" for b in self.boards)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "–"


def _period(phase: Phase) -> str:
    if phase.opens_at is None and phase.closes_at is None:
        return "always (no opening or closing date set)"
    start = _when(phase.opens_at) if phase.opens_at else "the start"
    end = _when(phase.closes_at) if phase.closes_at else "no closing date"
    return f"from {start} to {end}"


def _summary(phase: Phase) -> tuple[list[tuple[str, str]], list[tuple[str, int]]]:
    """Phase facts and participation (a few counting queries), and cases per site."""
    submissions = Submission.objects.filter(phase=phase)
    scored = submissions.filter(status=Submission.Status.DONE, disqualified=False)
    teams = scored.exclude(team=None).values("team").distinct().count()
    solo = scored.filter(team=None).values("creator").distinct().count()
    sites = list(
        Case.objects.filter(phase=phase)
        .values_list("site__name")
        .annotate(n=Count("id"))
        .order_by("site__name")
    )
    facts = [
        ("Challenge", phase.challenge.title),
        ("Phase", f"{phase.title} ({phase.challenge.slug}/{phase.slug})"),
        ("Open", _period(phase)),
        ("Leaderboard", phase.get_leaderboard_visibility_display()),
        ("Test cases", f"{sum(n for _, n in sites)} from {len(sites)} acquisition site(s)"),
        ("Participants with a scored submission", str(teams + solo)),
        ("Scored submissions", f"{scored.count()} (of {submissions.count()} received)"),
        ("Disqualified submissions", str(submissions.filter(disqualified=True).count())),
    ]
    return facts, [(name or "(no site)", n) for name, n in sites]


def _manifest(phase: Phase, boards: list[BoardView]) -> tuple[list[tuple[str, str]], list[dict]]:
    stored = [b.stored for b in boards if b.stored]
    evaluators = sorted({s.get("evaluator_version") or "" for s in stored} - {""})
    truths = sorted({s.get("truth_version") or "" for s in stored} - {""})
    seeds = sorted({str(s.get("seed")) for s in stored})
    samples = sorted({str(s.get("n_bootstrap")) for s in stored})
    schema = sorted({str((s.get("analysis") or {}).get("schema_version")) for s in stored})
    truth_line = phase.truth_version or "no truth set loaded"
    if truths and truths != [phase.truth_version]:
        truth_line += f" (analyses computed against: {', '.join(truths)})"
    manifest = [
        ("Platform", "fetalbench (this site), evaluator " + EVALUATOR_VERSION),
        ("Evaluator version(s) of the analysed evaluations", ", ".join(evaluators) or "–"),
        ("Truth-set hash (SHA-256 of cases.csv and every label and image)", truth_line),
        ("Bootstrap seed", ", ".join(seeds) or "–"),
        ("Bootstrap resamples", ", ".join(samples) or "–"),
        ("Analysis layout (schema version)", ", ".join(schema) or "–"),
        (
            "Python",
            f"{python_platform.python_version()} ({python_platform.python_implementation()})",
        ),
        *((name, _version(name)) for name in LIBRARIES),
    ]
    per_board = [
        {
            "name": b.name,
            "state": b.state,
            "computed_at": _when(b.computed_at),
            "board_key": (b.stored or {}).get("board_key", ""),
            "ranking_method": (b.stored or {}).get("ranking_method", ""),
            "ranking_signature": (b.stored or {}).get("ranking_signature", ""),
            "seconds": (b.stored or {}).get("seconds"),
            "entries": len((b.payload or {}).get("entries") or []),
            "cases": b.n_cases,
        }
        for b in boards
    ]
    return manifest, per_board


def _strategy(sub: Submission) -> str:
    """The entry's fine-tuning strategy; "not stated" when the team chose none (the form's
    and the API's blank are stored as "other")."""
    if sub.fine_tuning_strategy in ("", Submission.Strategy.OTHER):
        return "not stated"
    return sub.get_fine_tuning_strategy_display()


def _count(value: int | None) -> str:
    """24436369 -> "24.4M" (parameter counts compare by order of magnitude)."""
    if value is None:
        return "–"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return str(value)


def _entries(boards: list[BoardView]) -> list[dict[str, Any]]:
    """The all-cases board's entries as their teams described them (one query), in rank
    order: what the report can say of the participating methods."""
    first = next((b for b in boards if b.site is None and b.payload), None)
    if first is None:
        return []
    ids = [row.entry for row in first.rows]
    subs = Submission.objects.filter(pk__in=ids).select_related("team", "creator")
    by_id = {s.pk: s for s in subs}
    out = []
    for row in first.rows:
        sub = by_id.get(row.entry)
        if sub is None:
            continue
        out.append(
            {
                "rank": row.rank,
                "submission": sub.pk,
                "team": sub.participant_name,
                "method": sub.method_name or "–",
                "kind": sub.get_kind_display(),
                "backbone": sub.backbone or "–",
                "strategy": _strategy(sub),
                "params": _count(sub.params_total),
                "submitted": _when(sub.created_at),
                "paper_url": sub.paper_url,
                "code_url": sub.code_url,
            }
        )
    return out


def _task_paths(phase: Phase) -> list[str]:
    """The task's own ranking metrics (its headline metrics, e.g. Dice, HD95 and the HC
    error for HC18), which the report tabulates even where the phase ranks by fewer."""
    try:
        task = phase.challenge.get_task()
    except Exception:  # noqa: BLE001 - an unknown task: the phase's ranking metrics only
        return []
    return [spec.path for spec in task.ranking]


def _metric_use(phase: Phase, column: Any, first: bool) -> str:
    """What a tabulated metric does to the order: the ranking itself, or nothing (shown)."""
    if not column.ranking:
        return "reported only"
    if phase.ranking_method == MEAN_RANK:
        return "ranked (one of the mean-rank metrics)"
    if first:
        return "ranked (primary metric)"
    return "shown only"


def _metric_tables(phase: Phase) -> list[dict[str, Any]]:
    """Per board (all cases, then each site): every ranking metric of the phase and the
    task's headline metrics, each entry's mean with its 95% bootstrap CI, in rank order,
    from the board's stored rows (one board read each)."""
    headline = set(_task_paths(phase))
    out = []
    for scope in board_scopes(phase):
        table = phase_table(phase, scope)
        if not table.rows:
            continue
        columns = [c for c in table.columns if c.ranking or c.key in headline]
        first_ranking = next((c.key for c in columns if c.ranking), None)
        metrics = [
            {
                "key": c.key,
                "label": c.label,
                "arrow": c.spec.arrow,
                "use": _metric_use(phase, c, c.key == first_ranking),
            }
            for c in columns
        ]
        rows = []
        for row in table.rows:
            cells = []
            for c in columns:
                stats = row.values.get(c.key) or {}
                mean, low, high = (stats.get(k) for k in ("mean", "ci95_low", "ci95_high"))
                cells.append(
                    {
                        "mean": "–" if mean is None else f"{mean:.4g}",
                        "ci": "" if low is None or high is None else f"[{low:.4g}, {high:.4g}]",
                    }
                )
            label = f"{row.participant} · {row.method_name}" if row.method_name else row.participant
            rows.append({"rank": row.rank, "label": label, "cells": cells})
        out.append({"name": scope.site_name or "All cases", "metrics": metrics, "rows": rows})
    return out


def _frozen(phase: Phase, base_url: str = "") -> list[dict[str, Any]]:
    """The phase's frozen final boards: title, board, when, checksum and permalink (absolute
    with ``base_url``, the site's address: the report is read as a file, off the site)."""
    return [
        {
            "title": f.title or "Final board",
            "board": f.site.name if f.site_id else "All cases",
            "frozen_at": _when(f.frozen_at),
            "checksum": f.checksum,
            "permalink": f"{base_url.rstrip('/')}/boards/{f.slug or f.pk}/",
        }
        for f in frozen_boards(phase)
    ]


def build_report(
    phase: Phase, selection: str | None = None, *, redact: bool = False, base_url: str = ""
) -> Report:
    """The report of ``phase`` (the analyses of ``selection``, default the phase's entry
    selection), from stored data only; ``redact``: for a reader who may not see other teams'
    per-case results (``analyses.may_see_case_results``), from the analyses' redacted copies."""
    selection = selection or phase.entry_selection
    boards = phase_views(phase, selection, redact=redact)
    summary, sites = _summary(phase)
    first = boards[0].payload if boards and boards[0].site is None else None
    manifest, per_board = _manifest(phase, boards)
    return Report(
        challenge=phase.challenge.title,
        phase=phase.title,
        generated_at=timezone.now(),
        selection=selection,
        summary=summary,
        sites=sites,
        boards=boards,
        sites_figure=sites_figure(boards) if len(boards) > 1 else None,
        method=assessment_method(phase, first),
        bias=list(BIAS_ITEMS),
        manifest=manifest,
        board_manifest=per_board,
        entries=_entries(boards),
        metric_tables=_metric_tables(phase),
        frozen=_frozen(phase, base_url),
    )


def render_html(report: Report) -> str:
    """The report as one HTML document (styles inline, plots inline SVG, no script)."""
    template = engine().get_template("challenge_report.html")
    return template.render(
        Context({"report": report, "generated": _when(report.generated_at)}, autoescape=True)
    )
