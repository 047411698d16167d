"""Organisers' back office: challenges, phases (load truth, rerun, publish/hide), teams
(members, invitations, membership log), submissions (see all, rerun, disqualify) and read-only
evaluations.

Truth sets are loaded from a folder on the server (never uploaded through the browser), so the
hidden labels never pass through MEDIA_ROOT.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from challenges import admin_display, leaderboards
from challenges.admin_forms import LoadTruthForm, PhaseAdminForm
from challenges.leaderboards import history
from challenges.models import (
    BoardAnalysis,
    Case,
    Challenge,
    Evaluation,
    LeaderboardEntry,
    LeaderboardSnapshot,
    Phase,
    Site,
    Submission,
    Team,
    TeamInvitation,
    TeamMembershipEvent,
)
from challenges.services import teams as team_service
from challenges.services.submissions import rerun_phase, rerun_submission
from challenges.services.truth import TruthLoadError, load_truth
from challenges.services.truth_status import rerun_stale, stale_submissions


class OrganiserScoped:
    """Organisers who are staff but not superusers see only their own challenges' objects."""

    challenge_path = "challenge"

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        path = f"{self.challenge_path}__organisers" if self.challenge_path else "organisers"
        return queryset.filter(**{path: request.user}).distinct()

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        """Choices of challenge, phase and team are the organiser's own: otherwise the form
        would let them create objects (a team, a site) in someone else's challenge."""
        user = request.user
        if not user.is_superuser:
            own = {
                "challenge": Challenge.objects.filter(organisers=user),
                "phase": Phase.objects.filter(challenge__organisers=user),
                "team": Team.objects.filter(challenge__organisers=user),
            }
            if db_field.name in own:
                kwargs["queryset"] = own[db_field.name].distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0
    fields = ("slug", "title", "opens_at", "closes_at", "leaderboard_visibility", "daily_limit")
    show_change_link = True


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


@admin.register(Challenge)
class ChallengeAdmin(OrganiserScoped, admin.ModelAdmin):
    challenge_path = ""  # the challenge itself
    list_display = ("slug", "title", "task_name", "created_at")
    search_fields = ("slug", "title")
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("organisers",)
    inlines = [PhaseInline, SiteInline]


