"""CVE JSON 5.1 export: an advisory as a CNA container and as a full CVE record.

A model is named the way CVE 5 names a package: `collectionURL` (e.g. https://huggingface.co)
plus `packageName` (ORG/NAME), each revision a `versionType: "git"` version with its status.
The ATLAS technique and the OWASP risk go in `taxonomyMappings`; the CVSS 4.0 metrics object
is built by `scoring.cvss4.cvss4_json`, because the `cvss` package's v4 JSON does not match
the CVE schema (it is only used to compute score and severity). Attack success counts, each with its
provenance (replayed here, or reported by a named source), travel in an
`x_modelcvd` extension, which the CNA container schema allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from modelcvd.interop.advisory import (
    AdvisoryDocument,
    AffectedArtifact,
    cve_record_url,
    iso_utc,
)
from modelcvd.scoring.cvss4 import cvss4_json
from modelcvd.taxonomy import OWASP_LLM_2025, atlas_version
from modelcvd.vocabulary import CreditType, VersionStatus

DATA_VERSION = "5.1"
LANG = "en"
# The CVE schema's uuidType: a version 4 UUID.
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# The all-zero placeholder earlier versions wrote: valid in form, nobody's id.
PLACEHOLDER_ORG_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Cna:
    """The CVE Numbering Authority this instance publishes CVE records as.

    The two values CVE Services knows a CNA by, and the ones a CVE Services client needs:
    cvelib's `CveApi(username=..., org=short_name, api_key=..., env=...)` takes the short name
    as `org`, and its `show_org()` answers the organisation's `UUID`, the `org_id` here. A
    client that reserves ids (a later step) can be built from this and the account's key.
    """

    org_id: str
    short_name: str

    def __post_init__(self) -> None:
        if not UUID4.match(self.org_id.lower()) or self.org_id == PLACEHOLDER_ORG_ID:
            raise ValueError(
                f"the CNA orgId must be the UUID CVE Services gave the CNA, got {self.org_id!r}"
            )
        if not 2 <= len(self.short_name) <= 32:
            raise ValueError("the CNA shortName has 2 to 32 characters")


# CVE credit types are spelled with spaces; ours with underscores. Total over the vocabulary
# (tests/interop/test_vocabulary_exports.py keeps it so).
CREDIT_TYPE: dict[CreditType, str] = {
    CreditType.FINDER: "finder",
    CreditType.REPORTER: "reporter",
    CreditType.ANALYST: "analyst",
    CreditType.COORDINATOR: "coordinator",
    CreditType.REMEDIATION_DEVELOPER: "remediation developer",
    CreditType.REMEDIATION_VERIFIER: "remediation verifier",
    CreditType.TOOL: "tool",
    CreditType.SPONSOR: "sponsor",
}
# Reference tags from the CVE tag list that match each kind of reference; "web" has none.
REFERENCE_TAGS: dict[str, list[str]] = {
    "advisory": ["third-party-advisory"],
    "article": ["media-coverage"],
    "report": ["technical-description"],
    "fix": ["patch"],
    "evidence": ["technical-description"],
    "model": ["product"],
    "web": [],
}


# CVSS 4.0 vector abbreviations -> the CVE schema's property names and enum values.
def cvss_v4_metrics(vector: str) -> dict[str, Any]:
    """The CVE schema's `cvssV4_0` object for a CVSS 4.0 vector (built by scoring.cvss4).
    A fresh copy each time; the scoring itself is cached (a bulk export repeats vectors)."""
    return dict(_cvss_v4_metrics(vector))


@cache
def _cvss_v4_metrics(vector: str) -> dict[str, Any]:
    metrics = cvss4_json(vector)
    # Flat (strings and numbers), so the shallow copy above shares nothing mutable.
    assert not any(isinstance(v, dict | list) for v in metrics.values())
    return metrics


# CVE 5 has three version statuses: a fixed version and one verified not affected are both
# "unaffected"; a version still under investigation is "unknown". Total over the vocabulary.
VERSION_STATUS: dict[VersionStatus, str] = {
    VersionStatus.AFFECTED: "affected",
    VersionStatus.FIXED: "unaffected",
    VersionStatus.NOT_AFFECTED: "unaffected",
    VersionStatus.UNDER_INVESTIGATION: "unknown",
}


def _versions(artifact: AffectedArtifact) -> list[dict[str, Any]]:
    """Every listed version with its status, one entry each: a git commit as versionType
    "git", a version label (no git history, e.g. a hosted model) as "custom". An imported
    product's version is written as its source gave it: its own status word, versionType,
    range end (lessThan or lessThanOrEqual) and changes."""
    versions = []
    for version in artifact.versions:
        status = VERSION_STATUS[version.status]
        if version.source_status in VERSION_STATUS.values():
            status = version.source_status
        entry: dict[str, Any] = {
            "version": version.version,
            "status": status,
            "versionType": version.version_type or ("git" if version.revision else "custom"),
        }
        if version.less_than:
            entry["lessThan"] = version.less_than
        elif version.less_than_or_equal:
            entry["lessThanOrEqual"] = version.less_than_or_equal
        if version.changes:
            entry["changes"] = list(version.changes)
        versions.append(entry)
    return versions


def _affected(artifact: AffectedArtifact) -> dict[str, Any]:
    product: dict[str, Any] = {"vendor": artifact.provider, "product": artifact.name}
    if artifact.repository_url:
        product |= {
            "collectionURL": artifact.collection_url,
            "packageName": artifact.package_name,
            "repo": artifact.repository_url,
        }
    # Versions not listed are unknown, not safe: nobody replayed the attack on them.
    default = artifact.default_status if artifact.default_status in VERSION_STATUS.values() else ""
    product |= {"versions": _versions(artifact), "defaultStatus": default or "unknown"}
    return product


def _problem_types(advisory: AdvisoryDocument) -> list[dict[str, Any]]:
    owasp_name = OWASP_LLM_2025[advisory.owasp]
    descriptions: list[dict[str, Any]] = []
    if advisory.cwe is not None:
        cwe_id, cwe_name = advisory.cwe
        descriptions.append(
            {"lang": LANG, "type": "CWE", "cweId": cwe_id, "description": f"{cwe_id}: {cwe_name}"}
        )
    descriptions.append(
        {
            "lang": LANG,
            "type": "OWASP",
            "description": f"OWASP Top 10 for LLM Applications 2025 {advisory.owasp}: {owasp_name}",
        }
    )
    return [{"descriptions": descriptions}]


def _taxonomy_mappings(advisory: AdvisoryDocument, subject: str) -> list[dict[str, Any]]:
    return [
        {
            "taxonomyName": "MITRE ATLAS",
            "taxonomyVersion": atlas_version(),
            "taxonomyRelations": [
                {
                    "taxonomyId": advisory.atlas_technique,
                    "relationshipName": f"technique: {advisory.atlas_technique_name}",
                    "relationshipValue": subject,
                }
            ],
        },
        {
            "taxonomyName": "OWASP Top 10 for LLM Applications",
            "taxonomyVersion": "2025",
            "taxonomyRelations": [
                {
                    "taxonomyId": advisory.owasp,
                    "relationshipName": f"risk: {OWASP_LLM_2025[advisory.owasp]}",
                    "relationshipValue": subject,
                }
            ],
        },
    ]


def _reference(url: str, name: str, tags: list[str]) -> dict[str, Any]:
    reference: dict[str, Any] = {"url": url}
    if name:
        reference["name"] = name
    if tags:
        reference["tags"] = tags
    return reference


def cna_container(
    advisory: AdvisoryDocument,
    *,
    org_id: str,
    short_name: str,
    advisory_url: str = "",
) -> dict[str, Any]:
    """The CNA container to publish through CVE Services (cnaPublishedContainer)."""
    subject = advisory.cve_id or advisory.id
    description = advisory.summary
    if advisory.details:
        description = f"{advisory.summary}\n\n{advisory.details}"
    references = [
        _reference(ref.url, ref.label, REFERENCE_TAGS[ref.kind]) for ref in advisory.references
    ]
    if advisory_url:
        references.insert(0, _reference(advisory_url, advisory.id, ["third-party-advisory"]))
    # Other CVE ids for the same vulnerability (assigned elsewhere) are named, never claimed.
    for alias in advisory.cve_aliases:
        if alias != subject:
            references.append(_reference(cve_record_url(alias), alias, ["related"]))
    for artifact in advisory.artifacts:
        if artifact.repository_url and artifact.repository_url not in {
            ref["url"] for ref in references
        }:
            references.append(
                _reference(artifact.repository_url, artifact.display_name, ["product"])
            )
    if not references:
        raise ValueError("a CVE record needs at least one reference (give advisory_url)")

    container: dict[str, Any] = {
        "providerMetadata": {"orgId": org_id, "shortName": short_name},
        "title": advisory.title,
        "datePublic": iso_utc(advisory.published),
        "descriptions": [{"lang": LANG, "value": description}],
        "affected": [_affected(artifact) for artifact in advisory.artifacts],
        "problemTypes": _problem_types(advisory),
        "references": references,
        "taxonomyMappings": _taxonomy_mappings(advisory, subject),
    }
    if advisory.cvss_vector:
        container["metrics"] = [
            {
                "format": "CVSS",
                "scenarios": [{"lang": LANG, "value": "GENERAL"}],
                "cvssV4_0": cvss_v4_metrics(advisory.cvss_vector),
            }
        ]
    solutions = [r for r in advisory.remediations if r.category == "vendor_fix"]
    workarounds = [r for r in advisory.remediations if r.category in {"mitigation", "workaround"}]
    if solutions:
        container["solutions"] = [{"lang": LANG, "value": r.details} for r in solutions]
    if workarounds:
        container["workarounds"] = [{"lang": LANG, "value": r.details} for r in workarounds]
    if advisory.credits:
        container["credits"] = [
            {"lang": LANG, "value": credit.name, "type": CREDIT_TYPE[credit.role]}
            for credit in advisory.credits
        ]
    container["x_modelcvd"] = _extension(advisory)
    return container


def _extension(advisory: AdvisoryDocument) -> dict[str, Any]:
    """What CVE has no field for: our id, harm category and the measured success rates."""
    return {
        "advisory": advisory.id,
        "harmCategory": advisory.harm_category,
        "payloadCommitment": advisory.payload_commitment or None,
        # The imported records behind the advisory: ids, dates and vectors as given.
        "sources": [source.export() for source in advisory.sources],
        # Counts with their provenance (replayed here, or reported by a named source).
        "measurements": [
            {"artifact": artifact.display_name, **m.export(), "origin": m.origin_text()}
            for artifact in advisory.artifacts
            for m in artifact.measurements
        ],
    }


def cve_record(
    advisory: AdvisoryDocument,
    *,
    org_id: str,
    short_name: str,
    cve_id: str | None = None,
    advisory_url: str = "",
) -> dict[str, Any]:
    """A full CVE JSON 5.1 record (as CVE Services would return it) for the advisory.

    Only for a CVE id this CNA (`org_id`, `short_name`) assigned: `cve_id` defaults to the
    advisory's `assigned_cve`. A CVE assigned by another CNA is an alias, never a record here:
    writing one would claim someone else's id.
    """
    cve_id = cve_id or advisory.assigned_cve
    if cve_id is None:
        raise ValueError(
            f"{advisory.id} has no CVE id assigned by this CNA; its CVE aliases were assigned "
            "elsewhere and are not ours to publish"
        )
    if not (org_id and short_name):
        raise ValueError("a CVE record needs the assigning CNA's orgId and shortName")
    return {
        "dataType": "CVE_RECORD",
        "dataVersion": DATA_VERSION,
        "cveMetadata": {
            "cveId": cve_id,
            "assignerOrgId": org_id,
            "assignerShortName": short_name,
            "state": "PUBLISHED",
            "datePublished": iso_utc(advisory.published),
            "dateUpdated": iso_utc(advisory.modified),
        },
        "containers": {
            "cna": cna_container(
                advisory, org_id=org_id, short_name=short_name, advisory_url=advisory_url
            )
        },
    }
