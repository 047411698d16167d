"""Leaderboard tables (all cases and per site) and the score-vs-parameters Pareto plot.

Both read the materialised rows through `leaderboard_table`, the same table the API and the
CSV/JSON exports render, so the page, the plot and a download always agree. `?entries=all`
shows every scored submission as its own row instead (`challenges.leaderboards_all`): the
view a strategy comparison needs, where one team submitted one model per strategy.
"""

from __future__ import annotations

from urllib.parse import urlencode

from challenges.leaderboards_all import EntriesError, phase_table, wants_all_entries
from challenges.models import Phase, Site
from challenges.permissions import can_view_leaderboard
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

#: Shown by default; the other metric columns appear with "show all metrics".
DEFAULT_METRICS = {"dice", "hd", "hd95", "assd", "hc_abs_diff_mm"}


def _phase_and_site(request: HttpRequest, pk: int):
    phase = get_object_or_404(Phase.objects.select_related("challenge"), pk=pk)
    if not can_view_leaderboard(request.user, phase):
        raise Http404("This leaderboard is hidden.")
    sites = list(
        Site.objects.filter(cases__phase=phase)
        .distinct()
        .order_by("name")
        .values_list("name", flat=True)
    )
    site = request.GET.get("site") or None
    if site == "all":
        site = None
    if site is not None and site not in sites:
        raise Http404("No such site in this phase.")
    return phase, sites, site


def _all_entries(request: HttpRequest) -> bool:
    try:
        return wants_all_entries(request.GET.get("entries"))
    except EntriesError as exc:
        raise BadRequest(str(exc)) from None


def _query(site: str | None, all_entries: bool) -> str:
    """The query string that keeps the page's site and entries choice across links."""
    params = {"site": site} if site else {}
    if all_entries:
        params["entries"] = "all"
    return "?" + urlencode(params) if params else ""


def _export_links(phase: Phase, site: str | None, all_entries: bool) -> dict[str, str]:
    query = _query(site, all_entries)
    return {
        "csv": reverse("api-leaderboard-csv", args=[phase.pk]) + query,
        "json": reverse("api-leaderboard-json", args=[phase.pk]) + query,
    }


def _entries_context(site: str | None, all_entries: bool) -> dict:
    """Links for the site tabs, the cross-page link and the one-row/every-entry toggle."""
    return {
        "all_entries": all_entries,
        "entries_query": "&entries=all" if all_entries else "",
        "page_query": _query(site, all_entries),
        "toggle_query": _query(site, not all_entries),
    }


def leaderboard(request: HttpRequest, pk: int) -> HttpResponse:
    all_entries = _all_entries(request)
    phase, sites, site = _phase_and_site(request, pk)
    table = phase_table(phase, site, all_entries=all_entries)
    columns = [
        {"column": c, "extra": not (c.ranking or c.metric in DEFAULT_METRICS)}
        for c in table.columns
    ]
    return render(
        request,
        "web/leaderboard.html",
        {
            "phase": phase,
            "challenge": phase.challenge,
            "sites": sites,
            "site": site,
            "table": table,
            "columns": columns,
            "has_extra": any(c["extra"] for c in columns),
            "exports": _export_links(phase, site, all_entries),
            **_entries_context(site, all_entries),
        },
    )


def pareto(request: HttpRequest, pk: int) -> HttpResponse:
    all_entries = _all_entries(request)
    phase, sites, site = _phase_and_site(request, pk)
    table = phase_table(phase, site, all_entries=all_entries)
    data = table.as_dict()
    primary = next((c for c in table.columns if c.ranking), None)
    return render(
        request,
        "web/pareto.html",
        {
            "phase": phase,
            "challenge": phase.challenge,
            "sites": sites,
            "site": site,
            "table": table,
            "plot_data": {
                "columns": data["columns"],
                "rows": data["rows"],
                "default_metric": primary.key if primary else "",
            },
            **_entries_context(site, all_entries),
        },
    )
