"""`manage.py load_truth PHASE DIR [--layout canonical|hc18|psfhs] [--sites CSV]
[--site-column NAME]`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from challenges.models import Phase
from challenges.services.truth import LAYOUTS, TruthLoadError, load_truth


def find_phase(ref: str) -> Phase:
    """A phase by numeric id or by ``challenge-slug/phase-slug``."""
    if ref.isdigit():
        phase = Phase.objects.filter(pk=int(ref)).first()
    elif "/" in ref:
        challenge, _, slug = ref.partition("/")
        phase = Phase.objects.filter(challenge__slug=challenge, slug=slug).first()
    else:
        raise CommandError(f"{ref!r}: give a phase id or challenge-slug/phase-slug.")
    if phase is None:
        raise CommandError(f"No phase {ref!r}.")
    return phase


class Command(BaseCommand):
    help = "Load a phase's hidden truth set from a folder on this server."

    def add_arguments(self, parser) -> None:
        parser.add_argument("phase", help="phase id or challenge-slug/phase-slug")
        parser.add_argument("source_dir", help="folder with the truth set")
        parser.add_argument("--layout", choices=LAYOUTS, default="canonical")
        parser.add_argument("--sites", help="CSV on this server mapping case (or filename) to site")
        parser.add_argument(
            "--site-column", help="site column of --sites, or of the HC18 release's own CSV"
        )

    def handle(self, *args, **options) -> None:
        phase = find_phase(options["phase"])
        try:
            count = load_truth(
                phase,
                options["source_dir"],
                options["layout"],
                site_map=options["sites"],
                site_column=options["site_column"],
            )
        except TruthLoadError as exc:
            raise CommandError(str(exc)) from exc
        phase.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {count} cases into {phase} (truth version {phase.truth_version[:12]})."
            )
        )
