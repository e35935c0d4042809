"""Report forms: the full report (the report format laid out as HTML inputs, validated by
ReportDocument), abstract-first intake with its scope decision and payload, unsealing,
attachments, and dismissing a duplicate proposal."""

from __future__ import annotations

from typing import Any

from django import forms

from modelcvd.core.errors import InvalidInput
from modelcvd.core.validation import parse_model
from modelcvd.reports.document import ReportDocument
from modelcvd.taxonomy import HARM_CATEGORIES, OWASP_LLM_2025
from modelcvd.web.helpers import choice_field

MAX_TURNS = 4
TEXTAREA = forms.Textarea(attrs={"rows": 4})
SHORT = forms.Textarea(attrs={"rows": 2})


class ReportForm(forms.Form):
    title = forms.CharField(max_length=200)
    abstract = forms.CharField(widget=TEXTAREA, help_text="Safe to share: no working prompts here.")
    program = forms.ChoiceField(choices=[])
    artifact_provider = forms.CharField(label="Model provider", max_length=200)
    artifact_name = forms.CharField(label="Model name", max_length=200)
    artifact_revision = forms.CharField(
        label="Revision (commit or API version)", max_length=200, required=False
    )
    artifact_version_label = forms.CharField(label="Version label", max_length=100, required=False)
    artifact_weights_digest = forms.CharField(label="Weights sha256", max_length=71, required=False)
    owasp = forms.ChoiceField(
        label="OWASP LLM Top 10 (2025)",
        choices=[(k, f"{k} {v}") for k, v in OWASP_LLM_2025.items()],
    )
    atlas = forms.CharField(label="MITRE ATLAS technique", max_length=20, initial="AML.T0054")
    harm_category = forms.ChoiceField(choices=list(HARM_CATEGORIES.items()))
    system_prompt = forms.CharField(widget=TEXTAREA, required=False)
    temperature = forms.FloatField(initial=1.0)
    top_p = forms.FloatField(initial=1.0)
    max_tokens = forms.IntegerField(initial=256)
    seed = forms.IntegerField(required=False)
    successes = forms.IntegerField(label="Successful trials")
    trials = forms.IntegerField(label="Trials run")
    expected_behaviour = forms.CharField(widget=TEXTAREA, required=False)
    observed_behaviour = forms.CharField(widget=TEXTAREA, required=False)
    impact = forms.CharField(widget=TEXTAREA, required=False)

    # Where a field of the report format is shown in this form.
    FIELD_MAP = {
        "artifacts.0.provider": "artifact_provider",
        "artifacts.0.name": "artifact_name",
        "artifacts.0.revision": "artifact_revision",
        "artifacts.0.version_label": "artifact_version_label",
        "artifacts.0.weights_digest": "artifact_weights_digest",
        "technique.owasp": "owasp",
        "technique.atlas": "atlas",
        "reproduction.system_prompt": "system_prompt",
        "reproduction.sampling.temperature": "temperature",
        "reproduction.sampling.top_p": "top_p",
        "reproduction.sampling.max_tokens": "max_tokens",
        "reproduction.sampling.seed": "seed",
        "reproduction.successes": "successes",
        "reproduction.trials": "trials",
        **{f"reproduction.turns.{i}.content": f"turn_{i + 1}_content" for i in range(MAX_TURNS)},
        **{f"reproduction.turns.{i}.role": f"turn_{i + 1}_role" for i in range(MAX_TURNS)},
    }

    def __init__(self, *args: Any, programs: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "program").choices = programs
        for i in range(1, MAX_TURNS + 1):
            self.fields[f"turn_{i}_role"] = forms.ChoiceField(
                label=f"Turn {i} role",
                choices=[("user", "user"), ("assistant", "assistant")],
                initial="user" if i % 2 else "assistant",
            )
            self.fields[f"turn_{i}_content"] = forms.CharField(
                label=f"Turn {i} content", widget=TEXTAREA, required=(i == 1)
            )
        self.document: ReportDocument | None = None

    def turn_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [
            (self[f"turn_{i}_role"], self[f"turn_{i}_content"]) for i in range(1, MAX_TURNS + 1)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        turns = [
            {"role": data[f"turn_{i}_role"], "content": data[f"turn_{i}_content"]}
            for i in range(1, MAX_TURNS + 1)
            if data.get(f"turn_{i}_content", "").strip()
        ]
        raw = {
            "title": data["title"],
            "abstract": data["abstract"],
            "program": data["program"],
            "artifacts": [
                {
                    "provider": data["artifact_provider"],
                    "name": data["artifact_name"],
                    "revision": data["artifact_revision"],
                    "version_label": data["artifact_version_label"],
                    "weights_digest": data["artifact_weights_digest"],
                }
            ],
            "technique": {"owasp": data["owasp"], "atlas": data["atlas"]},
            "harm_category": data["harm_category"],
            "reproduction": {
                "system_prompt": data["system_prompt"],
                "turns": turns,
                "sampling": {
                    "temperature": data["temperature"],
                    "top_p": data["top_p"],
                    "max_tokens": data["max_tokens"],
                    "seed": data["seed"],
                },
                "successes": data["successes"],
                "trials": data["trials"],
            },
            "expected_behaviour": data["expected_behaviour"],
            "observed_behaviour": data["observed_behaviour"],
            "impact": data["impact"],
        }
        try:
            self.document = parse_model(ReportDocument, raw)
        except InvalidInput as exc:
            for error in exc.errors:
                target = self.FIELD_MAP.get(error.field, error.field)
                self.add_error(
                    target if target in self.fields else None, f"{error.field}: {error.reason}"
                )
        return data


class UnsealForm(forms.Form):
    reason = forms.CharField(label="Why do you need the payload?", max_length=1000)


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label="Attach a file", help_text="Text, JSON, CSV, PNG, JPEG or PDF; sealed on arrival."
    )


