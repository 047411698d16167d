"""Leaderboard tables (all cases and per site) and the score-vs-parameters Pareto plot.

Both read the materialised rows through `leaderboard_table`, the same table the API and the
CSV/JSON exports render, so the page, the plot and a download always agree.
"""

from __future__ import annotations

from challenges.leaderboards import leaderboard_table
from challenges.models import Phase, Site
from challenges.permissions import can_view_leaderboard
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


def _export_links(phase: Phase, site: str | None) -> dict[str, str]:
    query = f"?site={site}" if site else ""
    return {
        "csv": reverse("api-leaderboard-csv", args=[phase.pk]) + query,
        "json": reverse("api-leaderboard-json", args=[phase.pk]) + query,
    }


def leaderboard(request: HttpRequest, pk: int) -> HttpResponse:
    phase, sites, site = _phase_and_site(request, pk)
    table = leaderboard_table(phase, site)
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
            "exports": _export_links(phase, site),
        },
    )


def pareto(request: HttpRequest, pk: int) -> HttpResponse:
    phase, sites, site = _phase_and_site(request, pk)
    table = leaderboard_table(phase, site)
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
        },
    )
