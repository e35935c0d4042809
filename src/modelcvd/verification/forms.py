"""Forms of researcher re-verification, shown on the case page to the reporter."""

from __future__ import annotations

from typing import Any

from django import forms

from modelcvd.cases.models import Case
from modelcvd.verification.services import fixed_versions
from modelcvd.web.helpers import choice_field


class ReverifyForm(forms.Form):
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
