"""Forms of the web pages (the service layer re-checks everything they accept)."""

from __future__ import annotations

from challenges.models import Submission
from challenges.services.submissions import MAX_PARAMETERS
from django import forms
from django.contrib.auth.forms import UserCreationForm

#: What the file field asks for, by kind (the page switches them when the kind changes).
FILE_WORDING = {
    Submission.Kind.PREDICTIONS: (
        "Predictions archive",
        "A .zip (or .tar.gz) with one label image per case, named <case>.png.",
    ),
    Submission.Kind.MODEL: (
        "Model file (zip)",
        "A .zip with the network (model.onnx, model.pt2 or model.pt) and its model.json, as "
        "`python -m reference_models export` writes it.",
    ),
    Submission.Kind.CONTAINER: (
        "Container image",
        "A `docker save` archive (.tar or .tar.gz) of an image that reads /input and writes "
        "/output (docs/model-container.md).",
    ),
}


class SubmissionForm(forms.Form):
    """Upload + the method description that feeds the leaderboard and the Pareto plot."""

    file = forms.FileField(
        label="Predictions archive",
        help_text="A .zip (or .tar.gz) with one label image per case, named <case>.png.",
    )
    kind = forms.ChoiceField(
        choices=Submission.Kind.choices, initial=Submission.Kind.PREDICTIONS, required=False
    )
    method_name = forms.CharField(max_length=200, label="Method name")
    team_name = forms.CharField(
        max_length=100,
        required=False,
        label="Team",
        help_text="A new team is created with this name on your first submission (the name must "
        "be free; to join an existing team, open an invitation link from one of its members).",
    )
    backbone = forms.CharField(max_length=200, required=False, help_text="e.g. resnet34, vit_b")
    # Optional and blank by default: a team that does not say (mask submissions often have
    # nothing to say) is stored as "other" and reported as "not stated", never as a strategy
    # it did not choose.
    fine_tuning_strategy = forms.ChoiceField(
        choices=[("", "Not stated / other"), *Submission.Strategy.choices],
        initial="",
        required=False,
        label="Fine-tuning strategy",
        help_text="Optional: how the backbone was adapted, if you want to say.",
    )
    params_total = forms.IntegerField(
        min_value=0, max_value=MAX_PARAMETERS, required=False, label="Total parameters"
    )
    params_trainable = forms.IntegerField(
        min_value=0, max_value=MAX_PARAMETERS, required=False, label="Trainable parameters"
    )
    paper_url = forms.URLField(required=False, label="Paper link", assume_scheme="https")
    code_url = forms.URLField(required=False, label="Code link", assume_scheme="https")

    def __init__(self, *args, allowed_kinds=None, team=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if allowed_kinds:
            self.fields["kind"].choices = [
                c for c in Submission.Kind.choices if c[0] in allowed_kinds
            ]
        if len(self.fields["kind"].choices) == 1:
            self.fields["kind"].widget = forms.HiddenInput()
            self.fields["kind"].initial = self.fields["kind"].choices[0][0]
        first = self.fields["kind"].choices[0][0] if self.fields["kind"].choices else None
        label, help_text = FILE_WORDING.get(first, FILE_WORDING[Submission.Kind.PREDICTIONS])
        self.fields["file"].label, self.fields["file"].help_text = label, help_text
        # behaviours.js rewrites the file field's label and help when the kind changes.
        attrs = self.fields["kind"].widget.attrs
        attrs["data-describes"] = "id_file"
        for kind, (kind_label, kind_help) in FILE_WORDING.items():
            attrs[f"data-label-{kind}"] = kind_label
            attrs[f"data-help-{kind}"] = kind_help
        if team is not None:
            self.fields["team_name"].initial = team.name
            self.fields["team_name"].disabled = True
            self.fields["team_name"].help_text = "You submit for this team."

    def clean(self):
        data = super().clean()
        total, trainable = data.get("params_total"), data.get("params_trainable")
        if total is not None and trainable is not None and trainable > total:
            self.add_error("params_trainable", "Cannot exceed the total parameter count.")
        return data

    def metadata(self) -> dict:
        data = self.cleaned_data
        keys = ("kind", "method_name", "backbone", "fine_tuning_strategy", "params_total")
        keys += ("params_trainable", "paper_url", "code_url")
        metadata = {k: data.get(k) for k in keys}
        metadata["kind"] = metadata["kind"] or self.fields["kind"].initial
        return metadata


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")
