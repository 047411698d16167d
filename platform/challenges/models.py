"""Domain models: challenges, phases with hidden truth sets, teams, submissions, evaluations and
materialised leaderboard rows.

Hidden labels never live in a model field: a phase's truth set sits under
``settings.TRUTH_ROOT/<phase id>/`` and only its case list (ids, sites, spacings) is copied into
``Case`` rows so pages can show counts without touching the labels.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import models, transaction
from django.utils import timezone

from challenges.board_values import board_means
from challenges.board_values import board_values as compact_board_values
from challenges.ranking_metrics import ranking_metrics_problem
from evaluator.metric_spec import MetricSpec
from evaluator.tasks import Task, get_task, parse_ranking


class PrivateUploadStorage(FileSystemStorage):
    """Participants' uploads: stored under MEDIA_ROOT, never given a URL.

    The location is read from settings on every access (not cached) so that tests and workers
    that point MEDIA_ROOT elsewhere see the same files.
    """

    @property
    def base_location(self) -> str:  # type: ignore[override]
        return str(settings.MEDIA_ROOT)

    @property
    def location(self) -> str:  # type: ignore[override]
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("Submission files are private and have no URL.")


_private_storage = PrivateUploadStorage()


def private_storage() -> PrivateUploadStorage:
    """Callable storage so migrations reference the function, not a pickled instance."""
    return _private_storage


def submission_upload_to(instance: Submission, filename: str) -> str:
    """Random file names: the participant's file name is kept only as metadata."""
    suffix = "".join(Path(filename).suffixes[-2:])[:16] or ".bin"
    return f"submissions/phase-{instance.phase_id}/{uuid.uuid4().hex}{suffix}"


def truth_dir(phase_id: int) -> Path:
    """Where a phase's hidden truth set lives (canonical layout)."""
    return Path(settings.TRUTH_ROOT) / str(phase_id)


@lru_cache(maxsize=64)
def _task_from_spec(spec_json: str, slug: str) -> Task:
    """A challenge's stored task snapshot, parsed once per process per content (``Task`` is
    frozen, so the cached object is shared safely)."""
    return Task.from_dict(json.loads(spec_json), source=f"challenge {slug} task_spec")


class Challenge(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    task_name = models.CharField(
        max_length=100, help_text="Evaluator task name (e.g. hc18, psfhs) used for scoring."
    )
    task_spec = models.JSONField(
        default=dict, blank=True, help_text="Snapshot of the evaluator task (Task.to_dict())."
    )
    organisers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="organised_challenges", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "slug"]

    def __str__(self) -> str:
        return self.title or self.slug

    def get_task(self) -> Task:
        """The evaluator task that scores this challenge's submissions.

        The stored snapshot (``task_spec``, written when the challenge is first saved) wins
        once written, as its help text says, so a challenge keeps scoring and ranking by the
        task it was created with even if a builtin of the same name changes later; the
        builtin name (or task file) is read only while there is no snapshot. A snapshot is
        parsed once per process (cached by its content).
        """
        if self.task_spec:
            return _task_from_spec(json.dumps(self.task_spec, sort_keys=True), self.slug)
        return get_task(self.task_name)

    def save(self, *args, **kwargs) -> None:
        """Keep a snapshot of the task definition the challenge was created with."""
        if not self.task_spec:
            try:
                self.task_spec = get_task(self.task_name).to_dict()
            except Exception:  # noqa: BLE001 - an unknown task is reported when scoring
                self.task_spec = {}
        super().save(*args, **kwargs)


