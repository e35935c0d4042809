"""OSV 1.7 export: models as git repositories with full-hash GIT ranges, or by purl.

Each model with an affected version becomes one `affected` entry (see `_affected`): a model in
a git repository (Hugging Face) as a package of OSV's GIT ecosystem named by the repository
URL, with one GIT range per affected commit (`introduced` there, `fixed` at the commit that
fixes it when one is known; without a fix OSV reads "every later commit is affected", which is
what modelcvd assumes until a replay says otherwise); any other model, which OSV has no
ecosystem for, with its purl and its affected versions listed explicitly. `versions` always
lists the affected versions. OSV itself only says "affected": the other statuses (fixed, not
affected, under investigation) travel in `database_specific.version_statuses`.
"""

from __future__ import annotations

from typing import Any

from modelcvd.interop.advisory import (
    AdvisoryDocument,
    AffectedArtifact,
    ArtifactVersion,
    cve_record_url,
    iso_utc,
)
from modelcvd.taxonomy import OWASP_LLM_2025, atlas_version
from modelcvd.vocabulary import CreditType, VersionStatus

SCHEMA_VERSION = "1.7.0"

# OSV's schema accepts only registered home-database prefixes, plus "x_" for databases that
# are not registered. modelcvd is not (yet), so its ids are exported as x_MCVD-YYYY-NNNN.
ID_PREFIX = "x_"

REFERENCE_TYPE = {
    "advisory": "ADVISORY",
    "article": "ARTICLE",
    "report": "REPORT",
    "fix": "FIX",
    "evidence": "EVIDENCE",
    "model": "PACKAGE",
    "web": "WEB",
}
# Total over the vocabulary (tests/interop/test_vocabulary_exports.py keeps it so).
CREDIT_TYPE: dict[CreditType, str] = {
    CreditType.FINDER: "FINDER",
    CreditType.REPORTER: "REPORTER",
    CreditType.ANALYST: "ANALYST",
    CreditType.COORDINATOR: "COORDINATOR",
    CreditType.REMEDIATION_DEVELOPER: "REMEDIATION_DEVELOPER",
    CreditType.REMEDIATION_VERIFIER: "REMEDIATION_VERIFIER",
    CreditType.TOOL: "TOOL",
    CreditType.SPONSOR: "SPONSOR",
}


def osv_id(advisory_id: str) -> str:
    return f"{ID_PREFIX}{advisory_id}"


def _version_statuses(advisory: AdvisoryDocument) -> list[dict[str, Any]]:
    """Every listed version of every model with its status: OSV itself lists affected versions
    only, so this is where fixed, not affected and under investigation are said."""
    return [
        {
            "model": artifact.display_name,
            "version": v.version,
            "label": v.label or None,
            "status": v.status.value,
            "fixed_in": v.fixed_in or None,
            "justification": v.justification.value if v.justification else None,
            "weights_sha256": v.weights_digest or None,
        }
        | _source_fields(v)
        for artifact in advisory.artifacts
        for v in artifact.versions
    ]


def _source_fields(version: ArtifactVersion) -> dict[str, Any]:
    """An imported version's range and scheme as its source gave them (CVE 5 names). OSV's own
    ECOSYSTEM and SEMVER ranges need a package ecosystem, which a model has none of, so a
    range stays here, in `database_specific`, and only exact versions go in `versions`."""
    fields: dict[str, Any] = {
        "versionType": version.version_type,
        "lessThan": version.less_than,
        "lessThanOrEqual": version.less_than_or_equal,
        "changes": list(version.changes),
        "source_status": version.source_status,
    }
    return {key: value for key, value in fields.items() if value}


def _database_specific(artifact: AffectedArtifact) -> dict[str, Any]:
    return {
        "provider": artifact.provider,
        "model": artifact.name,
        # Counts with their provenance: replayed here, or reported by a named source.
        "measurements": [{**m.export(), "origin": m.origin_text()} for m in artifact.measurements],
    }


def _git_ranges(artifact: AffectedArtifact) -> list[dict[str, Any]]:
    """One GIT range per affected commit: introduced there, and `fixed` at the commit that
    fixes it when one is known. Without a fix the range stays open (every later commit is
    affected, the conservative reading: a later commit that only edits the model card keeps
    the same weights), so `last_affected` is never written."""
    fixed_revisions = {v.version: v.revision for v in artifact.with_status(VersionStatus.FIXED)}
    ranges = []
    for version in artifact.with_status(VersionStatus.AFFECTED):
        if not version.revision:
            continue
        events: list[dict[str, str]] = [{"introduced": version.revision}]
        if fixed := fixed_revisions.get(version.fixed_in):
            events.append({"fixed": fixed})
        ranges.append({"type": "GIT", "repo": artifact.repository_url, "events": events})
    return ranges


