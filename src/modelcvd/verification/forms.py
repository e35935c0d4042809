"""Forms of researcher re-verification (shown on the case page to the reporter), of the target
registry page, and of transfer matrices on the case page."""

from __future__ import annotations

from typing import Any

from django import forms

from modelcvd.cases.forms import CasePageForm
from modelcvd.cases.models import Case
from modelcvd.verification.services import fixed_versions
from modelcvd.web.helpers import choice_field


class ReverifyForm(CasePageForm):
    id_prefix = "reverify"
    artifact_id = forms.TypedChoiceField(label="Fixed version", coerce=int)
    trials = forms.IntegerField(label="Trials", min_value=1, max_value=10_000, initial=20)
    target = forms.CharField(
        label="Target (optional)",
        required=False,
        max_length=500,
        help_text="hf:DIR under the server's model directories; empty: the coordinators' target",
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "artifact_id").choices = [
            (a.pk, str(a)) for a in fixed_versions(case=case)
        ]


class FixOpinionForm(forms.Form):
    agrees = forms.TypedChoiceField(
        label="Does the fix work?",
        choices=[("yes", "Yes, I agree it is fixed"), ("no", "No, I disagree")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    statement = forms.CharField(label="Your statement", max_length=5000, widget=forms.Textarea)
    run_id = forms.TypedChoiceField(
        label="Evidence run", coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "run_id").choices = [("", "none")] + [
            (r.pk, f"#{r.pk} on {r.artifact}") for r in case.verification_runs.all()
        ]


class TargetForm(forms.Form):
    organisation = forms.ChoiceField(label="For organisation")
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(
        choices=[("endpoint", "OpenAI-compatible endpoint"), ("local", "Local model directory")]
    )
    artifact_id = forms.IntegerField(label="Artifact id (the version it serves)", min_value=1)
    url = forms.CharField(label="Endpoint URL", required=False, max_length=500)
    model_name = forms.CharField(label="Model name", required=False, max_length=200)
    api_key = forms.CharField(
        label="Credential (sealed; never shown again)",
        required=False,
        max_length=4000,
        widget=forms.PasswordInput(render_value=False),
    )
    local_dir = forms.CharField(label="Local directory", required=False, max_length=1000)
    requests_per_minute = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)
    max_concurrency = forms.IntegerField(initial=4, min_value=1, max_value=64)

    def __init__(self, *args: Any, organisations: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "organisation").choices = organisations


class OfferForm(forms.Form):
    program = forms.SlugField(label="Program (slug)", max_length=100)
    offered = forms.TypedChoiceField(
        choices=[("yes", "offer"), ("no", "withdraw")], coerce=lambda v: v == "yes"
    )


class MatrixForm(CasePageForm):
    id_prefix = "matrix"
    target_ids = forms.TypedMultipleChoiceField(
        label="Targets", coerce=int, widget=forms.CheckboxSelectMultiple
    )
    trials = forms.IntegerField(min_value=1, max_value=10_000, initial=20)
    sequential = forms.BooleanField(required=False, label="Stop each run early (SPRT)")

    def __init__(self, *args: Any, targets: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "target_ids").choices = targets


class BringInForm(forms.Form):
    organisation = forms.SlugField(widget=forms.HiddenInput, max_length=100)
    reason = forms.CharField(max_length=5000)
