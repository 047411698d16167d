"""Create the demo content: users, two phantom challenges, truth sets and scored baselines.

Idempotent: every object is looked up by its natural key first, truth sets are loaded only
once per phase, and a baseline is submitted only if its team has no submission of that
method in the phase yet, so re-running `seed_demo` (run.sh does on every start) adds nothing
twice. Submissions go through `create_submission`, exactly like a participant's upload, so
the Celery worker scores them and fills the leaderboards.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from challenges.models import Challenge, Phase, Submission
from challenges.services.submissions import create_submission
from challenges.services.teams import join_challenge
from challenges.services.truth import load_truth, phase_truth_path
from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from demo.baselines import BASELINES, write_baseline_zip
from demo.phantom import write_phantom_truth_set
from evaluator.tasks import get_task
from evaluator.truth import TruthSet

Log = Callable[[str], None]


@dataclass(frozen=True)
class DemoChallenge:
    slug: str
    title: str
    task_name: str
    phantom_kind: str
    description: str
    ranking_method: str
    ranking_metrics: tuple[tuple[str, str], ...]


HC18_DESCRIPTION = """\
Segment the fetal skull in synthetic second-trimester ultrasound images and measure the head \
circumference (HC). The images come from the fetalbench phantom generator: an elliptical head \
with a bright skull rim, speckle, acoustic shadows and a fan-shaped field of view, acquired at \
three sites whose scanners look different (gain, speckle size, contrast and imaging depth).

Submit a zip with one label image per case (`<case>.png`, 0 = background, 1 = head). \
Scores: Dice, Hausdorff distance (HD), HD95 and average symmetric surface distance (ASSD) in \
millimetres, and the absolute HC error of an ellipse fitted to your mask. Leaderboards are \
shown for all cases and per site; the parameter plot shows which fine-tuning strategies give \
the best accuracy for their size."""

PSFHS_DESCRIPTION = """\
Segment the pubic symphysis (label 1) and the fetal head (label 2) in synthetic intrapartum \
transperineal ultrasound images, PSFHS style. Three synthetic sites differ in gain, speckle, \
contrast and depth.