@admin.register(Phase)
class PhaseAdmin(OrganiserScoped, admin.ModelAdmin):
    list_display = (
        "__str__",
        "title",
        "opens_at",
        "closes_at",
        "leaderboard_visibility",
        "truth_loaded_at",
        "truth_version_short",
    )
    list_filter = ("challenge", "leaderboard_visibility")
    form = PhaseAdminForm
    fieldsets = (
        (None, {"fields": ("challenge", "slug", "title", "opens_at", "closes_at")}),
        ("Submissions", {"fields": ("allowed_kinds", "daily_limit", "inference_seconds")}),
        (
            "Leaderboard",
            {
                "fields": (
                    "leaderboard_visibility",
                    "ranking_method",
                    "ranking_metric_1",
                    "ranking_metric_2",
                    "ranking_metric_3",
                    "ranking_metric_4",
                    "ranking_metric_5",
                    "entry_selection",
                    "per_case_visibility",
                )
            },
        ),
        ("Truth set", {"fields": ("truth_loaded_at", "truth_version", "stale_scores")}),
    )
    readonly_fields = ("truth_loaded_at", "truth_version", "stale_scores")
    actions = [
        "publish_leaderboard",
        "hide_leaderboard",
        "rerun_all",
        "rerun_stale_scores",
        "recompute_leaderboard",
        "freeze_final_boards",
    ]
    change_form_template = "admin/challenges/phase/change_form.html"

    def get_form(self, request: HttpRequest, obj: Phase | None = None, change=False, **kwargs):
        """The form's ranking choices are the metrics of the phase's challenge's task (on
        "add", of the challenge chosen in the request, once there is one)."""
        form = super().get_form(request, obj, change=change, **kwargs)
        challenge = obj.challenge if obj is not None else self._requested_challenge(request)

        class ChallengeForm(form):
            def __init__(self, *args, **inner) -> None:
                inner.setdefault("challenge", challenge)
                super().__init__(*args, **inner)

        return ChallengeForm

    def _requested_challenge(self, request: HttpRequest) -> Challenge | None:
        ref = request.POST.get("challenge") or request.GET.get("challenge") or ""
        if not ref.isdigit():
            return None
        own = Challenge.objects.all()
        if not request.user.is_superuser:
            own = own.filter(organisers=request.user)
        return own.filter(pk=int(ref)).first()

    @admin.display(description="truth version")
    def truth_version_short(self, phase: Phase) -> str:
        return phase.truth_version[:12] or "–"

    @admin.display(description="scores to redo")
    def stale_scores(self, phase: Phase) -> str:
        if not phase.pk or not phase.truth_version:
            return "–"
        n = stale_submissions(phase).count()
        if not n:
            return "None: every current score used this truth set."
        url = reverse("admin:challenges_phase_rerun_stale", args=[phase.pk])
        return format_html(
            '{} submission(s) were scored against an earlier truth set. <a href="{}">Rerun them</a>',
            n,
            url,
        )

    def get_urls(self):
        return [
            path(
                "<int:phase_id>/load-truth/",
                self.admin_site.admin_view(self.load_truth_view),
                name="challenges_phase_load_truth",
            ),
            path(
                "<int:phase_id>/rerun-stale/",
                self.admin_site.admin_view(self.rerun_stale_view),
                name="challenges_phase_rerun_stale",
            ),
            *super().get_urls(),
        ]

    def load_truth_view(self, request: HttpRequest, phase_id: int):
        phase = get_object_or_404(self.get_queryset(request), pk=phase_id)
        if not self.has_change_permission(request, phase):
            return HttpResponseRedirect(reverse("admin:index"))
        form = LoadTruthForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                count = load_truth(
                    phase,
                    data["source_dir"],
                    data["layout"],
                    site_map=data["site_map"] or None,
                    site_column=data["site_column"] or None,
                )
            except TruthLoadError as exc:
                form.add_error(None, str(exc))
            else:
                sites = ", ".join(
                    f"{row['site__name']} ({row['n']})"
                    for row in phase.cases.values("site__name")
                    .annotate(n=Count("pk"))
                    .order_by("site__name")
                )
                stale = stale_submissions(phase).count()
                self.message_user(
                    request,
                    f"Loaded {count} cases into {phase}: {sites}. "
                    f"Truth version {phase.truth_version[:12]}."
                    + (
                        f" {stale} scored submission(s) predate it: rerun them from this page."
                        if stale
                        else ""
                    ),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:challenges_phase_change", args=[phase.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Load truth set for {phase}",
            "form": form,
            "phase": phase,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/challenges/phase/load_truth.html", context)

    def rerun_stale_view(self, request: HttpRequest, phase_id: int):
        """Confirm, then queue every submission scored against an earlier truth set."""
        phase = get_object_or_404(self.get_queryset(request), pk=phase_id)
        if not self.has_change_permission(request, phase):
            return HttpResponseRedirect(reverse("admin:index"))
        if request.method == "POST":
            n = rerun_stale(phase)
            self.message_user(
                request, f"{n} submission(s) of {phase} queued for scoring again.", messages.SUCCESS
            )
            return HttpResponseRedirect(reverse("admin:challenges_phase_change", args=[phase.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Rerun stale scores of {phase}",
            "phase": phase,
            "stale": stale_submissions(phase).select_related("team", "creator"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/challenges/phase/rerun_stale.html", context)

    @admin.action(description="Publish leaderboard")
    def publish_leaderboard(self, request: HttpRequest, queryset: QuerySet[Phase]) -> None:
        n = queryset.update(leaderboard_visibility=Phase.Visibility.PUBLIC)
        self.message_user(request, f"{n} leaderboard(s) published.")

    @admin.action(description="Hide leaderboard")
    def hide_leaderboard(self, request: HttpRequest, queryset: QuerySet[Phase]) -> None:
        n = queryset.update(leaderboard_visibility=Phase.Visibility.HIDDEN)
        self.message_user(request, f"{n} leaderboard(s) hidden.")

    @admin.action(description="Rerun all submissions of the phase")
    def rerun_all(self, request: HttpRequest, queryset: QuerySet[Phase]) -> None:
        n = sum(rerun_phase(phase) for phase in queryset)
        self.message_user(request, f"{n} submission(s) queued for scoring again.")

    @admin.action(description="Rerun submissions scored against an earlier truth set")
    def rerun_stale_scores(self, request: HttpRequest, queryset: QuerySet[Phase]) -> None:
        n = sum(rerun_stale(phase) for phase in queryset)
        self.message_user(request, f"{n} stale-scored submission(s) queued for scoring again.")

    @admin.action(description="Recompute leaderboard")
    def recompute_leaderboard(self, request: HttpRequest, queryset: QuerySet[Phase]) -> None:
        for phase in queryset:
            leaderboards.recompute(phase)
        self.message_user(request, "Leaderboards recomputed.")

    @admin.action(description="Freeze final leaderboards (every board, immutable)")
    def freeze_final_boards(self, request: HttpRequest, queryset: QuerySet[Phase]) -> None:
        """Freeze each selected phase's boards (all cases and every site) as they are now:
        immutable copies with a permalink and a checksum (``leaderboards.history.freeze``)."""
        for phase in queryset.select_related("challenge"):
            for scope in leaderboards.board_scopes(phase):
                try:
                    frozen = history.freeze(phase, scope, by=request.user.get_username())
                except history.FreezeRefused as exc:
                    self.message_user(request, f"{phase} ({scope.key}): {exc}", messages.ERROR)
                    continue
                self.message_user(
                    request,
                    f"{phase} ({scope.key}) frozen as {frozen.slug}, SHA-256 {frozen.checksum}.",
                )


@admin.register(Case)
class CaseAdmin(OrganiserScoped, admin.ModelAdmin):
    challenge_path = "phase__challenge"
    list_display = ("case_id", "phase", "site", "spacing_row_mm", "spacing_col_mm")
    list_filter = ("phase", "site")
    search_fields = ("case_id",)


class MembershipFormSet(forms.BaseInlineFormSet):
    """Refuses to put a user in a second team of the same challenge."""

    def clean(self) -> None:
        super().clean()
        team = self.instance
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            user = form.cleaned_data.get("user")
            if user is None or not team.challenge_id:
                continue
            other = Team.objects.filter(challenge_id=team.challenge_id, members=user)
            other = other.exclude(pk=team.pk).first()
            if other is not None:
                form.add_error("user", f"Already in team “{other.name}” of this challenge.")


class MembershipInline(admin.TabularInline):
    """Members; deleting a row removes the member (logged, their open invitations revoked)."""

    model = Team.members.through
    formset = MembershipFormSet
    extra = 0
    raw_id_fields = ("user",)
    verbose_name = "member"
    verbose_name_plural = "members (tick Delete to remove one; every change is logged)"


class InvitationInline(admin.TabularInline):
    model = TeamInvitation
    extra = 0
    fields = ("created_by", "created_at", "expires_at", "state", "accepted_by", "revoked_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = TeamMembershipEvent
    fk_name = "team"
    extra = 0
    fields = ("created_at", "kind", "actor", "member", "invitation")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "membership log"

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(OrganiserScoped, admin.ModelAdmin):
    """Teams with their members, invitations and log. Membership is edited through the
    members inline so that each change goes through the team service and is logged."""

    list_display = ("name", "challenge", "member_names", "created_at")
    list_filter = ("challenge",)
    search_fields = ("name", "members__username")
    fields = ("challenge", "name", "created_at")
    inlines = [MembershipInline, InvitationInline, EventInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("members")

    @admin.display(description="members")
    def member_names(self, team: Team) -> str:
        return ", ".join(sorted(m.get_username() for m in team.members.all())) or "–"

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not Team.members.through:
            super().save_formset(request, form, formset, change)
            return
        team = form.instance
        formset.save(commit=False)  # fills deleted_objects / new_objects / changed_objects
        for row in formset.deleted_objects:
            team_service.remove_member(team, row.user, request.user)
        for row, _ in formset.changed_objects:
            old = Team.members.through.objects.get(pk=row.pk).user
            team_service.remove_member(team, old, request.user)
            team_service.add_member(team, row.user, request.user)
        for row in formset.new_objects:
            team_service.add_member(team, row.user, request.user)


@admin.register(TeamInvitation)
class TeamInvitationAdmin(OrganiserScoped, admin.ModelAdmin):
    challenge_path = "team__challenge"
    list_display = ("team", "challenge", "created_by", "created_at", "expires_at", "state")
    list_display += ("accepted_by",)
    list_filter = ("team__challenge",)
    search_fields = ("team__name", "created_by__username", "accepted_by__username")
    list_select_related = ("team__challenge", "created_by", "accepted_by")
    fields = ("team", "token_start", "created_by", "created_at", "expires_at", "state")
    fields += ("accepted_by", "accepted_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members create invitations; organisers add members directly

    @admin.display(description="challenge")
    def challenge(self, invitation: TeamInvitation) -> Challenge:
        return invitation.team.challenge

    @admin.display(description="token")
    def token_start(self, invitation: TeamInvitation) -> str:
        return invitation.token[:6] + "…"  # enough to match a reported link, not to use it

    @admin.action(description="Revoke selected invitations")
    def revoke(self, request: HttpRequest, queryset: QuerySet[TeamInvitation]) -> None:
        n = sum(
            team_service.revoke_invitation(invitation, request.user, organiser=True)
            for invitation in queryset
        )
        self.message_user(request, f"{n} invitation(s) revoked (the others were not open).")


@admin.register(TeamMembershipEvent)
class TeamMembershipEventAdmin(OrganiserScoped, admin.ModelAdmin):
    """The membership log, read-only."""

    list_display = ("created_at", "challenge", "team_name", "kind", "actor", "member")
    list_filter = ("kind", "challenge")
    search_fields = ("team_name", "actor__username", "member__username")
    list_select_related = ("challenge", "actor", "member")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _headline_keys(phase: Phase) -> list[str]:
    """The metrics a phase ranks by ("class.metric"): the scores worth reading first."""
    try:
        return [c.path for c in leaderboards.ranking_criteria(phase)]
    except Exception:  # noqa: BLE001 - a broken task must not make the page fail
        return []


def _truth_state(evaluation: Evaluation) -> str:
    current = evaluation.submission.phase.truth_version
    version = evaluation.truth_version[:12] or "unknown"
    if not current:
        return version
    if evaluation.truth_version == current:
        return f"{version} (current)"
    return f"{version} (earlier than the current {current[:12]}: rerun to update)"


class EvaluationColumns:
    """The `truth` and `scores` columns of an evaluation, for the submission page's inline
    list and the evaluation admin alike."""

    @admin.display(description="truth version")
    def truth(self, evaluation: Evaluation) -> str:
        return _truth_state(evaluation)

    @admin.display(description="headline scores (mean [95% CI])")
    def scores(self, evaluation: Evaluation) -> str:
        return admin_display.headline_scores(
            evaluation, _headline_keys(evaluation.submission.phase)
        )


class EvaluationInline(EvaluationColumns, admin.TabularInline):
    """Every evaluation of the submission, newest first, with the truth it was scored
    against and its headline scores."""

    model = Evaluation
    extra = 0
    fields = ("created_at", "is_current", "truth", "evaluator_version", "scores")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Submission)
class SubmissionAdmin(OrganiserScoped, admin.ModelAdmin):
    """One submission whole: who and what, status and why it failed, the upload (organisers
    download it), the model run with its log, measured size and speed, every evaluation."""

    challenge_path = "phase__challenge"
    list_display = (
        "id",
        "phase",
        "team",
        "creator",
        "method_name",
        "status",
        "progress",
        "disqualified",
        "created_at",
    )
    list_filter = ("phase__challenge", "phase", "status", "disqualified", "fine_tuning_strategy")
    search_fields = ("method_name", "team__name", "creator__username", "sha256")
    list_select_related = ("phase__challenge", "team", "creator")
    fieldsets = (
        (
            "Status",
            {"fields": ("status", "failure_reason", "progress", "attempts", "state_changed_at")},
        ),
        (
            "Submission",
            {
                "fields": (
                    "phase",
                    "team",
                    "creator",
                    "kind",
                    "method_name",
                    "backbone",
                    "fine_tuning_strategy",
                    "paper_url",
                    "code_url",
                    "disqualified",
                    "created_at",
                )
            },
        ),
        ("Upload", {"fields": ("upload", "original_filename", "sha256", "size_bytes")}),
        (
            "Model size and speed",
            {
                "fields": ("measured", "params_total", "params_trainable", "params_source"),
                "description": "Declared counts may be corrected below; FLOPs and latency "
                "are measured by the inference worker only.",
            },
        ),
        ("Model run (inference)", {"fields": ("inference_run",)}),
    )
    readonly_fields = (
        "upload",
        "sha256",
        "size_bytes",
        "original_filename",
        "status",
        "failure_reason",
        "progress",
        "state_changed_at",
        "attempts",
        "measured",
        "inference_run",
    )
    # The stored file is shown (and downloadable) through `upload`: the default file widget
    # asks the storage for a URL, which private uploads do not have (the page was a 500).
    exclude = ("file",)
    inlines = [EvaluationInline]
    actions = ["rerun", "disqualify", "requalify"]

    class Media:
        css = {"all": ("challenges/admin.css",)}

    @admin.display(description="Status detail / failure reason")
    def failure_reason(self, submission: Submission) -> str:
        return admin_display.status_detail(submission)

    @admin.display(description="Measured")
    def measured(self, submission: Submission) -> str:
        return admin_display.measurements(submission)

    @admin.display(description="Run summary and log tail")
    def inference_run(self, submission: Submission) -> str:
        return admin_display.inference_summary(submission.inference)

    @admin.display(description="Upload")
    def upload(self, submission: Submission) -> str:
        if not submission.pk or not submission.file:
            return "-"
        url = reverse("admin:challenges_submission_download", args=[submission.pk])
        return format_html(
            '<a href="{}">Download {}</a> ({} bytes)',
            url,
            submission.original_filename or "the upload",
            submission.size_bytes,
        )

    def get_urls(self):
        download = path(
            "<int:pk>/download/",
            self.admin_site.admin_view(self.download),
            name="challenges_submission_download",
        )
        return [download, *super().get_urls()]

    def download(self, request: HttpRequest, pk: int) -> FileResponse:
        """The participant's upload, for the challenge's organisers only (the admin's own
        scoping: a staff organiser sees only their challenges' submissions)."""
        submission = self.get_queryset(request).filter(pk=pk).first()
        if submission is None or not self.has_view_permission(request, submission):
            raise Http404
        if not submission.file or not submission.file.storage.exists(submission.file.name):
            raise Http404("The uploaded file is missing.")
        name = submission.original_filename or f"submission-{submission.pk}.bin"
        return FileResponse(submission.file.open("rb"), as_attachment=True, filename=name)

    @admin.action(description="Rerun selected submissions")
    def rerun(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        for submission in queryset:
            rerun_submission(submission)
        self.message_user(request, f"{queryset.count()} submission(s) queued again.")

    def _set_disqualified(self, queryset: QuerySet[Submission], value: bool) -> int:
        phases = {s.phase for s in queryset.select_related("phase__challenge")}
        n = queryset.update(disqualified=value)
        for phase in phases:
            leaderboards.recompute(phase)
        return n

    @admin.action(description="Disqualify (remove from leaderboards)")
    def disqualify(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        n = self._set_disqualified(queryset, True)
        self.message_user(request, f"{n} submission(s) disqualified.")

    @admin.action(description="Undo disqualification")
    def requalify(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        n = self._set_disqualified(queryset, False)
        self.message_user(request, f"{n} submission(s) back on the leaderboards.")


@admin.register(Evaluation)
class EvaluationAdmin(EvaluationColumns, OrganiserScoped, admin.ModelAdmin):
    challenge_path = "submission__phase__challenge"

    list_display = (
        "id",
        "submission",
        "evaluator_version",
        "truth_version_short",
        "is_current",
        "created_at",
    )
    list_filter = ("is_current",)
    fields = (
        "submission",
        "created_at",
        "is_current",
        "evaluator_version",
        "truth",
        "scores",
        "results",
    )
    readonly_fields = fields

    @admin.display(description="truth version")
    def truth_version_short(self, evaluation: Evaluation) -> str:
        return evaluation.truth_version[:12] or "unknown"


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(OrganiserScoped, admin.ModelAdmin):
    challenge_path = "phase__challenge"
    list_display = ("phase", "site", "rank", "submission", "score", "computed_at")
    list_filter = ("phase", "site")
    list_select_related = ("phase__challenge", "site", "submission")


@admin.register(LeaderboardSnapshot)
class LeaderboardSnapshotAdmin(OrganiserScoped, admin.ModelAdmin):
    """Board history and frozen final boards: read only (snapshots are written by recomputes
    and the worker's analysis; frozen ones can never change, the model refuses it)."""

    challenge_path = "phase__challenge"
    list_display = (
        "phase",
        "site",
        "computed_at",
        "ranking_method",
        "ranks_pending",
        "tau_previous",
        "frozen_at",
        "slug",
        "checksum_ok",
    )
    list_filter = ("phase", "site", ("frozen_at", admin.EmptyFieldListFilter))
    list_select_related = ("phase__challenge", "site")
    exclude = ("rows", "ranks", "analysis")

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return obj is None or not obj.is_frozen

    @admin.display(description="checksum verifies", boolean=True)
    def checksum_ok(self, snapshot: LeaderboardSnapshot) -> bool | None:
        return history.verify(snapshot) if snapshot.is_frozen else None


@admin.register(BoardAnalysis)
class BoardAnalysisAdmin(OrganiserScoped, admin.ModelAdmin):
    """The worker's stored board analyses: read only."""

    challenge_path = "phase__challenge"
    list_display = (
        "phase",
        "site",
        "selection",
        "computed_at",
        "ranking_method",
        "n_bootstrap",
        "seconds",
        "note",
    )
    list_filter = ("phase", "site")
    list_select_related = ("phase__challenge", "site")
    exclude = ("payload",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
