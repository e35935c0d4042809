"""The coordinators' advisory form: the fields of `AdvisoryContent` as a web page writes them.

Lists (aliases, references, detection indicators) are one item a line. The form only shapes
the text; `services.content_validate` judges it, so the page and the API accept and refuse
exactly the same content, with the same field names in their errors.
"""

from __future__ import annotations

from typing import Any, get_args

from django import forms

from modelcvd.interop.advisory import ReferenceKind
from modelcvd.taxonomy import HARM_CATEGORIES, OWASP_LLM_2025
from modelcvd.vocabulary import AdvisoryState, DisclosureLevel

REFERENCE_KINDS = get_args(ReferenceKind)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _reference(line: str) -> dict[str, str]:
    """`URL [kind] [label...]`: the kind when the second word is one, the rest the label."""
    url, _, rest = line.partition(" ")
    kind, _, label = rest.strip().partition(" ")
    if kind not in REFERENCE_KINDS:
        kind, label = "web", rest.strip()
    return {"url": url, "kind": kind, "label": label.strip()}


def _textarea(rows: int = 4) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class AdvisoryForm(forms.Form):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(widget=_textarea(6), help_text="Public: what is affected and how.")
    owasp = forms.ChoiceField(
        label="OWASP LLM 2025 risk", choices=[(k, f"{k} {v}") for k, v in OWASP_LLM_2025.items()]
    )
    atlas = forms.CharField(
        label="MITRE ATLAS technique", max_length=20, help_text="For example AML.T0054."
    )
    harm_category = forms.ChoiceField(choices=sorted(HARM_CATEGORIES.items()))
    cvss_vector = forms.CharField(
        label="CVSS 4.0 vector", required=False, max_length=300, help_text="Empty: not scored."
    )
    cve_id = forms.CharField(
        label="CVE id assigned here",
        required=False,
        max_length=24,
        help_text="Only a CVE id this instance's CNA assigned (a CVE record is exported for "
        "it); a CVE assigned by another CNA is an alias.",
    )
    aliases = forms.CharField(
        required=False,
        widget=_textarea(2),
        help_text="CVE, GHSA or AVID ids assigned elsewhere, one a line.",
    )
    references = forms.CharField(
        required=False,
        widget=_textarea(3),
        help_text=f"One a line: URL, then optionally a kind ({', '.join(REFERENCE_KINDS)}) "
        "and a label.",
    )
    mitigations = forms.CharField(required=False, widget=_textarea(), help_text="Public.")
    mitigation_details = forms.CharField(
        required=False, widget=_textarea(), help_text="Vetted defenders and the parties only."
    )
    detection_indicators = forms.CharField(
        required=False,
        widget=_textarea(3),
        help_text="One a line; vetted defenders and the parties only.",
    )
    reproduction_level = forms.ChoiceField(
        choices=[
            (DisclosureLevel.VENDOR.value, "the case's vendors and coordinators"),
            (DisclosureLevel.NEVER.value, "nobody: the payload stays sealed"),
        ],
        help_text="Who reads the sealed reproduction through the advisory.",
    )

    def content(self) -> dict[str, Any]:
        """The cleaned form as the content the services take."""
        data = self.cleaned_data
        return {
            "title": data["title"],
            "summary": data["summary"],
            "owasp": data["owasp"],
            "atlas": data["atlas"],
            "harm_category": data["harm_category"],
            "cvss_vector": data["cvss_vector"] or None,
            "cve_id": data["cve_id"].strip(),
            "aliases": _lines(data["aliases"]),
            "references": [_reference(line) for line in _lines(data["references"])],
            "mitigations": data["mitigations"],
            "mitigation_details": data["mitigation_details"],
            "detection_indicators": _lines(data["detection_indicators"]),
            "reproduction_level": data["reproduction_level"],
        }

    @staticmethod
    def initial_from(content: dict[str, Any]) -> dict[str, Any]:
        """The form's initial values for stored (or drafted) content."""
        references = [
            " ".join(part for part in (r["url"], r.get("kind", "web"), r.get("label", "")) if part)
            for r in content.get("references", [])
        ]
        return {
            **{k: v for k, v in content.items() if isinstance(v, str)},
            "cvss_vector": content.get("cvss_vector") or "",
            "aliases": "\n".join(content.get("aliases", [])),
            "references": "\n".join(references),
            "detection_indicators": "\n".join(content.get("detection_indicators", [])),
        }


class AdvisoryEditForm(AdvisoryForm):
    changelog = forms.CharField(
        required=False,
        max_length=5_000,
        widget=_textarea(2),
        help_text="Required once published: it becomes the new revision's changelog.",
    )


class AdvisoryTransitionForm(forms.Form):
    to = forms.ChoiceField(choices=[(s.value, s.value) for s in AdvisoryState])
    reason = forms.CharField(required=False, max_length=5_000)
    override_reason = forms.CharField(required=False, max_length=2_000)
