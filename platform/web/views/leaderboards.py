"""Leaderboard tables (all cases and per site) and the score-vs-parameters Pareto plot.

Both read the materialised rows through `leaderboard_table`, the same table the API and the
CSV/JSON exports render, so the page, the plot and a download always agree. `?entries=all`
shows every scored submission as its own row instead (`challenges.leaderboards.all_entries_table`):
the view a strategy comparison needs, where one team submitted one model per strategy.

Which columns show (`cols`), the Pareto plot's x-axis (`x`) and metric (`metric`) live in the
URL next to `site` and `entries`, so a link shows what its sender saw. A board whose rows were
built by an earlier ranking says so; organisers get a button that re-ranks it in the request
itself (the fix when no worker is running).
"""

from __future__ import annotations

from urllib.parse import urlencode

from challenges import leaderboards as boards
from challenges.leaderboards import (
    ENTRIES_ALL,
    EntriesError,
    LeaderboardTable,
    Scope,
    UnknownSite,
    phase_sites,
    phase_table,
    scope_for,
    wants_all_entries,
)
from challenges.leaderboards.history import frozen_boards
from challenges.models import Phase, Submission
from challenges.permissions import can_view_leaderboard, is_organiser
from django.contrib import messages
from django.core.exceptions import BadRequest
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from web.board_columns import PER_CASE_SCORES, board_columns

#: Pareto x-axes: Row attribute -> words for the select and the axis title.
X_AXES = {
    "params_total": "Total parameters",
    "params_trainable": "Trainable parameters",
    "flops": "FLOPs per image",
    "latency_ms": "Latency per image (ms)",
}

#: Shown by default; the other metric columns appear with "show all metrics".
DEFAULT_METRICS = {"dice", "hd", "hd95", "assd", "hc_abs_diff_mm"}


#: Ranking methods whose ranks come from the worker's per-case analysis, not the recompute.
PER_CASE_METHODS = (Phase.RankingMethod.RANK_THEN_AGGREGATE, Phase.RankingMethod.TEST_THEN_RANK)


def phase_and_scope(request: HttpRequest, pk: int) -> tuple[Phase, list[str], Scope]:
    """The phase, the names of its sites with cases (the page's tabs) and the board the
    query's `site` names (``scope_for``, as the API: all cases or a site of the challenge;
    404 for any other name)."""
    phase = get_object_or_404(Phase.objects.select_related("challenge"), pk=pk)
    if not can_view_leaderboard(request.user, phase):
        raise Http404("This leaderboard is not public.")
    sites = phase_sites(phase)
    try:
        scope = scope_for(phase, request.GET.get("site"), sites=sites)
    except UnknownSite:
        raise Http404("No such site in this challenge.") from None
    return phase, [s.name for s in sites], scope


def all_entries_param(request: HttpRequest) -> bool:
    try:
        return wants_all_entries(request.GET.get("entries"))
    except EntriesError as exc:
        raise BadRequest(str(exc)) from None


def board_query(site: str | None, all_entries: bool) -> str:
    """The query string that keeps the page's site and entries choice across links."""
    params = {"site": site} if site else {}
    if all_entries:
        params["entries"] = ENTRIES_ALL
    return "?" + urlencode(params) if params else ""


def _export_links(phase: Phase, site: str | None, all_entries: bool) -> dict[str, str]:
    query = board_query(site, all_entries)
    return {
        "csv": reverse("api-leaderboard-csv", args=[phase.pk]) + query,
        "json": reverse("api-leaderboard-json", args=[phase.pk]) + query,
    }


def entries_context(site: str | None, all_entries: bool) -> dict:
    """Links for the site tabs, the cross-page link and the one-row/every-entry toggle."""
    return {
        "all_entries": all_entries,
        "entries_query": "&entries=all" if all_entries else "",
        "page_query": board_query(site, all_entries),
        "toggle_query": board_query(site, not all_entries),
    }


def tie_words(table: LeaderboardTable) -> dict[int, str]:
    """Per row (submission id) that is statistically tied with others, the tooltip naming
    them ("team · method"), from the rows' stored ``tied_with``: rendered, never computed."""
    names = {r.submission_id: entry_label(r.participant, r.method_name) for r in table.rows}
    return {
        row.submission_id: "Statistically tied with "
        + "; ".join(names.get(t, f"submission {t}") for t in row.tied_with)
        + ": their 95% rank intervals overlap and no test separates them."
        for row in table.rows
        if row.tied_with
    }