def _affected(artifact: AffectedArtifact) -> dict[str, Any] | None:
    """The artifact as an OSV `affected` entry, or None when no version of it is affected
    (OSV lists affected versions only; the others stay in `database_specific`).

    - In a git repository (a Hugging Face model pinned to a revision): package in the GIT
      ecosystem named by the repository URL, GIT ranges on it, and `versions` with every
      affected commit (OSV asks for them beside GIT ranges) and the labels of affected
      versions that have no commit.
    - Not in a git repository: OSV has no ecosystem for models, so the package is left out
      (the schema allows it) and the model is named by its purl in `database_specific`, with
      the affected versions listed explicitly in `versions`.
    """
    affected = artifact.with_status(VersionStatus.AFFECTED)
    if not affected:
        return None
    entry: dict[str, Any] = {}
    if artifact.repository_url:
        package: dict[str, str] = {"ecosystem": "GIT", "name": artifact.repository_url}
        if artifact.purl:
            package["purl"] = artifact.purl
        entry["package"] = package
        if ranges := _git_ranges(artifact):
            entry["ranges"] = ranges
    entry["versions"] = list(dict.fromkeys(v.version for v in affected if not v.is_range))
    entry["database_specific"] = _database_specific(artifact)
    if artifact.default_status:
        entry["database_specific"]["default_status"] = artifact.default_status
    if artifact.purl and not artifact.repository_url:
        entry["database_specific"]["purl"] = artifact.purl
    return entry


def osv_document(advisory: AdvisoryDocument, *, advisory_url: str = "") -> dict[str, Any]:
    """The advisory as an OSV record (schema 1.7)."""
    affected = [
        entry for artifact in advisory.artifacts if (entry := _affected(artifact)) is not None
    ]
    if not affected:
        # An OSV record says which versions are affected; with none it would say nothing.
        raise ValueError(
            f"{advisory.id} lists no affected version, and an OSV record without one would "
            "say nothing"
        )
    references = [{"type": REFERENCE_TYPE[ref.kind], "url": ref.url} for ref in advisory.references]
    if advisory_url:
        references.insert(0, {"type": "ADVISORY", "url": advisory_url})
    references += [
        {"type": "ADVISORY", "url": cve_record_url(alias)} for alias in advisory.cve_aliases
    ]
    details = (
        advisory.summary if not advisory.details else f"{advisory.summary}\n\n{advisory.details}"
    )
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": osv_id(advisory.id),
        "modified": iso_utc(advisory.modified),
        "published": iso_utc(advisory.published),
        "aliases": list(advisory.aliases),
        "summary": advisory.title,
        "details": details,
        "affected": affected,
        "references": references,
        "credits": [
            {"name": credit.name, "type": CREDIT_TYPE[credit.role]} for credit in advisory.credits
        ],
        "database_specific": {
            "modelcvd_id": advisory.id,
            "owasp_llm_2025": {"id": advisory.owasp, "name": OWASP_LLM_2025[advisory.owasp]},
            "atlas": {
                "id": advisory.atlas_technique,
                "name": advisory.atlas_technique_name,
                "version": atlas_version(),
            },
            "cwe_ids": [advisory.cwe[0]] if advisory.cwe else [],
            "harm_category": advisory.harm_category,
            "disclosure_level": advisory.disclosure_level.value,
            "payload_commitment": advisory.payload_commitment or None,
            "version_statuses": _version_statuses(advisory),
            # OSV has no remediation field; CVE (workarounds) and CSAF carry these natively.
            "remediations": [
                {"category": r.category, "details": r.details, "url": r.url or None}
                for r in advisory.remediations
            ],
            # The imported records behind the advisory: ids, dates, vectors as given.
            "sources": [source.export() for source in advisory.sources],
        },
    }
    severity = [{"type": "CVSS_V4", "score": advisory.cvss_vector}] if advisory.cvss_vector else []
    severity += _source_severity(advisory, {entry["score"] for entry in severity})
    if severity:
        document["severity"] = severity
    return document


SEVERITY_TYPE = {"2.0": "CVSS_V2", "3.0": "CVSS_V3", "3.1": "CVSS_V3", "4.0": "CVSS_V4"}


def _source_severity(advisory: AdvisoryDocument, seen: set[str]) -> list[dict[str, str]]:
    """The imported records' CVSS vectors, each as given, once; a vector the `cvss` library
    cannot parse stays in database_specific.sources only."""
    severity = []
    for source in advisory.sources:
        for score in source.scores:
            if score.vector in seen or score.scored is None:
                continue
            seen.add(score.vector)
            severity.append({"type": SEVERITY_TYPE[score.version], "score": score.vector})
    return severity


def affected_revision_ranges(document: dict[str, Any]) -> dict[str, list[tuple[str, str | None]]]:
    """{repository URL: [(introduced, fixed or None), ...]} read back from an OSV record's GIT
    ranges, in the record's order.

    Lenient about records written by others: non-GIT ranges are ignored.
    """
    ranges: dict[str, list[tuple[str, str | None]]] = {}
    for affected in document.get("affected") or []:
        for range_ in affected.get("ranges") or []:
            if range_.get("type") != "GIT" or not range_.get("repo"):
                continue
            introduced = next((e["introduced"] for e in range_["events"] if "introduced" in e), "")
            fixed = next((e["fixed"] for e in range_["events"] if "fixed" in e), None)
            ranges.setdefault(range_["repo"], []).append((introduced, fixed))
    return ranges