class ScopeForm(forms.Form):
    in_scope = forms.TypedChoiceField(
        choices=[("yes", "in scope: ask for the payload"), ("no", "out of scope")],
        coerce=lambda v: v == "yes",
    )
    reason = forms.CharField(widget=SHORT, max_length=5000)


class AbstractForm(forms.Form):
    title = forms.CharField(max_length=200)
    abstract = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    program = forms.ChoiceField(choices=[])
    artifact_provider = forms.CharField(label="Model provider", max_length=200)
    artifact_name = forms.CharField(label="Model name", max_length=200)
    artifact_revision = forms.CharField(label="Revision", max_length=200, required=False)
    owasp = forms.ChoiceField(
        label="OWASP LLM Top 10 (2025)",
        choices=[(k, f"{k} {v}") for k, v in OWASP_LLM_2025.items()],
    )
    atlas = forms.CharField(label="MITRE ATLAS technique", max_length=20, initial="AML.T0054")
    harm_category = forms.ChoiceField(choices=list(HARM_CATEGORIES.items()))
    impact = forms.CharField(widget=SHORT, max_length=20_000, required=False)

    def __init__(self, *args: Any, programs: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "program").choices = programs

    def document(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "title": d["title"],
            "abstract": d["abstract"],
            "program": d["program"],
            "artifacts": [
                {
                    "provider": d["artifact_provider"],
                    "name": d["artifact_name"],
                    "revision": d["artifact_revision"],
                }
            ],
            "technique": {"owasp": d["owasp"], "atlas": d["atlas"]},
            "harm_category": d["harm_category"],
            "impact": d["impact"],
        }


class PayloadForm(forms.Form):
    system_prompt = forms.CharField(widget=SHORT, required=False, max_length=100_000)
    turn_1 = forms.CharField(label="User turn", widget=SHORT, max_length=100_000)
    turn_2 = forms.CharField(
        label="Assistant turn", widget=SHORT, max_length=100_000, required=False
    )
    turn_3 = forms.CharField(label="User turn", widget=SHORT, max_length=100_000, required=False)
    successes = forms.IntegerField(min_value=0)
    trials = forms.IntegerField(min_value=1)

    def reproduction(self) -> dict[str, Any]:
        d = self.cleaned_data
        roles = {"turn_1": "user", "turn_2": "assistant", "turn_3": "user"}
        return {
            "system_prompt": d["system_prompt"],
            "turns": [{"role": r, "content": d[n]} for n, r in roles.items() if d.get(n)],
            "successes": d["successes"],
            "trials": d["trials"],
        }


class DismissForm(forms.Form):
    reason = forms.CharField(max_length=5000)
