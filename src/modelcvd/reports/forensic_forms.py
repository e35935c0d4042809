"""The coordinators' forensic-report form, shown on an artifact's lineage page."""

from __future__ import annotations

from typing import Any

from django import forms

from modelcvd.web.helpers import choice_field


class ForensicReportForm(forms.Form):
    base_id = forms.TypedChoiceField(coerce=int, label="Base artifact")
    program = forms.ChoiceField(label="Program")

    def __init__(
        self,
        *args: Any,
        bases: list[tuple[int, str]],
        programs: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "base_id").choices = bases
        choice_field(self, "program").choices = programs
