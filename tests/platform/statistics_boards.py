"""Boards with stored analyses for the statistics pages' tests (issue 12).

``make_board`` builds a two-site HC18 phase whose entries have per-case values of known
quality (two of them nearly identical, so the analysis marks them tied; one clearly best),
optionally with hostile team and method names, and ranks it (``recompute``).
``analyse(phase)`` then stores every board's analysis as the worker does
(``challenges.leaderboards.analyses``): the pages under test only read what is stored.
"""

from __future__ import annotations

import numpy as np
from challenges.leaderboards import recompute
from challenges.leaderboards.analyses import analyse_phase
from challenges.models import Case, Challenge, Evaluation, Phase, Site, Submission, Team

#: Team and method names a participant could choose to break a page (markup, quotes, bidi
#: overrides, a very long name).
HOSTILE_TEAMS = (
    '<img src=x onerror="window.__pwned=1">',
    "</svg><script>window.__pwned=2</script>",
    "Team \u202eesrever\u202c & \"quotes\" 'single'",
    "L" + "o" * 120 + "ng team",
)
HOSTILE_METHODS = (
    "<b>bold</b> net",
    '" onmouseover="window.__pwned=3',
    "{{ 7|add:7 }} ${7*7}",
    "<title>x</title>",
)


def _stats(values: np.ndarray) -> dict:
    mean = float(np.mean(values))
    return {"mean": mean, "ci95_low": mean - 0.01, "ci95_high": mean + 0.01, "n": len(values),
            "n_nan": 0}  # fmt: skip


def make_board(
    make_user,
    *,
    slug: str = "stats",
    n_entries: int = 5,
    cases_per_site: int = 15,
    sites: tuple[str, ...] = ("north", "south"),
    hostile: bool = False,
    seed: int = 7,
) -> tuple[Phase, list[Submission]]:
    """A ranked two-site phase: entry 0 is clearly best, entries 1 and 2 nearly identical."""
    rng = np.random.default_rng(seed)
    challenge = Challenge.objects.create(slug=slug, title="Statistics heads", task_name="hc18")
    phase = Phase.objects.create(
        challenge=challenge, slug="test", title="Final test", per_case_visibility="everyone",
        ranking_metrics=[{"metric": "head.dice"}, {"metric": "head.hd95"}],
    )  # fmt: skip
    cases: list[tuple[str, str]] = []
    for name in sites:
        site = Site.objects.create(challenge=challenge, name=name)
        for k in range(cases_per_site):
            case_id = f"{name}-{k:03d}"
            Case.objects.create(phase=phase, case_id=case_id, site=site, spacing_row_mm=0.2,
                                spacing_col_mm=0.2)  # fmt: skip
            cases.append((case_id, name))
    quality = np.linspace(0.95, 0.80, n_entries)
    base = rng.normal(0, 0.02, len(cases))
    dice = np.clip(
        quality[:, None] + base[None, :] + rng.normal(0, 0.01, (n_entries, len(cases))), 0, 1
    )
    if n_entries > 2:
        # Entry 2 differs from entry 1 by centred noise, a hair worse on average: ranked just
        # after it, but neither the tests nor the bootstrap can separate the two.
        noise = rng.normal(0, 0.004, len(cases))
        dice[2] = np.clip(dice[1] + noise - noise.mean() - 0.0003, 0, 1)
    submissions = []
    for i in range(n_entries):
        user = make_user(f"{slug}-user{i}")
        team_name = HOSTILE_TEAMS[i % len(HOSTILE_TEAMS)] if hostile and i < 4 else f"Lab {i}"
        method = HOSTILE_METHODS[i % len(HOSTILE_METHODS)] if hostile and i < 4 else f"net-{i}"
        team = Team.objects.create(challenge=challenge, name=team_name[:100])
        team.members.add(user)
        sub = Submission.objects.create(phase=phase, creator=user, team=team, method_name=method,
                                        status="done", progress=1.0)  # fmt: skip
        hd95 = 20 * (1 - dice[i]) + rng.normal(0, 0.2, len(cases))
        aggregates = {"all": {"head": {"dice": _stats(dice[i]), "hd95": _stats(hd95)}}}
        for name in sites:
            mask = np.array([s == name for _, s in cases])
            aggregates[name] = {"head": {"dice": _stats(dice[i][mask]), "hd95": _stats(hd95[mask])}}
        Evaluation.objects.create(
            submission=sub,
            evaluator_version="0.1.0",
            results={
                "aggregates": aggregates,
                "cases": [
                    {"case": cid, "site": s, "flags": [],
                     "metrics": {"head": {"dice": float(dice[i, k]), "hd95": float(hd95[k])}}}
                    for k, (cid, s) in enumerate(cases)
                ],
            },
        )  # fmt: skip
        submissions.append(sub)
    recompute(phase)
    return phase, submissions


def analyse(phase: Phase) -> dict[str, str]:
    """Store every board's analysis: the worker's own step after a recompute."""
    return analyse_phase(phase.pk)
