"""Forms of a person's credits page: answering a credit, and a bounty's donation."""

from __future__ import annotations

from django import forms


class RespondForm(forms.Form):
    answer = forms.ChoiceField(
        choices=[
            ("listed", "Accept, list me"),
            ("unlisted", "Accept, do not list me"),
            ("decline", "Decline"),
        ]
    )


class DonationForm(forms.Form):
    donate = forms.BooleanField(required=False, label="Donate to charity")
    charity = forms.CharField(required=False, max_length=200)
