"""`manage.py seed_demo_reference`: reference-model baselines on the demo leaderboards.

Trains (or takes from the cache) small U-Nets on a public phantom training set and submits
them through the public HTTP API with the reference account's token, exactly as a participant
submits model files. `run.sh` starts it in the background after `seed_demo`, while the site and
the worker come up; see docs/demo.md.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.reference_runs import CHALLENGE_OF, TrainingPlan, train_reference_models
from demo.reference_submit import submit_models, wait_for_server, wait_until_scored
from fetalbench.api import ApiError, Client

REFERENCE_USER = "reference"


def reference_token() -> str:
    """The reference account's API token (account and token are created once)."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user, created = get_user_model().objects.get_or_create(username=REFERENCE_USER)
    if created:
        user.set_unusable_password()  # an API-only account: nobody logs in as it
        user.email = f"{REFERENCE_USER}@example.org"
        user.save()
    return Token.objects.get_or_create(user=user)[0].key


class Command(BaseCommand):
    help = (
        "Train small reference models on public phantom training data (cached under "
        "FETALBENCH_VAR/demo-reference) and submit them as model files through the API to "
        "every open phase of the demo challenges, as the team 'fetalbench reference'."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the site to submit to")
        parser.add_argument(
            "--only", action="append", help="this demo challenge slug or task only (repeatable)"
        )
        parser.add_argument("--cache", help="cache folder (default FETALBENCH_VAR/demo-reference)")
        parser.add_argument("--steps", type=int, default=60, help="training steps per model")
        parser.add_argument("--size", type=int, default=64, help="square training input side")
        parser.add_argument(
            "--train-cases-per-site", type=int, default=12, help="public training phantoms"
        )
        parser.add_argument(
            "--format",
            default="torchscript",
            choices=["torchscript", "pt2", "onnx"],
            help="model file to submit (TorchScript is measured exactly, see docs/demo.md)",
        )
        parser.add_argument(
            "--phase", action="append", help="submit to this phase slug only (repeatable)"
        )
        parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
        parser.add_argument(
            "--server-timeout", type=float, default=180.0, help="seconds to wait for the site"
        )
        parser.add_argument(
            "--wait-timeout", type=float, default=900.0, help="seconds to wait for the scores"
        )
        parser.add_argument("--no-wait", action="store_true", help="do not wait for the scores")

    def handle(self, *args, **options) -> None:
        def log(message: str) -> None:
            self.stdout.write(f"reference: {message}")
            self.stdout.flush()

        for name in ("steps", "size", "train_cases_per_site", "threads"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
        if options["size"] % 16:
            raise CommandError("--size must be a multiple of 16 (the U-Net halves it 4 times)")
        only = options["only"] or []
        kinds = [k for k, slug in CHALLENGE_OF.items() if not only or k in only or slug in only]
        if not kinds:
            raise CommandError(
                f"--only names no demo challenge ({', '.join(CHALLENGE_OF.values())})"
            )
        import torch  # lazy: the command module loads without torch (`manage.py help`)

        torch.set_num_threads(options["threads"])
        plan = TrainingPlan(
            steps=options["steps"],
            size=options["size"],
            cases_per_site=options["train_cases_per_site"],
            format=options["format"],
        )
        cache = Path(options["cache"] or Path(settings.VAR_DIR) / "demo-reference")
        try:
            models = train_reference_models(cache, kinds, plan, log)
            client = Client(url=options["url"], token=reference_token())
            wait_for_server(client, options["server_timeout"], log)
            submitted = submit_models(client, models, log, phases=options["phase"])
            new = sum(s.new for s in submitted)
            log(f"{new} new reference submission(s), {len(submitted) - new} already there")
            if options["no_wait"] or not submitted:
                return
            records = wait_until_scored(client, submitted, options["wait_timeout"], log)
        except (ApiError, ValueError, OSError) as exc:
            raise CommandError(f"reference baselines: {exc}") from None
        failed = [r for r in records.values() if r.get("status") != "done"]
        if failed:
            details = "; ".join(
                f"#{r['id']}: {r.get('status_detail') or r.get('status')}" for r in failed
            )
            raise CommandError(f"reference baselines not scored: {details}")
        log("reference models are on the leaderboards (team 'fetalbench reference')")
