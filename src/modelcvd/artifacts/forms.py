"""The artifacts index's filter, read from the query string."""

from __future__ import annotations

from django import forms


class ArtifactFilterForm(forms.Form):
    provider = forms.CharField(
        required=False, max_length=200, help_text="Part of the provider's name, any case"
    )
    name = forms.CharField(
        required=False, max_length=200, help_text="Part of the model's name, any case"
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)
