"""Case forms: moving a case, commenting, scoring, deadlines, extensions, embargo, merging."""

from __future__ import annotations

from typing import Any

from django import forms

from modelcvd.cases.models import Comment, DeadlineKind
from modelcvd.cases.services.scoring import PUBLISH_POINTS, TRIAGE_POINTS
from modelcvd.scoring.cvss4 import (
    CVSS4_BASE_METRICS,
    InvalidVector,
    cvss4_vector_from,
)
from modelcvd.scoring.rubric import Access
from modelcvd.scoring.ssvc import coordinator_publish_table, coordinator_triage_table
from modelcvd.scoring.tier import Tier
from modelcvd.taxonomy import HARM_CATEGORIES
from modelcvd.vocabulary import CaseState, VendorCaseStatus
from modelcvd.web.helpers import choice_field

SHORT = forms.Textarea(attrs={"rows": 2})


class CasePageForm(forms.Form):
    """One of the many forms on the case page: its fields' ids carry the form's name
    (`id_embargo_reason`), so ids stay unique on the page and each label names its own field
    (with the default `id_reason` in five forms, every "Reason" label focused the first one)."""

    id_prefix = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class TransitionForm(forms.Form):
    to = forms.ChoiceField(label="Move to", choices=[])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    # The "fix available" step names the version that fixes the case (cases.services).
    fixed_artifact = forms.TypedChoiceField(
        label="Fix for",
        required=False,
        coerce=int,
        empty_value=None,
        help_text="For 'fix available': the case's artifact the new version fixes.",
    )
    fixed_revision = forms.CharField(
        label="Fixed version: revision",
        required=False,
        max_length=200,
        help_text="For 'fix available': the new version's revision (git commit), or leave "
        "empty and give its label.",
    )
    fixed_version_label = forms.CharField(
        label="Fixed version: label", required=False, max_length=100, help_text="e.g. v1.1"
    )
    fixed_weights_digest = forms.CharField(
        label="Fixed version: weights sha256", required=False, max_length=71
    )
    override_reason = forms.CharField(
        label="Override the embargo (administrators only)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only to disclose before a live embargo's public date: say why. The embargo "
        "is lifted, and the override is on the timeline and the audit chain.",
    )

    def __init__(
        self,
        *args: Any,
        targets: list[str],
        artifacts: list[tuple[int, str]] | None = None,
        can_override: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not can_override:
            del self.fields["override_reason"]
        choice_field(self, "to").choices = [(t, t.replace("_", " ")) for t in targets]
        choice_field(self, "fixed_artifact").choices = [("", "(the case's only artifact)")] + [
            (pk, label) for pk, label in artifacts or []
        ]
        self.names_fix = "fix_available" in targets

    def fixed_version(self) -> dict[str, Any] | None:
        """The fixing version's fields, when the form moves the case to fix_available."""
        data = self.cleaned_data
        if data["to"] != "fix_available":
            return None
        return {
            "artifact_id": data["fixed_artifact"],
            "revision": data["fixed_revision"],
            "version_label": data["fixed_version_label"],
            "weights_digest": data["fixed_weights_digest"],
        }


class VendorNotifyForm(CasePageForm):
    id_prefix = "notify"
    organisation = forms.SlugField(max_length=100)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class VendorStatusForm(forms.Form):
    status = forms.ChoiceField(choices=VendorCaseStatus.choices)
    reason = forms.CharField(required=False, max_length=5000)


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment", widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000
    )
    visibility = forms.ChoiceField(choices=Comment.Visibility.choices)
    # Which report's reporter a coordinator's reporter-channel reply is for (merged cases).
    report = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Reporter channel of report"
    )

    def __init__(
        self,
        *args: Any,
        visibilities: list[str],
        channels: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "report").choices = [("", "(the case's only report)"), *(channels or [])]
        choice_field(self, "visibility").choices = [
            c for c in Comment.Visibility.choices if c[0] in visibilities
        ]


