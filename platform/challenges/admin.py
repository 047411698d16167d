"""Organisers' back office: challenges, phases (load truth, rerun, publish/hide), submissions
(see all, rerun, disqualify) and read-only evaluations.

Truth sets are loaded from a folder on the server (never uploaded through the browser), so the
hidden labels never pass through MEDIA_ROOT.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from challenges import leaderboards
from challenges.models import (
    Case,
    Challenge,
    Evaluation,
    LeaderboardEntry,
    Phase,
    Site,
    Submission,
    Team,
)
from challenges.services.submissions import rerun_phase, rerun_submission
from challenges.services.truth import LAYOUTS, TruthLoadError, load_truth


class OrganiserScoped:
    """Organisers who are staff but not superusers see only their own challenges' objects."""

    challenge_path = "challenge"

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        path = f"{self.challenge_path}__organisers" if self.challenge_path else "organisers"
        return queryset.filter(**{path: request.user}).distinct()


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


class LoadTruthForm(forms.Form):
    source_dir = forms.CharField(
        label="Folder on the server",
        help_text="Absolute path readable by the web process, e.g. /srv/truth/hc18-test.",
    )
    layout = forms.ChoiceField(choices=[(name, name) for name in LAYOUTS], initial="canonical")


@admin.register(Phase)
class PhaseAdmin(OrganiserScoped, admin.ModelAdmin):
    list_display = (
        "__str__",
        "title",
        "opens_at",
        "closes_at",
        "leaderboard_visibility",
        "truth_loaded_at",
    )
    list_filter = ("challenge", "leaderboard_visibility")
    readonly_fields = ("truth_loaded_at",)
    actions = ["publish_leaderboard", "hide_leaderboard", "rerun_all", "recompute_leaderboard"]
    change_form_template = "admin/challenges/phase/change_form.html"

    def get_urls(self):
        return [
            path(
                "<int:phase_id>/load-truth/",
                self.admin_site.admin_view(self.load_truth_view),
                name="challenges_phase_load_truth",
            ),
            *super().get_urls(),
        ]

    def load_truth_view(self, request: HttpRequest, phase_id: int):
        phase = get_object_or_404(self.get_queryset(request), pk=phase_id)
        if not self.has_change_permission(request, phase):
            return HttpResponseRedirect(reverse("admin:index"))
        form = LoadTruthForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                count = load_truth(
                    phase, form.cleaned_data["source_dir"], form.cleaned_data["layout"]
                )
            except TruthLoadError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Loaded {count} cases into {phase}.", messages.SUCCESS)
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

    @admin.action(description="Recompute leaderboard")
    def recompute_leaderboard(self, request: HttpRequest, queryset: QuerySet[Phase]) -> None:
        for phase in queryset:
            leaderboards.recompute(phase)
        self.message_user(request, "Leaderboards recomputed.")


@admin.register(Case)
class CaseAdmin(OrganiserScoped, admin.ModelAdmin):
    challenge_path = "phase__challenge"
    list_display = ("case_id", "phase", "site", "spacing_row_mm", "spacing_col_mm")
    list_filter = ("phase", "site")
    search_fields = ("case_id",)


@admin.register(Team)
class TeamAdmin(OrganiserScoped, admin.ModelAdmin):
    list_display = ("name", "challenge", "created_at")
    list_filter = ("challenge",)
    filter_horizontal = ("members",)


class EvaluationInline(admin.TabularInline):
    model = Evaluation
    extra = 0
    fields = ("created_at", "evaluator_version", "is_current")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Submission)
class SubmissionAdmin(OrganiserScoped, admin.ModelAdmin):
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
    readonly_fields = (
        "sha256",
        "size_bytes",
        "original_filename",
        "status",
        "status_detail",
        "progress",
        "state_changed_at",
        "attempts",
    )
    inlines = [EvaluationInline]
    actions = ["rerun", "disqualify", "requalify"]

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
class EvaluationAdmin(OrganiserScoped, admin.ModelAdmin):
    challenge_path = "submission__phase__challenge"

    list_display = ("id", "submission", "evaluator_version", "is_current", "created_at")
    list_filter = ("is_current",)
    readonly_fields = ("submission", "results", "evaluator_version", "created_at", "is_current")


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(OrganiserScoped, admin.ModelAdmin):
    challenge_path = "phase__challenge"
    list_display = ("phase", "site", "rank", "submission", "score", "computed_at")
    list_filter = ("phase", "site")
    list_select_related = ("phase__challenge", "site", "submission")
