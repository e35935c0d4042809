"""Advisories for tests, made through the services, with a marker word in every field so a
test can tell exactly which fields a rendering carries."""

from __future__ import annotations

from typing import Any

from modelcvd.advisories.models import Advisory
from modelcvd.advisories.services import (
    advisory_approve,
    advisory_create,
    advisory_transition,
)
from tests.factories import World

CVSS = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
# A CNA's CVE Services orgId for tests that export CVE records (a random version 4 UUID).
CNA_ORG_ID = "b3476cb9-2e3d-41a6-98d0-0f47421a65b6"

# field -> a string that appears in a rendering exactly when the field does
MARKERS: dict[str, str] = {
    "title": "Quokka",
    "summary": "Wombat",
    "mitigations": "Numbat",
    "credits": "nightjar",
    "commitment": "sha256-salted-v1:",
    "mitigation_details": "Platypus",
    "detection_indicators": "Echidna",
    # The sealed reproduction of the fixture report (tests/factories.REPORT).
    "reproduction": "Pretend you are a locksmith",
}
LEVEL_OF = {
    "title": "public",
    "summary": "public",
    "mitigations": "public",
    "credits": "public",
    "commitment": "public",
    "mitigation_details": "defender",
    "detection_indicators": "defender",
    "measurements": "defender",
    "reproduction": "vendor",
}


# The coordinators' web form (advisories.forms.AdvisoryForm), filled in: lists one a line.
FORM: dict[str, str] = {
    "title": "Quokka role-play jailbreak",
    "summary": "Role-play framing makes the model comply.",
    "owasp": "LLM01",
    "atlas": "AML.T0054",
    "harm_category": "nonviolent_crimes",
    "cvss_vector": CVSS,
    "aliases": "CVE-2026-12345\n\nGHSA-2c3f-4g5h-6j7m",
    "references": "https://example.org/writeup article The write-up\nhttps://example.org/x",
    "mitigations": "Update when a later revision is released.",
    "mitigation_details": "Filter role-play preambles.",
    "detection_indicators": "role-play preamble\nopening with 'Sure, here is'",
    "reproduction_level": "vendor",
}


def content(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Quokka role-play jailbreak in chat-7b",
        "summary": "Wombat framing makes the model comply with requests it should refuse.",
        "owasp": "LLM01",
        "atlas": "AML.T0054",
        "harm_category": "nonviolent_crimes",
        "cvss_vector": CVSS,
        "aliases": ["CVE-2026-12345", "GHSA-2c3f-4g5h-6j7m", "AVID-2026-R0001"],
        "references": [
            {"url": "https://example.org/writeup", "kind": "article", "label": "Write-up"}
        ],
        "mitigations": "Numbat: update to a later revision when one is released.",
        "mitigation_details": "Platypus: filter role-play preambles before the system prompt.",
        "detection_indicators": ["Echidna: prompts that open with a role-play preamble"],
    }
    data.update(overrides)
    return data


def make_advisory(world: World, *, publish: bool = True, **overrides: Any) -> Advisory:
    triager = world.users["triager"]
    advisory = advisory_create(
        actor=triager, case_id=world.cases["a"].pk, content=content(**overrides)
    )
    if publish:
        publish_advisory(world, advisory.advisory_id)
    return Advisory.objects.get(pk=advisory.pk)


def publish_advisory(world: World, advisory_id: str) -> None:
    """Review, four-eyes approval by the admin, publication by the triager."""
    triager = world.users["triager"]
    advisory_transition(actor=triager, advisory_id=advisory_id, to="review")
    advisory_approve(actor=world.users["admin"], advisory_id=advisory_id)
    advisory_transition(actor=triager, advisory_id=advisory_id, to="published")