class Site(models.Model):
    """An acquisition site (hospital / device family); leaderboards are also shown per site."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "name"], name="unique_site_per_challenge")
        ]

    def __str__(self) -> str:
        return self.name


class Phase(models.Model):
    class Visibility(models.TextChoices):
        HIDDEN = "hidden", "Hidden"
        PUBLIC = "public", "Public"

    class RankingMethod(models.TextChoices):
        """How the board ranks (``evaluator.statistics.methods``; docs/statistics.md).

        ``primary`` and ``mean_rank`` are ranked from the stored aggregates when the board is
        recomputed; the others need every entry's per-case values and are ranked by the
        worker's analysis right after (``challenges.leaderboards.analyses``), the board
        saying it is being updated until then. ``primary`` is the evaluator's
        ``aggregate_mean`` (its alias), so stored phases keep their value.
        """

        PRIMARY = "primary", "Mean of the primary metric (aggregate, then rank)"
        AGGREGATE_MEDIAN = "aggregate_median", "Median of the primary metric (aggregate, then rank)"
        RANK_THEN_AGGREGATE = "rank_then_aggregate", "Mean per-case rank (rank, then aggregate)"
        TEST_THEN_RANK = "test_then_rank", "Significant wins (test, then rank)"
        MEAN_RANK = "mean_rank", "Mean of per-metric ranks"

    class EntrySelection(models.TextChoices):
        BEST = "best", "Best submission"
        LATEST = "latest", "Latest submission"

    class PerCaseVisibility(models.TextChoices):
        EVERYONE = "everyone", "Everyone"
        OWNERS = "owners", "Organisers and the submitting team"

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="phases")
    slug = models.SlugField()
    title = models.CharField(max_length=200)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    leaderboard_visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    allowed_kinds = models.JSONField(default=list, blank=True)
    daily_limit = models.PositiveIntegerField(
        default=5, help_text="Submissions per team per 24 h; 0 means no limit."
    )
    ranking_method = models.CharField(
        max_length=32, choices=RankingMethod.choices, default=RankingMethod.PRIMARY
    )
    ranking_metrics = models.JSONField(
        default=list,
        blank=True,
        help_text='List of {"metric": "class.metric"}, as in a task\'s ranking; first is '
        "primary. Empty: the task's own ranking.",
    )
    entry_selection = models.CharField(
        max_length=10, choices=EntrySelection.choices, default=EntrySelection.BEST
    )
    per_case_visibility = models.CharField(
        max_length=10, choices=PerCaseVisibility.choices, default=PerCaseVisibility.OWNERS
    )
    truth_loaded_at = models.DateTimeField(null=True, blank=True, editable=False)
    truth_version = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Content hash of the loaded truth set (cases.csv, every label and image); "
        "evaluations scored against another version are stale.",
    )
    inference_seconds = models.PositiveIntegerField(
        default=0,
        help_text="Wall-clock limit for one model or container run on the test set; "
        "0 means the worker's default (FETALBENCH_INFERENCE_SECONDS).",
    )

    class Meta:
        ordering = ["challenge_id", "opens_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "slug"], name="unique_phase_per_challenge")
        ]

    def __str__(self) -> str:
        return f"{self.challenge.slug}/{self.slug}"

    def clean(self) -> None:
        """The admin's check (also run on every save): ranking metrics the task carries."""
        super().clean()
        self.check_ranking_metrics()

    def check_ranking_metrics(self) -> None:
        """ValidationError on ``ranking_metrics`` naming the bad entry and the task's choices.

        Checked on save too, not only in forms: a phase created from code or the shell must
        not rank by a metric its results never carry.
        """
        if not self.ranking_metrics or not self.challenge_id:
            return
        try:
            task = self.challenge.get_task()
        except Exception as exc:  # noqa: BLE001 - any reason the task cannot load
            problem = f"the challenge's task cannot be loaded to check them: {exc}"
        else:
            problem = ranking_metrics_problem(self.ranking_metrics, task)
        if problem:
            raise ValidationError({"ranking_metrics": problem})

    @property
    def ranking_specs(self) -> tuple[MetricSpec, ...]:
        """The organiser's ranking metrics as metric specs (empty: the task's own ranking,
        which ``leaderboards.ranking_criteria`` falls back to)."""
        return parse_ranking(self.ranking_metrics)

    def save(self, *args, **kwargs) -> None:
        if not self.allowed_kinds:
            self.allowed_kinds = [Submission.Kind.PREDICTIONS]
        self.check_ranking_metrics()
        super().save(*args, **kwargs)

    def is_open(self, at=None) -> bool:
        at = at or timezone.now()
        if self.opens_at and at < self.opens_at:
            return False
        return not (self.closes_at and at >= self.closes_at)

    @property
    def has_truth(self) -> bool:
        return self.truth_loaded_at is not None


