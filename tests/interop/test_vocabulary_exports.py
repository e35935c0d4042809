"""Every vocabulary value maps in every export format that carries it, and an advisory that
credits one of each credit type (a sponsor among them) exports in all four formats, each
valid against its official schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from enum import Enum
from typing import Any, get_args

import pytest

from modelcvd.interop import avid, csaf, cve5, osv
from modelcvd.interop.advisory import (
    TLP_BY_LEVEL,
    AdvisoryDocument,
    Credit,
    ReferenceKind,
)
from modelcvd.vocabulary import (
    CreditType,
    DisclosureLevel,
    ExportLevel,
    VersionStatus,
    VexJustification,
)
from tests.interop.samples import (
    SCHEMAS,
    avid_report_validator,
    csaf_validator,
    cve_record_validator,
    errors,
    jailbreak_advisory,
    osv_validator,
)


def _schema_enum(path: str, *keys: str) -> list[str]:
    node: Any = json.loads((SCHEMAS / path).read_text("utf-8"))
    for key in keys:
        node = node[key]
    return list(node["enum"])


OSV_CREDIT_TYPES = _schema_enum(
    "osv/osv-schema.json", "properties", "credits", "items", "properties", "type"
)
CVE_CREDIT_TYPES = _schema_enum(
    "cve/CVE_JSON_bundled_5.1.1.json", "definitions", "credits", "items", "properties", "type"
)
CVE_VERSION_STATUSES = _schema_enum("cve/CVE_JSON_bundled_5.1.1.json", "definitions", "status")
_CSAF: Any = json.loads((SCHEMAS / "csaf" / "csaf_json_schema.json").read_text("utf-8"))
CSAF_PRODUCT_STATUSES = sorted(
    _CSAF["properties"]["vulnerabilities"]["items"]["properties"]["product_status"]["properties"]
)
CSAF_FLAG_LABELS = _CSAF["properties"]["vulnerabilities"]["items"]["properties"]["flags"]["items"][
    "properties"
]["label"]["enum"]
EXPORT_LEVELS = set(get_args(ExportLevel))

# (mapping, the vocabulary values it must cover, the values the format allows or None).
MAPPINGS: dict[str, tuple[Mapping[Any, Any], set[Any], list[str] | None]] = {
    "osv credit type": (osv.CREDIT_TYPE, set(CreditType), OSV_CREDIT_TYPES),
    "cve5 credit type": (cve5.CREDIT_TYPE, set(CreditType), CVE_CREDIT_TYPES),
    "csaf acknowledgment": (csaf.ACKNOWLEDGMENT, set(CreditType), None),
    "csaf tlp": (TLP_BY_LEVEL, EXPORT_LEVELS, ["WHITE", "GREEN", "AMBER", "RED"]),
    "osv reference type": (osv.REFERENCE_TYPE, set(get_args(ReferenceKind)), None),
    "cve5 reference tags": (cve5.REFERENCE_TAGS, set(get_args(ReferenceKind)), None),
    "cve5 version status": (cve5.VERSION_STATUS, set(VersionStatus), CVE_VERSION_STATUSES),
    "csaf product status": (csaf.PRODUCT_STATUS, set(VersionStatus), CSAF_PRODUCT_STATUSES),
    "csaf flag label": (csaf.FLAG_LABEL, set(VexJustification), CSAF_FLAG_LABELS),
    "avid status words": (avid.STATUS_WORDS, set(VersionStatus), None),
}


@pytest.mark.parametrize("name", MAPPINGS)
def test_every_mapping_is_total_and_speaks_the_formats_words(name: str) -> None:
    mapping, domain, allowed = MAPPINGS[name]
    assert set(mapping) == domain, f"{name}: missing {domain - set(mapping)}"
    for key in mapping:
        # Keyed by the vocabulary's members, not by look-alike strings.
        assert not isinstance(next(iter(domain)), Enum) or isinstance(key, Enum), (name, key)
    if allowed is not None:
        assert set(mapping.values()) <= set(allowed), name


def test_the_levels_exported_are_every_level_but_never() -> None:
    assert set(DisclosureLevel) - {DisclosureLevel.NEVER} == EXPORT_LEVELS


def _every_credit_type() -> AdvisoryDocument:
    base = jailbreak_advisory()
    credits = tuple(Credit(name=f"{t.label} Person", role=t) for t in CreditType)
    return base.model_copy(update={"credits": credits})


def _sponsor_only() -> AdvisoryDocument:
    base = jailbreak_advisory()
    return base.model_copy(
        update={
            "credits": (Credit(name="Sponsoring Foundation", role="sponsor"),),
            "modified": base.modified + timedelta(days=1),
        }
    )


def _exports(advisory: AdvisoryDocument) -> dict[str, dict[str, Any]]:
    url = f"https://modelcvd.example/advisories/{advisory.id}"
    return {
        "cve5": cve5.cve_record(
            advisory,
            org_id="b3476cb9-2e3d-41a6-98d0-0f47421a65b6",
            short_name="modelcvd",
            cve_id=advisory.cve_id or "CVE-2026-99999",
            advisory_url=url,
        ),
        "osv": osv.osv_document(advisory, advisory_url=url),
        "csaf": csaf.csaf_vex(
            advisory,
            publisher_name="modelcvd",
            publisher_namespace="https://modelcvd.example",
            advisory_url=url,
        ),
        "avid": avid.avid_report(advisory, advisory_url=url),
    }


VALIDATORS = {
    "cve5": cve_record_validator,
    "osv": osv_validator,
    "csaf": csaf_validator,
    "avid": avid_report_validator,
}


@pytest.mark.parametrize("make", [_sponsor_only, _every_credit_type], ids=["sponsor", "every"])
@pytest.mark.parametrize("fmt", VALIDATORS)
def test_credits_export_in_every_format_and_validate(make: Any, fmt: str) -> None:
    advisory = make()
    document = _exports(advisory)[fmt]
    # Through JSON, as it leaves the platform: enum members must serialise as plain strings.
    document = json.loads(json.dumps(document))
    assert errors(VALIDATORS[fmt](), document) == []
    text = json.dumps(document)
    for credit in advisory.credits:
        assert credit.name in text


def test_each_credit_type_lands_in_the_formats_own_words() -> None:
    advisory = _every_credit_type()
    exported = _exports(advisory)
    cve_credits = exported["cve5"]["containers"]["cna"]["credits"]
    assert {c["value"]: c["type"] for c in cve_credits} == {
        f"{t.label} Person": cve5.CREDIT_TYPE[t] for t in CreditType
    }
    assert {c["name"]: c["type"] for c in exported["osv"]["credits"]} == {
        f"{t.label} Person": osv.CREDIT_TYPE[t] for t in CreditType
    }
    acknowledgments = exported["csaf"]["vulnerabilities"][0]["acknowledgments"]
    assert acknowledgments == [
        {"names": [f"{t.label} Person"], "summary": csaf.ACKNOWLEDGMENT[t]} for t in CreditType
    ]
    # AVID's credit is a list of names: it carries no credit type, so there is nothing to map.
    assert [c["value"] for c in exported["avid"]["credit"]] == [
        f"{t.label} Person" for t in CreditType
    ]


def test_sponsor_was_the_missing_value() -> None:
    """The bug this vocabulary fixed: the export model knew `other`, not `sponsor`."""
    assert Credit(name="Foundation", role="sponsor").role is CreditType.SPONSOR
    with pytest.raises(ValueError, match="role"):
        Credit(name="Someone", role="other")