def entry_label(participant: str, method: str) -> str:
    return f"{participant} · {method}" if method else participant


def leaderboard(request: HttpRequest, pk: int) -> HttpResponse:
    all_entries = all_entries_param(request)
    phase, sites, scope = phase_and_scope(request, pk)
    site = scope.site_name
    organiser = is_organiser(request.user, phase.challenge)
    table = phase_table(
        phase, scope, all_entries=all_entries, include_disqualified=all_entries and organiser
    )
    return render(
        request,
        "web/leaderboard.html",
        {
            "phase": phase,
            "challenge": phase.challenge,
            "sites": sites,
            "site": site,
            "table": table,
            "organiser": organiser,
            "board_columns": board_columns(table, DEFAULT_METRICS),
            "exports": _export_links(phase, site, all_entries),
            "frozen": frozen_boards(phase),
            "ties": tie_words(table),
            "openable": openable_submissions(request.user, phase, organiser),
            "refresh_api": _refresh_api(phase, site, table, all_entries),
            "score_label": getattr(PER_CASE_SCORES.get(phase.ranking_method), "label", "score"),
            **entries_context(site, all_entries),
        },
    )


def openable_submissions(user, phase: Phase, organiser: bool) -> set[int] | None:
    """The submissions whose pages ``user`` may open from the board (None: every one, for
    organisers): a participant's own team's and their own; other teams' pages are 404 for
    them, so their method names are not links."""
    if organiser:
        return None
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(
        Submission.objects.filter(phase=phase)
        .filter(Q(creator=user) | Q(team__members=user))
        .values_list("pk", flat=True)
    )


def _refresh_api(
    phase: Phase, site: str | None, table: LeaderboardTable, all_entries: bool
) -> str | None:
    """The board API the page polls while the worker still has to rank it or compute its
    statistics (board_refresh.js reloads the page when the board there differs); None when
    there is nothing to wait for."""
    waiting = table.stale or table.analysis.get("status") in ("pending", "updating")
    if all_entries or not table.rows or not waiting:
        return None
    if site:
        return reverse("api-leaderboard-site", args=[phase.pk, site])
    return reverse("api-leaderboard", args=[phase.pk])


@require_POST
def recompute(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-rank the board now, in this request: what an organiser needs when the board says
    it is stale because no worker has run the queued recompute. Organisers only."""
    phase = get_object_or_404(Phase.objects.select_related("challenge"), pk=pk)
    if not is_organiser(request.user, phase.challenge):
        raise Http404
    rows = boards.recompute(phase)
    if phase.ranking_method in PER_CASE_METHODS:
        # The rows are in the provisional mean order until the worker's analysis ranks them.
        messages.success(
            request,
            f"Re-rank queued ({rows} rows): the worker computes the "
            f"{phase.get_ranking_method_display().lower()} ranks and the statistics; the "
            "board shows the mean order meanwhile and refreshes itself.",
        )
    else:
        messages.success(
            request, f"Leaderboard re-ranked ({rows} rows); statistics being computed."
        )
    site = request.POST.get("site") or None
    all_entries = request.POST.get("entries") == ENTRIES_ALL
    target = reverse("web:leaderboard", args=[phase.pk]) + board_query(site, all_entries)
    return HttpResponseRedirect(target)


def pareto(request: HttpRequest, pk: int) -> HttpResponse:
    all_entries = all_entries_param(request)
    phase, sites, scope = phase_and_scope(request, pk)
    site = scope.site_name
    table = phase_table(phase, scope, all_entries=all_entries)
    data = table.as_dict()
    primary = next((c for c in table.columns if c.ranking), None)
    metric = request.GET.get("metric") or ""
    if metric not in {c.key for c in table.columns}:
        metric = primary.key if primary else ""
    x_axis = request.GET.get("x") or "params_total"
    if x_axis not in X_AXES:
        raise BadRequest(f"unknown x={x_axis!r}: choose one of {', '.join(X_AXES)}")
    return render(
        request,
        "web/pareto.html",
        {
            "phase": phase,
            "challenge": phase.challenge,
            "sites": sites,
            "site": site,
            "table": table,
            "x_axes": X_AXES,
            "x_axis": x_axis,
            "plot_data": {
                "columns": data["columns"],
                "rows": data["rows"],
                "default_metric": primary.key if primary else "",
                "metric": metric,
                "x_axis": x_axis,
                "x_axes": X_AXES,
            },
            **entries_context(site, all_entries),
        },
    )