class Case(models.Model):
    """One hidden test case: its id, site and pixel spacing (never its label)."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="cases")
    case_id = models.CharField(max_length=200)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="cases")
    # Empty for classification truth sets, whose cases.csv has no pixel spacing.
    spacing_row_mm = models.FloatField(null=True, blank=True)
    spacing_col_mm = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["case_id"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "case_id"], name="unique_case_per_phase")
        ]

    def __str__(self) -> str:
        return self.case_id


class Team(models.Model):
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "name"], name="unique_team_per_challenge")
        ]

    def __str__(self) -> str:
        return self.name


def new_invitation_token() -> str:
    """An unguessable invitation code (192 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


class TeamInvitation(models.Model):
    """A member's consent for one more person to join the team: a single-use link.

    Joining a team is possible only through one of these (or an organiser in the admin), so a
    team name alone never lets anyone in. An invitation is usable until it is accepted, revoked
    or past ``expires_at``.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(
        max_length=64, unique=True, default=new_invitation_token, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="team_invitations_sent",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="team_invitations_accepted",
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation to {self.team} ({self.state})"

    @property
    def state(self) -> str:
        """``open``, ``accepted``, ``revoked`` or ``expired`` (in that order of precedence)."""
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at and timezone.now() >= self.expires_at:
            return "expired"
        return "open"

    @property
    def is_open(self) -> bool:
        return self.state == "open"


class TeamMembershipEvent(models.Model):
    """The audit trail of a team: who did what to whom, and when.

    Rows outlive the team (``team`` becomes NULL, ``team_name`` keeps the name) so an organiser
    can still see how a deleted team was made up.
    """

    class Kind(models.TextChoices):
        CREATED = "created", "Created the team"
        INVITED = "invited", "Created an invitation"
        REVOKED = "revoked", "Revoked an invitation"
        ACCEPTED = "accepted", "Joined by accepting an invitation"
        LEFT = "left", "Left the team"
        ADDED = "added", "Added by an organiser"
        REMOVED = "removed", "Removed by an organiser"
        NAME_REFUSED = "name_refused", "Tried to join by the team's name (refused)"
        DISBANDED = "disbanded", "Team deleted (last member left, no submissions)"

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="team_events")
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    team_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who did it.",
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Whose membership changed (empty for invitations).",
    )
    invitation = models.ForeignKey(
        TeamInvitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.team_name}: {self.get_kind_display()}"


class Submission(models.Model):
    class Kind(models.TextChoices):
        PREDICTIONS = "predictions", "Predicted masks"
        MODEL = "model", "Model weights"
        CONTAINER = "container", "Container image"

    class Strategy(models.TextChoices):
        FULL = "full", "Full fine-tuning"
        DECODER_ONLY = "decoder_only", "Decoder only"
        ENCODER_ONLY = "encoder_only", "Encoder only"
        FROM_SCRATCH = "from_scratch", "From scratch"
        LINEAR_PROBE = "linear_probe", "Linear probe"
        LORA = "lora", "LoRA"
        OTHER = "other", "Other"

    class ParamsSource(models.TextChoices):
        DECLARED = "declared", "Declared by the participant"
        MEASURED = "measured", "Measured by the platform"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        INFERRING = "inferring", "Running inference"
        VALIDATING = "validating", "Validating"
        SCORING = "scoring", "Scoring"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class FailureCode(models.TextChoices):
        """Why a submission failed, for code to match on (never the prose of status_detail)."""

        INVALID = "invalid", "Invalid submission"
        NO_TRUTH = "no_truth", "No test set loaded yet"
        MISSING_FILE = "missing_file", "Uploaded file missing"
        WRONG_WORKER = "wrong_worker", "Kind not handled by this worker"
        BAD_BUNDLE = "bad_bundle", "Unusable model bundle"
        UNAVAILABLE = "unavailable", "Inference unavailable"
        INFERENCE_FAILED = "inference_failed", "Model run failed"
        INTERNAL_ERROR = "internal_error", "Internal error"
        GAVE_UP = "gave_up", "Gave up after repeated stalls"

    IN_PROGRESS = (Status.QUEUED, Status.INFERRING, Status.VALIDATING, Status.SCORING)
    #: Kinds the platform runs itself (inference queue) before scoring their output.
    RUN_KINDS = (Kind.MODEL, Kind.CONTAINER)
    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="submissions")
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="submissions"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.PREDICTIONS)
    file = models.FileField(
        upload_to=submission_upload_to, storage=private_storage, max_length=300, blank=True
    )
    original_filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    method_name = models.CharField(max_length=200, blank=True)
    backbone = models.CharField(max_length=200, blank=True)
    fine_tuning_strategy = models.CharField(
        max_length=20, choices=Strategy.choices, default=Strategy.OTHER, blank=True
    )
    params_total = models.BigIntegerField(null=True, blank=True)
    params_trainable = models.BigIntegerField(null=True, blank=True)
    params_source = models.CharField(
        max_length=10, choices=ParamsSource.choices, default=ParamsSource.DECLARED
    )
    flops = models.BigIntegerField(
        null=True, blank=True, help_text="Measured FLOPs of one forward pass (model files)."
    )
    latency_ms = models.FloatField(
        null=True, blank=True, help_text="Measured median latency per image on the worker."
    )
    inference = models.JSONField(
        default=dict,
        blank=True,
        help_text="Summary of the model/container run: status, message, log tail, wall time.",
    )
    paper_url = models.URLField(blank=True)
    code_url = models.URLField(blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    status_detail = models.TextField(blank=True)
    #: Set with every failure (challenges.services.states.set_state), empty otherwise.
    failure_code = models.CharField(
        max_length=20, choices=FailureCode.choices, blank=True, default=""
    )
    progress = models.FloatField(default=0.0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    disqualified = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["phase", "status"])]

    def __str__(self) -> str:
        return f"Submission {self.pk} ({self.method_name or self.kind})"

    @property
    def participant_name(self) -> str:
        """Team name, or the user name for submissions made without a team (e.g. baselines)."""
        return self.team.name if self.team_id else self.creator.get_username()

    @property
    def participant_key(self) -> str:
        return f"team:{self.team_id}" if self.team_id else f"user:{self.creator_id}"


class Evaluation(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="evaluations")
    results = models.JSONField()
    evaluator_version = models.CharField(max_length=50, blank=True)
    truth_version = models.CharField(
        max_length=64,
        blank=True,
        help_text="Version of the truth set this was scored against (Phase.truth_version "
        "at the time); empty when unknown (scored before versions were recorded).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    is_current = models.BooleanField(default=True)
    board_values = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="What the leaderboards read, {scope: {class: {metric: {mean, ci95_low, "
        "ci95_high}}}}, taken from the results' aggregates on save (challenges.board_values): "
        "a few kB, where the results hold every case.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["submission", "is_current"])]

    def __str__(self) -> str:
        return f"Evaluation {self.pk} of submission {self.submission_id}"

    def save(self, *args, **kwargs) -> None:
        """Keep ``board_values`` and the ``board_means`` rows in step with ``results``
        whenever a save writes the results (not a save of other fields only)."""
        update_fields = kwargs.get("update_fields")
        writes_results = "results" not in self.get_deferred_fields() and (
            update_fields is None or "results" in update_fields
        )
        if not writes_results:
            super().save(*args, **kwargs)
            return
        self.board_values = compact_board_values(self.results)
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "board_values"}
        with transaction.atomic():
            super().save(*args, **kwargs)
            BoardMeans.objects.filter(evaluation=self).delete()
            BoardMeans.objects.bulk_create(BoardMeans.rows_for(self))

    @property
    def truth_is_stale(self) -> bool:
        """Scored against a truth set other than the phase's current one (or an unknown one
        while the phase has a known version): the score may no longer be right."""
        current = self.submission.phase.truth_version
        return bool(current) and self.truth_version != current


class BoardMeans(models.Model):
    """An evaluation's means in one scope (all cases or a site): what ranking reads.

    A recompute ranks every current evaluation of the phase after each scored submission,
    by a few metrics in each scope. It reads them from these rows, one per evaluation and
    scope with a small flat ``means`` object (``{"head.dice": 0.91, ...}``, a few hundred
    bytes, stored inline), rather than from ``board_values`` or ``results``, which PostgreSQL
    would decompress, often fetch out of line, and walk once per metric and scope for every
    evaluation. Written with the evaluation (``Evaluation.save``), from its
    ``board_values``; backfilled by migration 0010.
    """

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="board_means")
    #: "all" or a site's name, as in the aggregates.
    scope = models.CharField(max_length=100)
    #: {"class.metric": mean or None} (``challenges.board_values.board_means``).
    means = models.JSONField(default=dict)

    class Meta:
        verbose_name_plural = "board means"
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "scope"], name="board_means_unique")
        ]

    def __str__(self) -> str:
        return f"Means of evaluation {self.evaluation_id} in {self.scope}"

    @classmethod
    def rows_for(cls, evaluation: Evaluation) -> list[BoardMeans]:
        """The rows of ``evaluation``'s ``board_values`` (unsaved); a scope whose name is
        longer than any site's has no board and is left out."""
        return [
            cls(evaluation=evaluation, scope=scope, means=means)
            for scope, means in board_means(evaluation.board_values).items()
            if len(scope) <= 100
        ]


