"""Board scopes: which cases a leaderboard covers, all of the phase's or one site's.

A phase has one board over every case and one per acquisition site that has cases in it.
``scope_for(phase, site)`` is the one place that turns what a caller names (nothing, "all", a
site name from a URL, a ``Site``) into a ``Scope``, and the one rule for which sites exist:
the sites with cases in this phase, the same ones ``recompute`` writes rows for. The API and
the pages both ask it, so a site either has a board everywhere or nowhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from challenges.leaderboards.ranking import ALL
from challenges.models import Phase, Site


class UnknownSite(LookupError):
    """A site name the phase has no cases for (so no board); views answer 404."""


@dataclass(frozen=True)
class Scope:
    """The cases a board covers: every case of the phase (``site`` None) or one site's."""

    site: Site | None = None

    @property
    def site_name(self) -> str | None:
        return None if self.site is None else self.site.name

    @property
    def key(self) -> str:
        """The scope's key in an evaluation's aggregates, and what the API calls it:
        "all" for every case, else the site's name."""
        return ALL if self.site is None else self.site.name


#: Every case of a phase.
ALL_CASES = Scope()


def phase_sites(phase: Phase) -> list[Site]:
    """The sites with cases in ``phase``, by name: one board each (one query)."""
    return list(Site.objects.filter(cases__phase=phase).distinct().order_by("name"))


def board_scopes(phase: Phase) -> list[Scope]:
    """Every board of ``phase``: all cases first, then one per site."""
    return [ALL_CASES, *(Scope(site) for site in phase_sites(phase))]


def scope_for(
    phase: Phase, site: Scope | Site | str | None, *, sites: Sequence[Site] | None = None
) -> Scope:
    """The scope a caller names: None, "" or "all" mean every case; a ``Site`` is taken as
    given; a name must be one of the phase's sites (``sites``, when the caller has already
    read ``phase_sites``, saves the query), else UnknownSite."""
    if isinstance(site, Scope):
        return site
    if site is None or site in ("", ALL):
        return ALL_CASES
    if isinstance(site, Site):
        return Scope(site)
    known = phase_sites(phase) if sites is None else sites
    for candidate in known:
        if candidate.name == site:
            return Scope(candidate)
    raise UnknownSite(f"phase {phase.pk} has no cases from a site called {site!r}")
