"""`manage.py rerun_submissions PHASE` or `manage.py rerun_submissions --submission ID ...`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from challenges.management.commands.load_truth import find_phase
from challenges.models import Submission
from challenges.services.submissions import rerun_phase, rerun_submission


class Command(BaseCommand):
    help = "Queue submissions for scoring again (after a truth set or evaluator change)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("phase", nargs="?", help="phase id or challenge-slug/phase-slug")
        parser.add_argument("--submission", type=int, action="append", default=[])

    def handle(self, *args, **options) -> None:
        if not options["phase"] and not options["submission"]:
            raise CommandError("Give a phase or at least one --submission ID.")
        count = 0
        if options["phase"]:
            count += rerun_phase(find_phase(options["phase"]))
        for pk in options["submission"]:
            submission = Submission.objects.filter(pk=pk).first()
            if submission is None:
                raise CommandError(f"No submission {pk}.")
            rerun_submission(submission)
            count += 1
        self.stdout.write(self.style.SUCCESS(f"{count} submission(s) queued."))
