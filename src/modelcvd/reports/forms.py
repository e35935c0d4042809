"""Report forms: the full report (the report format laid out as HTML inputs, validated by
ReportDocument), abstract-first intake with its scope decision and payload, unsealing,
attachments, and dismissing a duplicate proposal."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from modelcvd.artifacts.models import Artifact
from modelcvd.core.errors import InvalidInput
from modelcvd.core.validation import parse_model
from modelcvd.policy.models import Program
from modelcvd.reports.document import ReportDocument, Reproduction
from modelcvd.reports.report_file import OTHER
from modelcvd.taxonomy import HARM_CATEGORIES, OWASP_LLM_2025
from modelcvd.web.helpers import choice_field

# As many turns as the report format takes; the form shows `turns` of them and grows by a
# server round trip ("Add a turn"), so it needs no script.
MAX_TURNS = Reproduction.model_fields["turns"].metadata[-1].max_length
TEXTAREA = forms.Textarea(attrs={"rows": 4})
SHORT = forms.Textarea(attrs={"rows": 2})
OTHER_MODEL_NEXT = (
    "A model outside the program's scope still reaches its coordinators. They decide at "
    "triage whether the program takes it: if not, the case is marked 'triaged out of scope' "
    "with their reason on your report's page, and you are free to report it to the model's "
    "publisher."
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input (Django's documented recipe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files if f]


def artifact_label(artifact: Artifact) -> str:
    extra = ", ".join(x for x in (artifact.version_label, artifact.get_access_display()) if x)
    return f"{artifact}" + (f" ({extra})" if extra else "")


class ReportForm(forms.Form):
    """A full report to one program: the report format laid out as inputs.

    The affected models are ticked from the program's scope; a model outside it goes in the
    "other model" fields. Files chosen here are sealed with the report, in one transaction."""

    title = forms.CharField(max_length=200)
    abstract = forms.CharField(widget=TEXTAREA, help_text="Safe to share: no working prompts here.")
    program = forms.ChoiceField(choices=[], widget=forms.HiddenInput)
    # How many turns the page shows; the view reads it (and any turn posted beyond it).
    turns = forms.IntegerField(required=False, initial=1, widget=forms.HiddenInput)
    artifacts = forms.MultipleChoiceField(
        label="Affected models (this program's scope)",
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    artifact_provider = forms.CharField(label="Model provider", max_length=200, required=False)
    artifact_name = forms.CharField(label="Model name", max_length=200, required=False)
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
    attachments = MultipleFileField(
        label="Attach files",
        required=False,
        help_text=(
            "Text, JSON, CSV, PNG, JPEG or PDF, sealed with the report. Choose them last: "
            "adding a turn or fixing an error clears the choice (browsers never send a file "
            "twice)."
        ),
    )

    # Where a field of the report format is shown in this form.
    FIELD_MAP = {
        "artifacts": "artifacts",
        "technique.owasp": "owasp",
        "technique.atlas": "atlas",
        "reproduction.system_prompt": "system_prompt",
        "reproduction.sampling.temperature": "temperature",
        "reproduction.sampling.top_p": "top_p",
        "reproduction.sampling.max_tokens": "max_tokens",
        "reproduction.sampling.seed": "seed",
        "reproduction.successes": "successes",
        "reproduction.trials": "trials",
        "file": "attachments",
    }

    def __init__(self, *args: Any, program: Program, turns: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reported_to = program
        choice_field(self, "program").choices = [(program.slug, program.name)]
        self.initial.update(program=program.slug)
        self.scope = {str(a.pk): a for a in program.scope.order_by("provider", "name", "revision")}
        choice_field(self, "artifacts").choices = [
            *((pk, artifact_label(a)) for pk, a in self.scope.items()),
            (OTHER, "Another model, not in this list"),
        ]
        if not self.scope:
            self.fields["artifacts"].widget = forms.MultipleHiddenInput()
        self.turn_count = max(1, min(turns, MAX_TURNS))
        self.initial["turns"] = self.turn_count
        for i in range(1, self.turn_count + 1):
            self.fields[f"turn_{i}_role"] = forms.ChoiceField(
                label=f"Turn {i} role",
                choices=[("user", "user"), ("assistant", "assistant")],
                initial="user" if i % 2 else "assistant",
            )
            self.fields[f"turn_{i}_content"] = forms.CharField(
                label=f"Turn {i} content", widget=TEXTAREA, required=(i == 1)
            )
        self.document: ReportDocument | None = None
        self.files_chosen: list[tuple[str, bytes]] = []

    @property
    def can_add_turn(self) -> bool:
        return self.turn_count < MAX_TURNS

    def turn_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [
            (self[f"turn_{i}_role"], self[f"turn_{i}_content"])
            for i in range(1, self.turn_count + 1)
        ]

    def _other_model(self, data: dict[str, Any], chosen: list[str]) -> dict[str, str] | None:
        typed = data.get("artifact_provider") or data.get("artifact_name")
        if OTHER not in chosen and not (typed and not [c for c in chosen if c != OTHER]):
            return None
        for name in ("artifact_provider", "artifact_name"):
            if not data.get(name):
                self.add_error(name, "required for a model that is not in the list")
        return {
            "provider": data.get("artifact_provider", ""),
            "name": data.get("artifact_name", ""),
            "revision": data.get("artifact_revision", ""),
            "version_label": data.get("artifact_version_label", ""),
            "weights_digest": data.get("artifact_weights_digest", ""),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = [c for c in data.get("artifacts", []) if c == OTHER or c in self.scope]
        refs = [
            {
                "provider": a.provider,
                "name": a.name,
                "revision": a.revision,
                "version_label": a.version_label,
                "weights_digest": a.weights_digest,
            }
            for pk, a in self.scope.items()
            if pk in chosen
        ]
        other = self._other_model(data, chosen)
        if other is not None:
            refs.append(other)
        if not refs and "artifacts" not in self.errors:
            self.add_error("artifacts", "tick the affected model, or give another model below")
        if self.errors:
            return data
        turns = [
            {"role": data[f"turn_{i}_role"], "content": data[f"turn_{i}_content"]}
            for i in range(1, self.turn_count + 1)
            if data.get(f"turn_{i}_content", "").strip()
        ]
        raw = {
            "title": data["title"],
            "abstract": data["abstract"],
            "program": data["program"],
            "artifacts": refs,
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
            self.add_service_errors(exc)
        limit = settings.MAX_ATTACHMENT_BYTES
        for upload in data.get("attachments", []):
            self.files_chosen.append((upload.name, upload.read(limit + 1)))
        return data

    def add_service_errors(self, exc: InvalidInput) -> None:
        """A service's field errors, each on the input that shows that field."""
        for error in exc.errors:
            self.add_error(self.input_for(error.field), f"{error.field}: {error.reason}")

    def input_for(self, field: str) -> str | None:
        if field.startswith("artifacts."):
            # The model the reporter typed is the last one; a ticked one cannot be wrong.
            target = "artifact_" + field.rsplit(".", 1)[-1]
        elif field.startswith("reproduction.turns."):
            index, _, part = field.removeprefix("reproduction.turns.").partition(".")
            target = f"turn_{int(index) + 1}_{part or 'content'}" if index.isdigit() else ""
        else:
            target = self.FIELD_MAP.get(field, field)
        return target if target in self.fields else None


class ReportFileForm(forms.Form):
    """A report file in the published format (YAML or JSON), read only to fill the form in."""

    report_file = forms.FileField(
        label="Report file",
        help_text="YAML or JSON in the open report format (the same file `modelcvd report "
        "submit` takes). Nothing is stored until you submit the form.",
    )


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
