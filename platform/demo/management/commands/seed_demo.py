"""`manage.py seed_demo`: demo users, phantom challenges and scored baseline submissions."""

from __future__ import annotations

from challenges.services.submissions import SubmissionRejected
from challenges.services.truth import TruthLoadError
from django.core.management.base import BaseCommand, CommandError

from demo.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Create (idempotently) the organiser/organiser superuser, the demo/demo participant, "
        "two phantom challenges (HC18- and PSFHS-style) with validation and test phases, their "
        "hidden truth sets and baseline submissions that the Celery worker scores."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--wait", action="store_true", help="wait until the baselines are scored"
        )
        parser.add_argument(
            "--only", action="append", help="seed only this challenge slug or task (repeatable)"
        )

        parser.add_argument(
            "--cases-per-site",
            type=int,
            default=None,
            help="phantom cases per site in every phase (default: 8 validation, 12 test)",
        )

    def handle(self, *args, **options) -> None:
        def log(message: str) -> None:
            self.stdout.write(message)
            self.stdout.flush()

        if options["cases_per_site"] is not None and options["cases_per_site"] < 1:
            raise CommandError("--cases-per-site must be at least 1")
        try:
            result = seed_demo(
                log,
                wait=options["wait"],
                only=options["only"],
                per_site=options["cases_per_site"],
            )
        except (SubmissionRejected, TruthLoadError) as exc:
            raise CommandError(f"seeding failed: {getattr(exc, 'message', exc)}") from None
        if result["finished"] is False:
            raise CommandError(
                "baseline submissions were not all scored in time (is a worker running?)"
            )
        self.stdout.write(
            self.style.SUCCESS("demo ready: log in as organiser/organiser or demo/demo")
        )