class ScoreForm(forms.Form):
    """The coordinators' scoring form: a CVSS 4.0 calculator (one choice per base metric, or a
    pasted vector), the AI rubric's factors, and the SSVC decision points in CERT/CC's words."""

    cvss_vector = forms.CharField(
        label="CVSS 4.0 vector (or choose the metrics below)",
        max_length=300,
        required=False,
        help_text="Paste a vector, e.g. "
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N, or leave it empty "
        "and choose each base metric; the cvss library scores it.",
    )
    access = forms.ChoiceField(
        choices=[(a.value, a.value.replace("_", " ")) for a in Access],
        help_text="What the attacker needs: black-box access to a hosted model (hosted api), "
        "the weights (open weights: gradients, editing, abliteration), or privileged access to "
        "the vendor's systems (insider). Less access needed scores higher.",
    )
    harm_category = forms.ChoiceField(
        choices=list(HARM_CATEGORIES.items()),
        help_text="From the report unless you change it.",
    )
    reproducibility = forms.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        help_text="A share of attempts (0 to 1). Only used until a verification run has "
        "finished; then the measured rate's lower bound replaces it.",
    )
    reach = forms.IntegerField(
        min_value=1,
        required=False,
        help_text="How many artifacts are affected: the reported model plus every affected "
        "derivative (fine-tunes, adapters, quantizations, merges). Empty: counted from the "
        "case's artifacts and their lineage.",
    )
    patchable = forms.TypedChoiceField(
        choices=[("", "from the artifacts"), ("yes", "patchable"), ("no", "unpatchable")],
        required=False,
        coerce=lambda v: v == "yes",
        empty_value=None,
        help_text="Open weights already released cannot be patched: a fix is a new version.",
    )
    models_affected = forms.IntegerField(min_value=1, required=False)
    vendors_affected = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, name, values in CVSS4_BASE_METRICS:
            self.fields[f"cvss_{key}"] = forms.ChoiceField(
                label=f"CVSS {name} ({key})",
                choices=[("", "—"), *[(v, f"{label} ({v})") for v, label in values]],
                required=False,
            )
        for prefix, points, table in (
            ("triage", TRIAGE_POINTS, coordinator_triage_table()),
            ("publish", PUBLISH_POINTS, coordinator_publish_table()),
        ):
            # The form's names follow the services' order, which is the table's order.
            for name, point in zip(points, table.decision_points, strict=True):
                self.fields[f"{prefix}_{name}"] = forms.ChoiceField(
                    label=f"SSVC {point.name}",
                    choices=[("", "—")]
                    + [(v.key, f"{v.name}: {v.definition}") for v in point.values],
                    required=False,
                    help_text=point.definition,
                )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = {key: data.get(f"cvss_{key}") or "" for key, _, _ in CVSS4_BASE_METRICS}
        if any(chosen.values()):
            try:
                vector = cvss4_vector_from(chosen)
            except InvalidVector as exc:
                first = next((k for k, v in chosen.items() if not v), "AV")
                self.add_error(f"cvss_{first}", str(exc))
                return data
            pasted = (data.get("cvss_vector") or "").strip()
            if pasted and pasted != vector:
                self.add_error(
                    "cvss_vector",
                    "differs from the metrics chosen below: clear one of them",
                )
            data["cvss_vector"] = vector
        return data

    def ssvc(self, prefix: str) -> dict[str, str] | None:
        points = TRIAGE_POINTS if prefix == "triage" else PUBLISH_POINTS
        given = {n: self.cleaned_data.get(f"{prefix}_{n}") or "" for n in points}
        if not any(given.values()):
            return None
        return {k: v for k, v in given.items() if v}

    def rubric(self) -> dict[str, Any]:
        names = (
            "access",
            "harm_category",
            "reproducibility",
            "reach",
            "patchable",
            "models_affected",
            "vendors_affected",
        )
        return {n: self.cleaned_data.get(n) for n in names}


class WaitingForm(CasePageForm):
    id_prefix = "waiting"
    waiting = forms.TypedChoiceField(
        choices=[("yes", "start waiting on the reporter"), ("no", "the reporter answered")],
        coerce=lambda v: v == "yes",
    )
    reason = forms.CharField(widget=SHORT, max_length=5000)


class ExtensionForm(CasePageForm):
    id_prefix = "extension"
    deadline = forms.ChoiceField(choices=DeadlineKind.choices)
    days = forms.IntegerField(min_value=1, max_value=180)
    reason = forms.CharField(widget=SHORT, max_length=5000)


class ExtensionDecisionForm(forms.Form):
    approve = forms.TypedChoiceField(
        choices=[("yes", "approve"), ("no", "deny")], coerce=lambda v: v == "yes"
    )
    reason = forms.CharField(widget=SHORT, max_length=5000)


class EmbargoForm(CasePageForm):
    id_prefix = "embargo"
    action = forms.ChoiceField(
        choices=[("propose", "propose"), ("agree", "agree"), ("revise", "revise"), ("exit", "exit")]
    )
    public_date = forms.DateTimeField(
        required=False,
        help_text="UTC, e.g. 2027-03-01 12:00 (seconds may be given: 12:00:30)",
        input_formats=[
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
        ],
    )
    reason = forms.CharField(widget=SHORT, max_length=5000, required=False)


class MergeForm(forms.Form):
    source = forms.IntegerField(min_value=1, label="Case to merge into this one")
    reason = forms.CharField(max_length=5000)


class InboxFilterForm(forms.Form):
    """The case inbox's filters (GET): each empty field filters nothing."""

    state = forms.ChoiceField(required=False)
    program = forms.ChoiceField(required=False)
    artifact = forms.CharField(required=False, max_length=100, label="Model")
    tier = forms.ChoiceField(required=False)
    due_soon = forms.BooleanField(required=False, label="Due within 7 days")
    embargoed = forms.BooleanField(required=False, label="Under embargo")
    unread = forms.BooleanField(required=False, label="Unread only")

    def __init__(self, *args: Any, programs: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "state").choices = [("", "any state")] + [
            (s.value, s.label) for s in CaseState
        ]
        choice_field(self, "program").choices = [("", "any program"), *programs]
        choice_field(self, "tier").choices = [("", "any tier")] + [(t.value, t.value) for t in Tier]
