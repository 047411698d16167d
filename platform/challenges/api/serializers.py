"""API representations. No field ever carries a server path: uploads are identified by their
sha256 and original name, truth sets by their case count only."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from challenges.models import Challenge, Phase, Submission, Team, TeamInvitation
from challenges.services.run_log import run_summary
from challenges.services.scores import submission_scores
from challenges.services.submissions import MAX_PARAMETERS


class PhaseSerializer(serializers.ModelSerializer):
    challenge = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    is_open = serializers.SerializerMethodField()
    ranking_metrics = serializers.SerializerMethodField(
        help_text='The phase\'s own ranking metrics, first = primary, as [{"class": "head", '
        '"metric": "dice"}]; empty: the task\'s ranking (the board\'s ranking columns say '
        "which metrics rank)"
    )
    sites = serializers.SerializerMethodField()
    max_upload_bytes = serializers.SerializerMethodField(
        help_text="Largest submission file the server accepts (larger uploads get 413)"
    )

    class Meta:
        model = Phase
        fields = [
            "id",
            "challenge",
            "slug",
            "title",
            "opens_at",
            "closes_at",
            "is_open",
            "leaderboard_visibility",
            "allowed_kinds",
            "daily_limit",
            "ranking_method",
            "ranking_metrics",
            "entry_selection",
            "per_case_visibility",
            "sites",
            "max_upload_bytes",
        ]

    def get_is_open(self, phase: Phase) -> bool:
        return phase.is_open()

    def get_ranking_metrics(self, phase: Phase) -> list[dict[str, str]]:
        """The API's published shape, unchanged for its clients (``reference_models`` reads
        it), although the phase stores the task's ranking shape (``[{"metric": "head.dice"}]``)
        since migration 0008."""
        return [{"class": spec.group, "metric": spec.name} for spec in phase.ranking_specs]

    def get_sites(self, phase: Phase) -> list[str]:
        return [site.name for site in phase.challenge.sites.all()]

    def get_max_upload_bytes(self, phase: Phase) -> int:
        """So that a client can refuse a file that is too large before uploading it."""
        return settings.SUBMISSION_MAX_BYTES


class ChallengeSerializer(serializers.ModelSerializer):
    phases = PhaseSerializer(many=True, read_only=True)

    class Meta:
        model = Challenge
        fields = ["slug", "title", "description", "task_name", "task_spec", "created_at", "phases"]


class TeamSerializer(serializers.ModelSerializer):
    challenge = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    members = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "challenge", "name", "members"]


class JoinSerializer(serializers.Serializer):
    team_name = serializers.CharField(required=False, allow_blank=True, max_length=100)


class TeamInvitationSerializer(serializers.ModelSerializer):
    """An invitation as its team's members and its holder see it; ``url`` is the web page
    where a logged-in user accepts it."""

    team = serializers.CharField(source="team.name", read_only=True)
    challenge = serializers.CharField(source="team.challenge.slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    state = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = TeamInvitation
        fields = ["id", "token", "url", "team", "challenge", "created_by", "created_at"]
        fields += ["expires_at", "state"]
        read_only_fields = fields

    def get_url(self, invitation: TeamInvitation) -> str:
        path = reverse("web:invitation", args=[invitation.token])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class InvitationCreateSerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=30)


class SubmissionSerializer(serializers.ModelSerializer):
    phase = serializers.PrimaryKeyRelatedField(read_only=True)
    challenge = serializers.SlugRelatedField(
        source="phase.challenge", slug_field="slug", read_only=True
    )
    team = serializers.StringRelatedField()
    creator = serializers.SlugRelatedField(slug_field="username", read_only=True)
    status_display = serializers.CharField(
        source="get_status_display", read_only=True, help_text='e.g. "Running inference"'
    )

    class Meta:
        model = Submission
        fields = [
            "id",
            "challenge",
            "phase",
            "team",
            "creator",
            "kind",
            "original_filename",
            "sha256",
            "size_bytes",
            "method_name",
            "backbone",
            "fine_tuning_strategy",
            "params_total",
            "params_trainable",
            "params_source",
            "flops",
            "latency_ms",
            "paper_url",
            "code_url",
            "status",
            "status_display",
            "status_detail",
            "progress",
            "created_at",
            "state_changed_at",
            "attempts",
            "disqualified",
        ]
        read_only_fields = fields


class SubmissionDetailSerializer(SubmissionSerializer):
    """One submission as its owners see it: also its own scores (overall and per site, with
    95 % intervals; shown whatever the board's visibility) and the summary of its model run."""

    scores = serializers.SerializerMethodField(
        help_text="null until scored: metrics, sites and values[site][metric] = "
        "{mean, ci95_low, ci95_high, n, n_nan}"
    )
    run = serializers.SerializerMethodField(
        help_text="Model/container submissions: the run's status, message, log tail (stderr "
        "lines kept), wall time and exit code; null for uploaded predictions"
    )

    class Meta(SubmissionSerializer.Meta):
        fields = [*SubmissionSerializer.Meta.fields, "scores", "run"]
        read_only_fields = fields

    def get_scores(self, submission: Submission) -> dict | None:
        return submission_scores(submission)

    def get_run(self, submission: Submission) -> dict | None:
        return run_summary(submission)


class QuotaSerializer(serializers.Serializer):
    """What is left of a phase's daily limit for the caller (challenges.services.quota)."""

    limit = serializers.IntegerField(help_text="submissions per 24 h; 0 = no limit")
    used = serializers.IntegerField(help_text="counted in the last 24 h (failed/cancelled not)")
    remaining = serializers.IntegerField(allow_null=True, help_text="null: no limit")
    resets_at = serializers.DateTimeField(
        allow_null=True, help_text="when the oldest counted submission frees its slot"
    )
    window_hours = serializers.IntegerField()
    exempt = serializers.BooleanField(help_text="organisers have no limit")


class SubmissionCreateSerializer(serializers.Serializer):
    """Multipart form: the file plus the method description (checked again by the service)."""

    phase = serializers.PrimaryKeyRelatedField(queryset=Phase.objects.select_related("challenge"))
    file = serializers.FileField()
    kind = serializers.ChoiceField(
        choices=Submission.Kind.choices, default=Submission.Kind.PREDICTIONS
    )
    method_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    backbone = serializers.CharField(required=False, allow_blank=True, max_length=200)
    fine_tuning_strategy = serializers.ChoiceField(
        choices=Submission.Strategy.choices, required=False
    )
    params_total = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=MAX_PARAMETERS
    )
    params_trainable = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=MAX_PARAMETERS
    )
    paper_url = serializers.URLField(required=False, allow_blank=True)
    code_url = serializers.URLField(required=False, allow_blank=True)


class CaseResultSerializer(serializers.Serializer):
    case = serializers.CharField()
    site = serializers.CharField()
    flags = serializers.ListField(child=serializers.CharField(), required=False)
    metrics = serializers.DictField()