class LeaderboardEntry(models.Model):
    """A materialised leaderboard row; rebuilt by ``leaderboards.recompute`` after evaluations."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="leaderboard_entries")
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, null=True, blank=True, related_name="leaderboard_entries"
    )
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="leaderboard_entries"
    )
    rank = models.PositiveIntegerField()
    score = models.FloatField(
        null=True, blank=True, help_text="Primary metric value or mean rank, as ranked."
    )
    values = models.JSONField(default=dict)
    evaluation = models.ForeignKey(
        Evaluation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The evaluation ``values`` were copied from: a recompute copies them again "
        "only when the submission's current evaluation is another one.",
    )
    computed_at = models.DateTimeField(default=timezone.now)
    ranking_signature = models.CharField(
        max_length=64,
        blank=True,
        help_text="Which ranking built this row (method, metrics, entry selection): a "
        "row whose signature differs from the phase's is stale.",
    )

    class Meta:
        ordering = ["rank", "id"]
        verbose_name_plural = "leaderboard entries"
        indexes = [models.Index(fields=["phase", "site", "rank"])]

    def __str__(self) -> str:
        return f"#{self.rank} {self.submission_id}"


class BoardAnalysis(models.Model):
    """The worker's statistical analysis of one board, stored so no page computes it.

    One row per computation of a board (``phase``, ``site`` or None for all cases,
    ``selection``: the entry selection analysed, "best", "latest" or "all"); readers take
    the newest (``challenges.leaderboards.analyses.stored_analysis``) and older rows of the
    same board are pruned when a newer one is stored. ``payload`` is
    ``evaluator.statistics.BoardAnalysis.to_dict()`` plus ``entry_info`` and ``board`` (the
    layout is documented in ``challenges.leaderboards.analyses``), or None with ``note``
    saying why a board could not be analysed (no entries, no cases).
    """

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="board_analyses")
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, null=True, blank=True, related_name="board_analyses"
    )
    selection = models.CharField(max_length=10)
    computed_at = models.DateTimeField(default=timezone.now)
    truth_version = models.CharField(max_length=64, blank=True)
    evaluator_version = models.CharField(
        max_length=200, blank=True, help_text="The analysed evaluations' evaluator versions."
    )
    ranking_method = models.CharField(max_length=32)
    ranking_signature = models.CharField(max_length=64, blank=True)
    board_key = models.CharField(
        max_length=64,
        help_text="Fingerprint of the board rows analysed (submission ids, their ranking "
        "values, the ranking signature): a board whose rows give another key is newer.",
    )
    seed = models.BigIntegerField()
    n_bootstrap = models.PositiveIntegerField()
    seconds = models.FloatField(default=0.0, help_text="Time the analysis took.")
    payload = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-computed_at", "-id"]
        verbose_name_plural = "board analyses"
        indexes = [models.Index(fields=["phase", "site", "selection", "-computed_at"])]

    def __str__(self) -> str:
        scope = self.site.name if self.site_id else "all cases"
        return f"Analysis of {self.phase} ({scope}, {self.selection}) at {self.computed_at}"


class FrozenSnapshot(Exception):
    """An attempt to change or delete a frozen leaderboard snapshot."""


class SnapshotQuerySet(models.QuerySet):
    """Bulk updates and deletes refuse frozen snapshots, as ``save`` and ``delete`` do (a
    phase's deletion still removes them: the cascade deletes rows, it never edits them)."""

    def update(self, **kwargs):
        if self.filter(frozen_at__isnull=False).exists():
            raise FrozenSnapshot("frozen leaderboard snapshots cannot be changed")
        return super().update(**kwargs)

    def delete(self):
        if self.filter(frozen_at__isnull=False).exists():
            raise FrozenSnapshot("frozen leaderboard snapshots cannot be deleted")
        return super().delete()


class LeaderboardSnapshot(models.Model):
    """One board as one recompute left it: the history behind ``?as_of=`` and rank-over-time.

    Written by every recompute (``challenges.leaderboards.history.record_snapshots``) for each
    board it rewrites; the worker's analysis then adds the rank intervals and ties
    (``intervals_at``) and, for the per-case ranking methods, the final ranks
    (``ranks_pending`` until then). ``rows`` are the board's rows in rank order (layout in
    ``challenges.leaderboards.history``); ``ranks`` maps submission id (a string) to rank so
    one entry's rank over time is read in the database without decoding every board.

    A frozen snapshot (``frozen_at`` set) is an organiser's final board, copied from the
    latest snapshot: it is never changed again (``save`` and ``delete`` refuse, bulk updates
    too, and a database trigger refuses any UPDATE), has a permalink by ``slug`` and a
    SHA-256 ``checksum`` of its canonical JSON content (``history.canonical_content``).
    """

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="leaderboard_snapshots")
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, null=True, blank=True, related_name="leaderboard_snapshots"
    )
    selection = models.CharField(max_length=10)
    computed_at = models.DateTimeField(
        default=timezone.now, help_text="When the recompute wrote this board."
    )
    truth_version = models.CharField(max_length=64, blank=True)
    evaluator_version = models.CharField(max_length=200, blank=True)
    ranking_method = models.CharField(max_length=32)
    ranking_signature = models.CharField(max_length=64, blank=True)
    ranking_metrics = models.JSONField(default=list, help_text="The ranking criteria's paths.")
    board_key = models.CharField(max_length=64)
    ranks_pending = models.BooleanField(
        default=False, help_text="Ranks await the worker's analysis (per-case methods)."
    )
    rows = models.JSONField(default=list)
    ranks = models.JSONField(default=dict)
    intervals_at = models.DateTimeField(
        null=True, blank=True, help_text="When the analysis added rank intervals and ties."
    )
    analysis_method = models.CharField(max_length=32, blank=True)
    n_bootstrap = models.PositiveIntegerField(null=True, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    tau_previous = models.FloatField(
        null=True, blank=True, help_text="Kendall's tau-b against the previous snapshot."
    )
    n_common_previous = models.PositiveIntegerField(null=True, blank=True)
    # Freezing
    # Plain values, not foreign keys: deleting the source snapshot or the organiser must not
    # write into a frozen row (SET_NULL would).
    frozen_from = models.BigIntegerField(
        null=True, blank=True, help_text="The id of the snapshot a frozen board was copied from."
    )
    frozen_at = models.DateTimeField(null=True, blank=True, db_index=True)
    frozen_by = models.CharField(max_length=150, blank=True, help_text="Who froze it.")
    slug = models.SlugField(max_length=200, unique=True, null=True, blank=True)
    title = models.CharField(max_length=200, blank=True)
    analysis = models.JSONField(
        null=True, blank=True, help_text="Frozen boards: the stored analysis they matched."
    )
    checksum = models.CharField(max_length=64, blank=True)

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["phase", "site", "selection", "computed_at"])]

    def __str__(self) -> str:
        scope = self.site.name if self.site_id else "all cases"
        kind = "Frozen board" if self.frozen_at else "Snapshot"
        return f"{kind} of {self.phase} ({scope}) at {self.computed_at}"

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None

    def _stored_frozen(self) -> bool:
        return (
            self.pk is not None
            and not self._state.adding
            and type(self).objects.filter(pk=self.pk, frozen_at__isnull=False).exists()
        )

    def save(self, *args, **kwargs) -> None:
        """Refuse to write a snapshot that is frozen in the database: a frozen board's rows,
        checksum and analysis are final, whatever a later rerun computes."""
        if self._stored_frozen():
            raise FrozenSnapshot(f"snapshot {self.pk} is frozen and cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._stored_frozen():
            raise FrozenSnapshot(f"snapshot {self.pk} is frozen and cannot be deleted")
        return super().delete(*args, **kwargs)
