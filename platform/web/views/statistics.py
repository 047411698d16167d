"""The statistics page of a board and the phase's challenge report download.

Both read only what the worker stored (``challenges.leaderboards.analyses``: one analysis per
board, computed after every recompute); a page view lays out plots from it and computes no
statistic. The page says when the analysis was computed, with which seed and how many
bootstrap resamples, and whether it is current, being updated (the board changed since; the
previous analysis is shown meanwhile) or not computed yet.

Plots are SVG drawn on the server (``challenges.reports.plots``), the same markup the report
embeds; see that package for why no charting library runs in the browser.
"""

from __future__ import annotations

from challenges.leaderboards.analyses import may_see_case_results, stored_analysis
from challenges.models import Phase
from challenges.permissions import can_view_leaderboard, is_organiser
from challenges.reports.boards import (
    CURRENT,
    MISSING,
    NOT_ANALYSED,
    UPDATING,
    phase_sites_figure,
    view_of,
)
from challenges.reports.document import Report, build_report, render_html
from challenges.reports.pdf import PdfUnavailable, html_to_pdf
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.text import slugify

from web.views.leaderboards import entries_context, phase_and_scope


def statistics(request: HttpRequest, pk: int) -> HttpResponse:
    """A board's statistics (``?site=``): the analysis of the board's entries, one per team
    as the phase selects them (the worker analyses that board, not the every-entry view)."""
    phase, sites, scope = phase_and_scope(request, pk)
    selection = phase.entry_selection
    view = view_of(
        _as_of_now(phase, stored_analysis(phase, scope, selection)),
        scope.site_name,
        redact=not may_see_case_results(request.user, phase),
    )
    return render(
        request,
        "web/statistics.html",
        {
            "phase": phase,
            "challenge": phase.challenge,
            "sites": sites,
            "site": scope.site_name,
            "board": view,
            "sites_figure": phase_sites_figure(phase, selection),
            "states": {
                "current": CURRENT,
                "updating": UPDATING,
                "not_analysed": NOT_ANALYSED,
                "missing": MISSING,
            },
            "organiser": is_organiser(request.user, phase.challenge),
            **entries_context(scope.site_name, False),
        },
    )


def _as_of_now(phase: Phase, stored: dict | None) -> dict | None:
    """The stored analysis, marked ``updating`` when it was computed under another ranking
    method than the phase's now: right after an organiser changes the method the board's
    rows (and so its key) are still the old ones until the recompute, and the previous
    method's analysis must not pass for current."""
    payload = (stored or {}).get("analysis") or {}
    method = (payload.get("board") or {}).get("ranking_method")
    if stored and method and method != phase.ranking_method and not stored.get("updating"):
        return {**stored, "updating": True}
    return stored


def _report_phase(request: HttpRequest, pk: int) -> Phase:
    """The phase whose report is asked for: organisers always, others when its board is
    public (``can_view_leaderboard``); 404 otherwise, as for a hidden board."""
    phase = get_object_or_404(Phase.objects.select_related("challenge"), pk=pk)
    if not can_view_leaderboard(request.user, phase):
        raise Http404("This phase's report is not public.")
    return phase


def _report(request: HttpRequest, phase: Phase) -> Report:
    """The phase's report as this reader may see it (per-case data only for those who may
    see every team's per-case results)."""
    return build_report(
        phase,
        redact=not may_see_case_results(request.user, phase),
        base_url=request.build_absolute_uri("/"),
    )


def _filename(phase: Phase, extension: str) -> str:
    stem = slugify(f"{phase.challenge.slug}-{phase.slug}-report") or "report"
    return f"{stem}-{timezone.now():%Y%m%d}.{extension}"


def report_html(request: HttpRequest, pk: int) -> HttpResponse:
    """The challenge report as one self-contained HTML file (plots inline, no scripts)."""
    phase = _report_phase(request, pk)
    html = render_html(_report(request, phase))
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    if request.GET.get("download") != "0":
        response["Content-Disposition"] = f'attachment; filename="{_filename(phase, "html")}"'
    # The report carries its own styles and no script; its policy allows exactly that.
    response["Content-Security-Policy"] = REPORT_POLICY
    return response


def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The report as PDF, printed by headless Chromium where the server has it; otherwise a
    503 saying so (the HTML report is always there)."""
    phase = _report_phase(request, pk)
    try:
        pdf = html_to_pdf(render_html(_report(request, phase)))
    except PdfUnavailable as exc:
        return HttpResponse(
            f"The PDF report is not available on this server: {exc}. "
            "Download the HTML report and print it from a browser instead.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(phase, "pdf")}"'
    return response


#: The report's own Content-Security-Policy: inline styles and data: images, nothing else.
REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
