"""Board scopes: which cases a leaderboard covers, all of the phase's or one site's.

A phase has one board over every case and one per acquisition site. ``scope_for(phase,
site)`` is the one place that turns what a caller names (nothing, "all", a site name from a
URL, a ``Site``) into a ``Scope``, and the one rule for which names have a board: any site of
the phase's challenge (the API has always answered for those; a site without cases in this
phase has an empty board), anything else is ``UnknownSite``. The API and the pages both ask
it, so a name has a board everywhere or nowhere. ``phase_sites`` lists the sites with cases
in the phase: the boards ``recompute`` writes rows for and the pages' tabs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from challenges.leaderboards.ranking import ALL
from challenges.models import Phase, Site


class UnknownSite(LookupError):
    """A name that is no site of the phase's challenge (so no board); views answer 404."""


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
    given; a name must be a site of the phase's challenge, else UnknownSite. ``sites`` (the
    caller's ``phase_sites``, when it has read them) are looked in first, saving the query."""
    if isinstance(site, Scope):
        return site
    if site is None or site in ("", ALL):
        return ALL_CASES
    if isinstance(site, Site):
        return Scope(site)
    for candidate in sites or ():
        if candidate.name == site:
            return Scope(candidate)
    found = Site.objects.filter(challenge_id=phase.challenge_id, name=site).first()
    if found is None:
        raise UnknownSite(f"challenge {phase.challenge_id} has no site called {site!r}")
    return Scope(found)
