"""Admin forms for phases: allowed kinds and ranking metrics chosen from lists, and loading a
truth set with a site mapping.

Organisers used to type ``allowed_kinds`` and ``ranking_metrics`` as raw JSON, where a typo
("hc_abs_error_mm", "model " with a space) was only caught, if at all, by a message quoting
Python reprs. Here the kinds are checkboxes and the ranking metrics ordered selects whose
choices are the metrics the challenge's task actually writes (``evaluator.tasks.metric_paths``),
labelled with their direction.
"""

from __future__ import annotations

from django import forms

from challenges.models import Challenge, Phase, Submission
from challenges.services.truth import LAYOUTS
from evaluator.metric_spec import MetricSpec, UnknownMetric
from evaluator.tasks import metric_paths

#: Ordered ranking-metric selects shown (first = primary); more than enough for tie-breaking.
RANKING_SLOTS = 5


def metric_label(path: str) -> str:
    """"head.hd95" -> "head · hd95 (lower is better)"; a measurement with no better side
    (docs/tasks.md) says it is ranked ascending."""
    group, _, metric = path.partition(".")
    try:
        spec = MetricSpec.of(path)
    except UnknownMetric:
        direction = "direction unknown"
    else:
        if spec.direction is None:
            direction = "measurement, ranked ascending"
        else:
            direction = f"{spec.direction} is better"
    return f"{group} · {metric} ({direction})"


def metric_choices(challenge: Challenge | None) -> list[tuple[str, str]]:
    """("group.metric", label) for every metric the challenge's task results carry."""
    if challenge is None:
        return []
    try:
        task = challenge.get_task()
    except Exception:  # noqa: BLE001 - an unknown task offers nothing to choose
        return []
    return [(path, metric_label(path)) for path in metric_paths(task)]


def _ranking_slot(slot: int) -> forms.ChoiceField:
    """One ordered ranking-metric select; its choices are set per challenge in the form."""
    return forms.ChoiceField(
        label="Ranking metric 1 (primary)" if slot == 1 else f"Ranking metric {slot}",
        choices=[("", "—")],
        required=False,
        help_text=(
            "Leave all empty to rank by the task's own metrics; later ones break ties "
            "(or are averaged, for mean-rank ranking)."
            if slot == 1
            else ""
        ),
    )


class PhaseAdminForm(forms.ModelForm):
    """The phase form with `allowed_kinds` as checkboxes and `ranking_metrics` as selects."""

    allowed_kinds = forms.MultipleChoiceField(
        choices=Submission.Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="What participants may submit in this phase.",
    )
    # Declared here (not only in __init__) so the admin's fieldsets can name them.
    ranking_metric_1 = _ranking_slot(1)
    ranking_metric_2 = _ranking_slot(2)
    ranking_metric_3 = _ranking_slot(3)
    ranking_metric_4 = _ranking_slot(4)
    ranking_metric_5 = _ranking_slot(5)

    class Meta:
        model = Phase
        exclude = ("ranking_metrics",)

    def __init__(self, *args, challenge: Challenge | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if challenge is None and self.instance.challenge_id:
            challenge = self.instance.challenge
        choices = metric_choices(challenge)
        current = [spec.path for spec in self.instance.ranking_specs]
        known = {path for path, _ in choices}
        # A stored metric the task no longer offers stays visible, so saving does not drop it
        # silently; the model's check then names the problem.
        choices += [
            (path, f"{path} (not a metric of this task)") for path in current if path not in known
        ]
        for slot in range(RANKING_SLOTS):
            field = self.fields.get(f"ranking_metric_{slot + 1}")
            if field is None:
                continue
            field.choices = [("", "—"), *choices]
            if not self.is_bound:
                self.initial[f"ranking_metric_{slot + 1}"] = (
                    current[slot] if slot < len(current) else ""
                )
        if not choices and "ranking_metric_1" in self.fields:
            self.fields["ranking_metric_1"].help_text = (
                "Choose the challenge and save first: the choices are its task's metrics."
            )
        if not self.is_bound and self.instance.pk:
            self.initial["allowed_kinds"] = list(self.instance.allowed_kinds or [])

    def clean(self) -> dict:
        cleaned = super().clean()
        chosen = [
            cleaned.get(f"ranking_metric_{slot + 1}") or "" for slot in range(RANKING_SLOTS)
        ]
        picked = [path for path in chosen if path]
        if len(set(picked)) != len(picked):
            raise forms.ValidationError("Each ranking metric can be chosen once.")
        # None chosen means "the task's own ranking metrics" (an empty list); note that
        # chosen[:-1] would be every slot but the last, hence the explicit count.
        filled = max((i + 1 for i, path in enumerate(chosen) if path), default=0)
        if any(not path for path in chosen[:filled]):
            raise forms.ValidationError("Fill the ranking metrics in order, without gaps.")
        self.instance.ranking_metrics = [{"metric": path} for path in picked]
        if "allowed_kinds" in cleaned:
            self.instance.allowed_kinds = list(cleaned["allowed_kinds"])
        return cleaned


class LoadTruthForm(forms.Form):
    source_dir = forms.CharField(
        label="Folder on the server",
        help_text="Absolute path readable by the web process, e.g. /srv/truth/hc18-test.",
    )
    layout = forms.ChoiceField(choices=[(name, name) for name in LAYOUTS], initial="canonical")
    site_map = forms.CharField(
        label="Site mapping CSV (optional)",
        required=False,
        help_text="A CSV on the server with a case (or filename) column and a site column: "
        "each case's acquisition site. Without it, HC18 and PSFHS imports put every case in "
        "one site and canonical sets keep the sites of their cases.csv.",
    )
    site_column = forms.CharField(
        label="Site column (optional)",
        required=False,
        help_text="The mapping's site column when it is not called 'site'; for an HC18 "
        "release without a mapping, a column of its own training_set_pixel_size_and_HC.csv.",
    )
