"""Taxonomies a report is classified by: MITRE ATLAS, OWASP Top 10 for LLM Applications 2025,
and the MLCommons AILuminate hazard categories. Pure Python, no Django.

The ATLAS ids and names ship in data/atlas.json, extracted from the official ATLAS.yaml so the
platform needs nothing outside its package at run time (extract_atlas.py regenerates it).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

OWASP_LLM_2025: dict[str, str] = {
    "LLM01": "Prompt Injection",
    "LLM02": "Sensitive Information Disclosure",
    "LLM03": "Supply Chain",
    "LLM04": "Data and Model Poisoning",
    "LLM05": "Improper Output Handling",
    "LLM06": "Excessive Agency",
    "LLM07": "System Prompt Leakage",
    "LLM08": "Vector and Embedding Weaknesses",
    "LLM09": "Misinformation",
    "LLM10": "Unbounded Consumption",
}
OwaspId = Literal[
    "LLM01", "LLM02", "LLM03", "LLM04", "LLM05", "LLM06", "LLM07", "LLM08", "LLM09", "LLM10"
]

# MLCommons AILuminate v1.0 hazard categories (physical, non-physical, contextual), plus
# "other" for harms outside that taxonomy (e.g. security impact of a prompt injection).
HARM_CATEGORIES: dict[str, str] = {
    "violent_crimes": "Violent Crimes",
    "sex_related_crimes": "Sex-Related Crimes",
    "child_sexual_exploitation": "Child Sexual Exploitation",
    "suicide_self_harm": "Suicide & Self-Harm",
    "indiscriminate_weapons": "Indiscriminate Weapons (CBRNE)",
    "intellectual_property": "Intellectual Property",
    "defamation": "Defamation",
    "nonviolent_crimes": "Non-Violent Crimes",
    "hate": "Hate",
    "privacy": "Privacy",
    "specialized_advice": "Specialized Advice",
    "sexual_content": "Sexual Content",
    "other": "Other",
}
HarmCategory = Literal[
    "violent_crimes",
    "sex_related_crimes",
    "child_sexual_exploitation",
    "suicide_self_harm",
    "indiscriminate_weapons",
    "intellectual_property",
    "defamation",
    "nonviolent_crimes",
    "hate",
    "privacy",
    "specialized_advice",
    "sexual_content",
    "other",
]
# The Literals are what pydantic and the published report schema need; the dicts carry the
# names. Both are written here, side by side, and must agree.
assert set(OwaspId.__args__) == set(OWASP_LLM_2025)  # type: ignore[attr-defined]
assert set(HarmCategory.__args__) == set(HARM_CATEGORIES)  # type: ignore[attr-defined]

# The shape of an ATLAS technique id (AML.T0054, or a sub-technique AML.T0051.000).
ATLAS_TECHNIQUE_PATTERN = r"^AML\.T\d{4}(\.\d{3})?$"


@cache
def _atlas() -> dict[str, Any]:
    text = resources.files("modelcvd.taxonomy").joinpath("data/atlas.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def atlas_version() -> str:
    return str(_atlas()["version"])


def atlas_technique_name(technique_id: str) -> str | None:
    """The ATLAS technique's name, or None when the id is not in ATLAS."""
    entry = _atlas()["techniques"].get(technique_id)
    return None if entry is None else str(entry["name"])


def atlas_technique_ids() -> list[str]:
    return sorted(_atlas()["techniques"])


def atlas_technique_check(technique_id: str) -> str:
    """The id itself when ATLAS names such a technique; ValueError (which pydantic reports
    as a field error) otherwise. The one ATLAS check: reports, advisories and exports use it."""
    if atlas_technique_name(technique_id) is None:
        raise ValueError(f"unknown MITRE ATLAS technique id (ATLAS {atlas_version()})")
    return technique_id


# A field holding an ATLAS technique id: the pattern goes into JSON schemas, the check runs
# against the shipped ATLAS.
AtlasTechniqueId = Annotated[
    str, Field(pattern=ATLAS_TECHNIQUE_PATTERN), AfterValidator(atlas_technique_check)
]