Submit a zip with one label map per case (`<case>.png`, values 0/1/2). Each class is scored \
with Dice, HD, HD95 and ASSD; the ranking is the mean of per-metric ranks."""

DEMO_CHALLENGES = (
    DemoChallenge(
        "hc18-demo",
        "Fetal head circumference (HC18-style demo)",
        "hc18",
        "hc18",
        HC18_DESCRIPTION,
        Phase.RankingMethod.PRIMARY,
        (("head", "dice"), ("head", "hd95"), ("head", "hc_abs_diff_mm")),
    ),
    DemoChallenge(
        "psfhs-demo",
        "Pubic symphysis and fetal head (PSFHS-style demo)",
        "psfhs",
        "psfhs",
        PSFHS_DESCRIPTION,
        Phase.RankingMethod.MEAN_RANK,
        (("fh", "dice"), ("ps", "dice"), ("fh", "hd95"), ("ps", "hd95")),
    ),
)

#: What the demo phases take: predicted masks, and model files (ONNX/TorchScript zips) that the
#: inference worker runs on the hidden images, as the reference-model baselines are submitted.
DEMO_KINDS = (Submission.Kind.PREDICTIONS.value, Submission.Kind.MODEL.value)

#: (slug, title, cases per site, seed offset, leaderboard visibility, per-case visibility)
DEMO_PHASES = (
    ("validation", "Validation", 8, 1, "public", "everyone"),
    ("test", "Final test", 12, 2, "public", "owners"),
)


def _user(username: str, password: str | None, *, superuser: bool = False):
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if created or (superuser and not user.is_superuser):
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.is_staff = user.is_superuser = superuser
        user.email = f"{username}@example.org"
        user.save()
    return user, created


def seed_users(log: Log) -> dict:
    organiser, made = _user("organiser", "organiser", superuser=True)
    log(f"user organiser (superuser) {'created' if made else 'exists'}")
    demo, made = _user("demo", "demo")
    log(f"user demo {'created' if made else 'exists'}")
    return {"organiser": organiser, "demo": demo}


def seed_challenge(
    spec: DemoChallenge, organiser, log: Log, per_site: int | None = None
) -> Challenge:
    challenge, made = Challenge.objects.get_or_create(
        slug=spec.slug,
        defaults={
            "title": spec.title,
            "description": spec.description,
            "task_name": spec.task_name,
            "task_spec": get_task(spec.task_name).to_dict(),
        },
    )
    challenge.organisers.add(organiser)
    log(f"challenge {spec.slug} {'created' if made else 'exists'}")
    now = timezone.now()
    for slug, title, default_per_site, seed, visibility, per_case in DEMO_PHASES:
        n_per_site = per_site or default_per_site
        phase, made = Phase.objects.get_or_create(
            challenge=challenge,
            slug=slug,
            defaults={
                "title": title,
                "opens_at": now - timedelta(days=30),
                "closes_at": now + timedelta(days=365),
                "leaderboard_visibility": visibility,
                "daily_limit": 20,
                "ranking_method": spec.ranking_method,
                "ranking_metrics": [{"metric": f"{c}.{m}"} for c, m in spec.ranking_metrics],
                "entry_selection": Phase.EntrySelection.BEST,
                "per_case_visibility": per_case,
                "allowed_kinds": list(DEMO_KINDS),
            },
        )
        if set(DEMO_KINDS) - set(phase.allowed_kinds):  # a demo seeded before model files
            phase.allowed_kinds = sorted(set(phase.allowed_kinds) | set(DEMO_KINDS))
            phase.save(update_fields=["allowed_kinds"])
        if not phase.has_truth or not (phase_truth_path(phase) / "cases.csv").is_file():
            with tempfile.TemporaryDirectory() as tmp:
                write_phantom_truth_set(Path(tmp) / "truth", spec.phantom_kind, n_per_site, seed)
                n = load_truth(phase, Path(tmp) / "truth")
            log(f"  phase {slug}: truth set loaded ({n} phantom cases, 3 sites)")
        else:
            log(f"  phase {slug}: {'created' if made else 'exists'}, truth already loaded")
    return challenge


def seed_baselines(challenge: Challenge, log: Log) -> list[int]:
    """Submit every baseline to every phase once; returns the ids of new submissions."""
    new_ids: list[int] = []
    for phase in challenge.phases.all():
        truth = TruthSet.load(phase_truth_path(phase))
        for baseline in BASELINES:
            username = "baseline-" + baseline.team.lower().replace(" & ", "-").replace(" ", "-")
            user, _ = _user(username, None)
            team = join_challenge(user, challenge, baseline.team)
            if Submission.objects.filter(
                phase=phase, team=team, method_name=baseline.method_name
            ).exists():
                continue
            with tempfile.TemporaryDirectory() as tmp:
                zip_path = write_baseline_zip(truth, baseline, Path(tmp) / "predictions.zip")
                with open(zip_path, "rb") as handle, transaction.atomic():
                    sub = create_submission(
                        phase, user, File(handle, name="predictions.zip"), baseline.metadata()
                    )
            new_ids.append(sub.pk)
            log(f"  {phase}: submitted baseline {baseline.method_name!r} ({baseline.team})")
    return new_ids


def wait_for_scores(ids: list[int], log: Log, timeout_s: float = 600.0) -> bool:
    """Block until the listed submissions are finished (for --wait and tests)."""
    deadline = time.monotonic() + timeout_s
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        pending = list(
            Submission.objects.filter(pk__in=ids, status__in=Submission.IN_PROGRESS).values_list(
                "pk", flat=True
            )
        )
        if pending:
            log(f"  waiting for {len(pending)} of {len(ids)} baseline submission(s) to be scored")
            time.sleep(2.0)
    return not pending


def seed_demo(
    log: Log,
    *,
    wait: bool = False,
    only: list[str] | None = None,
    per_site: int | None = None,
) -> dict:
    """Everything `manage.py seed_demo` does; `only` limits it to some challenge slugs."""
    users = seed_users(log)
    challenges, new_ids = [], []
    for spec in DEMO_CHALLENGES:
        if only and spec.slug not in only and spec.task_name not in only:
            continue
        challenge = seed_challenge(spec, users["organiser"], log, per_site)
        challenges.append(challenge)
        if spec.slug == DEMO_CHALLENGES[0].slug:
            join_challenge(users["demo"], challenge, "Demo Team")  # ready to submit at once
        new_ids += seed_baselines(challenge, log)
    log(f"{len(new_ids)} new baseline submission(s) queued for scoring")
    finished = wait_for_scores(new_ids, log) if wait and new_ids else None
    return {"challenges": challenges, "submissions": new_ids, "finished": finished, **users}
