"""`manage.py recompute_leaderboards [PHASE]`: rebuild materialised leaderboard rows."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from challenges import leaderboards
from challenges.management.commands.load_truth import find_phase
from challenges.models import Phase


class Command(BaseCommand):
    help = "Recompute leaderboards (all phases, or one)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("phase", nargs="?", help="phase id or challenge-slug/phase-slug")

    def handle(self, *args, **options) -> None:
        phases = [find_phase(options["phase"])] if options["phase"] else Phase.objects.all()
        for phase in phases:
            n = leaderboards.recompute(phase)
            self.stdout.write(f"{phase}: {n} rows")
