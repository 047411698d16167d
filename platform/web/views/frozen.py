"""A frozen final board's permalink page: the board as the organisers froze it, its SHA-256
checksum, whether the stored content still hashes to it, and how anyone can check that from
the API's copy (``challenges.leaderboards.history``: freezing copies the newest snapshot with
its analysis; a frozen row is never written again)."""

from __future__ import annotations

from challenges.leaderboards.analyses import may_see_case_results
from challenges.leaderboards.history import NoSnapshot, frozen_board, verify
from challenges.models import Phase
from challenges.permissions import can_view_leaderboard
from challenges.reports.boards import entry_label, rank_text, score_text, view_of
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse


def frozen(request: HttpRequest, ref: str) -> HttpResponse:
    try:
        snapshot = frozen_board(ref)
    except NoSnapshot:
        raise Http404("No frozen board has this address.") from None
    phase = snapshot.phase
    if not can_view_leaderboard(request.user, phase):
        raise Http404("This leaderboard is not public.")
    names = {
        r["submission"]: entry_label(
            {"team": r.get("participant"), "method": r.get("method_name")}, r["submission"]
        )
        for r in snapshot.rows
    }
    rows = [
        {
            "submission": r["submission"],
            "rank": r.get("rank"),
            "label": names[r["submission"]],
            "score": score_text(r.get("score")),
            "median": rank_text(r.get("median_rank")),
            "interval": (
                f"{rank_text(r['rank_low'])}–{rank_text(r['rank_high'])}"
                if r.get("rank_low") is not None and r.get("rank_high") is not None
                else "–"
            ),
            "tied_with": [names.get(t, f"submission {t}") for t in r.get("tied_with") or []],
        }
        for r in snapshot.rows
    ]
    analysis = (
        view_of(
            {"analysis": snapshot.analysis},
            snapshot.site.name if snapshot.site_id else None,
            redact=not may_see_case_results(request.user, phase),
        )
        if snapshot.analysis
        else None
    )
    api = reverse("api-frozen-board", args=[snapshot.slug or snapshot.pk])
    return render(
        request,
        "web/frozen_board.html",
        {
            "snapshot": snapshot,
            "phase": phase,
            "challenge": phase.challenge,
            "rows": rows,
            "verified": verify(snapshot),
            "ranking_method": dict(Phase.RankingMethod.choices).get(
                snapshot.ranking_method, snapshot.ranking_method
            ),
            # Distinct versions (the stored text may repeat one).
            "evaluator_versions": ", ".join(
                sorted({v.strip() for v in snapshot.evaluator_version.split(",") if v.strip()})
            ),
            "api_url": request.build_absolute_uri(api),
            "analysis": analysis,
        },
    )
