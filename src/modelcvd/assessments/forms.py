"""Assessment forms: the assessor's draft, and a reason to open the sealed detail."""

from __future__ import annotations

from typing import Any

from django import forms

from modelcvd.accounts.models import Organisation
from modelcvd.assessments.models import ClaimLevel, Remediation, Severity, ThreatModel
from modelcvd.web.helpers import choice_field


class UnsealDetailForm(forms.Form):
    reason = forms.CharField(label="Reason for opening the sealed detail", max_length=500)


class AssessmentForm(forms.Form):
    """A draft with one threat model and up to one finding; more through the API."""

    subject = forms.ChoiceField(label="Assessed organisation")
    title = forms.CharField(max_length=200)
    summary = forms.CharField(widget=forms.Textarea, required=False, max_length=10_000)
    threat_model = forms.ChoiceField(choices=ThreatModel.choices)
    custom_name = forms.CharField(label="Custom threat model name", required=False, max_length=120)
    scope = forms.CharField(widget=forms.Textarea, max_length=5000)
    method = forms.CharField(widget=forms.Textarea, max_length=5000)
    started_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ended_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    claim = forms.ChoiceField(label="Robustness claim", choices=ClaimLevel.choices)
    remediation = forms.ChoiceField(choices=Remediation.choices)
    detail = forms.CharField(
        label="Detailed notes (sealed)", widget=forms.Textarea, required=False, max_length=100_000
    )
    finding_title = forms.CharField(label="Finding title", required=False, max_length=200)
    finding_severity = forms.ChoiceField(
        label="Finding severity", choices=Severity.choices, required=False
    )
    finding_detail = forms.CharField(
        label="Finding detail (sealed)", widget=forms.Textarea, required=False, max_length=100_000
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "subject").choices = [
            (o.slug, o.name) for o in Organisation.objects.filter(kind="vendor").order_by("name")
        ]
