"""Demo advisories for `modelcvd demo`: the demo's first two cases, published, so the registry,
its feed and exports have something to show. Idempotent: a case with an advisory is skipped."""

from __future__ import annotations

from typing import Any

from modelcvd.accounts.models import User
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.services import (
    advisory_approve,
    advisory_create,
    advisory_transition,
    advisory_update,
    content_from_case,
)
from modelcvd.cases.models import Case

EXTRA: dict[str, dict[str, Any]] = {
    "acme-chat-7b": {
        "cvss_vector": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:H/SA:N",
        "summary": (
            "A role-play framing (the user asks the model to act as a character who 'would "
            "know') makes acme-chat-7b v1.0 give step-by-step instructions it refuses when "
            "asked directly. The reproduction is withheld; its commitment is published."
        ),
        "mitigations": "Use acme-chat-7b v1.1, which fixes it, or put a refusal classifier in "
        "front of v1.0.",
        "mitigation_details": (
            "A system prompt that restates the refusal policy after any persona instruction "
            "lowered the success rate in our replays; a moderation model on outputs blocks the rest."
        ),
        "detection_indicators": [
            "User turns that assign the assistant a persona and then ask for a procedure",
            "Outputs that begin in character ('As a locksmith, I...') followed by numbered steps",
        ],
        "references": [
            {"url": "https://atlas.mitre.org/techniques/AML.T0054", "kind": "web", "label": "ATLAS"}
        ],
    },
    "globex-assistant": {
        "cvss_vector": "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
        "owasp": "LLM01",
        "atlas": "AML.T0051",
        "harm_category": "other",
        "summary": (
            "A tool result that contains instructions is followed as if the user had sent "
            "them, overriding the system prompt of globex-assistant 2026-09."
        ),
        "mitigations": "Mark tool output as data, not instructions, in the application.",
    },
}


def seed_demo(*, triager: User, approver: User) -> int:
    """Publish an advisory for each demo case named in EXTRA, written by `triager` and approved
    by `approver` (four eyes). Returns how many were made."""
    made = 0
    for name, extra in EXTRA.items():
        case = Case.objects.filter(artifacts__name=name).order_by("pk").first()
        if case is None or Advisory.objects.filter(case=case).exists():
            continue
        advisory = advisory_create(
            actor=triager, case_id=case.pk, content={**content_from_case(case), **extra}
        )
        advisory_transition(actor=triager, advisory_id=advisory.advisory_id, to="review")
        advisory_approve(actor=approver, advisory_id=advisory.advisory_id)
        advisory_transition(actor=triager, advisory_id=advisory.advisory_id, to="published")
        made += 1
        if name == "acme-chat-7b":  # show a revision with its changelog
            advisory_update(
                actor=triager,
                advisory_id=advisory.advisory_id,
                changes={"aliases": ["AVID-2026-R9001"]},
                changelog="Added the AVID alias.",
            )
    return made
