"""OSV 1.7 export: models as git repositories with full-hash GIT ranges.

Each artifact with a repository becomes an `affected` entry in OSV's GIT ecosystem (package
name = repository URL) with one GIT range: `introduced` at the oldest affected revision and,
when a fix is known, `fixed` at the fixing revision. Without a fix OSV reads "every later
commit is affected", which is what modelcvd assumes until a replay says otherwise. The exact
revisions replayed are also listed in `versions`. Artifacts without git history (hosted API
models) cannot be expressed in OSV and are named in `database_specific` instead.
"""

from __future__ import annotations

from typing import Any

from modelcvd.interop.advisory import AdvisoryDocument, AffectedArtifact, iso_utc
from modelcvd.taxonomy import OWASP_LLM_2025, atlas_version
from modelcvd.vocabulary import CreditType

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


def _git_affected(artifact: AffectedArtifact) -> dict[str, Any] | None:
    if not artifact.affected_revisions:
        return None  # only known-not-affected revisions: nothing for OSV to list
    events: list[dict[str, str]] = [{"introduced": artifact.affected_revisions[0]}]
    if artifact.fixed_revision:
        events.append({"fixed": artifact.fixed_revision})
    return {
        "package": {"ecosystem": "GIT", "name": artifact.repository_url},
        "ranges": [{"type": "GIT", "repo": artifact.repository_url, "events": events}],
        "versions": list(artifact.affected_revisions),
        "database_specific": {
            "provider": artifact.provider,
            "model": artifact.name,
            "version_label": artifact.version_label or None,
            "weights_sha256": artifact.weights_digest or None,
            "not_affected_revisions": list(artifact.not_affected_revisions),
            # Counts with their provenance: replayed here, or reported by a named source.
            "measurements": [
                {**m.export(), "origin": m.origin_text()} for m in artifact.measurements
            ],
        },
    }


def osv_document(advisory: AdvisoryDocument, *, advisory_url: str = "") -> dict[str, Any]:
    """The advisory as an OSV record (schema 1.7)."""
    affected = [
        entry
        for artifact in advisory.artifacts
        if artifact.repository_url and (entry := _git_affected(artifact)) is not None
    ]
    without_git = [
        {"provider": a.provider, "model": a.name, "version_label": a.version_label}
        for a in advisory.artifacts
        if not a.repository_url
    ]
    references = [{"type": REFERENCE_TYPE[ref.kind], "url": ref.url} for ref in advisory.references]
    if advisory_url:
        references.insert(0, {"type": "ADVISORY", "url": advisory_url})
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
            "artifacts_without_git": without_git,
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


def affected_revision_ranges(document: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """{repository URL: (introduced, fixed or None)} read back from an OSV record's GIT ranges.

    Lenient about records written by others: non-GIT ranges are ignored.
    """
    ranges: dict[str, tuple[str, str | None]] = {}
    for affected in document.get("affected") or []:
        for range_ in affected.get("ranges") or []:
            if range_.get("type") != "GIT" or not range_.get("repo"):
                continue
            introduced = next((e["introduced"] for e in range_["events"] if "introduced" in e), "")
            fixed = next((e["fixed"] for e in range_["events"] if "fixed" in e), None)
            ranges[range_["repo"]] = (introduced, fixed)
    return ranges
