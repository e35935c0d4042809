"""CSAF 2.0 export in the VEX profile (`csaf_vex`).

The product tree is vendor (provider) -> product name (model) -> product version (one per
listed version: its revision, or its label without git history). Every version gets its
status: known_affected, fixed, known_not_affected or under_investigation. The VEX profile also
asks for an action statement for every affected product (the fixing version as a vendor_fix,
a remediation, or "none_available") and, for every not-affected one, a flag (its VEX
justification) or an impact statement (a threat of category "impact"): both are written.
Files are named per section 5.1 (`csaf_file_name`) and the `self` reference is the JSON
document's own URL. CSAF 2.0 scores only CVSS v2/v3, so the CVSS 4.0 vector travels as a note.
The TLP label follows the advisory's disclosure level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from modelcvd.interop.advisory import (
    AVID_ID,
    GHSA_ID,
    AdvisoryDocument,
    AffectedArtifact,
    ArtifactVersion,
    cve_record_url,
    iso_utc,
)
from modelcvd.taxonomy import OWASP_LLM_2025, atlas_version
from modelcvd.version import __version__
from modelcvd.vocabulary import CreditType, VersionStatus, VexJustification

CSAF_VERSION = "2.0"
TLP_URL = "https://www.first.org/tlp/"
HUGGING_FACE = "https://huggingface.co"
# CSAF has no credit types: an acknowledgment's summary says what the named people did.
# Total over the vocabulary (tests/interop/test_vocabulary_exports.py keeps it so).
ACKNOWLEDGMENT: dict[CreditType, str] = {
    CreditType.FINDER: "found the vulnerability",
    CreditType.REPORTER: "reported the vulnerability",
    CreditType.ANALYST: "analysed the vulnerability",
    CreditType.COORDINATOR: "coordinated the disclosure",
    CreditType.REMEDIATION_DEVELOPER: "developed the remediation",
    CreditType.REMEDIATION_VERIFIER: "verified the remediation",
    CreditType.TOOL: "tool used to find the vulnerability",
    CreditType.SPONSOR: "sponsored the work",
}


# CSAF's product_status groups, one per status. Total over the vocabulary.
PRODUCT_STATUS: dict[VersionStatus, str] = {
    VersionStatus.AFFECTED: "known_affected",
    VersionStatus.FIXED: "fixed",
    VersionStatus.NOT_AFFECTED: "known_not_affected",
    VersionStatus.UNDER_INVESTIGATION: "under_investigation",
}
# The CSAF 2.0 flag labels are the VEX justifications, spelled the same. Total as well.
FLAG_LABEL: dict[VexJustification, str] = {j: j.value for j in VexJustification}


@dataclass
class _Version:
    product_id: str
    name: str
    branch: str  # the product_version branch: a revision, or the version label
    version: ArtifactVersion
    helper: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return PRODUCT_STATUS[self.version.status]


def _purl(artifact: AffectedArtifact, revision: str) -> str | None:
    # purl-spec's "huggingface" type: namespace = user or organisation, version = commit.
    if artifact.collection_url != HUGGING_FACE or not revision:
        return None
    return f"pkg:huggingface/{artifact.package_name}@{revision}"


# CVE 5 versionType -> vers scheme; anything else is "generic" (vers' scheme for the rest).
VERS_SCHEMES = {"semver", "pypi", "npm", "maven", "gem", "golang", "deb", "rpm", "nuget"}
UNBOUNDED = {"", "0", "*"}


def vers_range(version: ArtifactVersion) -> str:
    """A source's range (`version` up to `less_than` or `less_than_or_equal`) in the vers
    notation CSAF's product_version_range takes: 'vers:semver/>=1.0|<1.5'."""
    scheme = version.version_type.lower()
    scheme = scheme if scheme in VERS_SCHEMES else "generic"
    constraints = [] if version.label in UNBOUNDED else [f">={version.label}"]
    if version.less_than and version.less_than != "*":
        constraints.append(f"<{version.less_than}")
    elif version.less_than_or_equal and version.less_than_or_equal != "*":
        constraints.append(f"<={version.less_than_or_equal}")
    return f"vers:{scheme}/{'|'.join(constraints) or '*'}"


def _versions(artifact: AffectedArtifact, next_id: list[int]) -> list[_Version]:
    def product_id() -> str:
        next_id[0] += 1
        return f"CSAFPID-{next_id[0]:04d}"

    versions = []
    for version in artifact.versions:
        helper: dict[str, Any] = {}
        if (purl := _purl(artifact, version.revision)) is not None:
            helper["purl"] = purl
        if version.weights_digest:
            helper["hashes"] = [
                {
                    "file_hashes": [{"algorithm": "sha256", "value": version.weights_digest}],
                    "filename": "model weights",
                }
            ]
        branch = version.version
        if version.revision:
            label = f" ({version.label})" if version.label else ""
            name = f"{artifact.display_name}{label} @ {version.revision}"
        elif version.is_range:
            branch = vers_range(version)
            name = f"{artifact.display_name} {branch}"
        else:
            name = f"{artifact.display_name} {version.label}"
        versions.append(_Version(product_id(), name, branch, version, helper))
    return versions


def _product_tree(
    advisory: AdvisoryDocument, versions: dict[str, list[_Version]]
) -> dict[str, Any]:
    vendors: dict[str, list[dict[str, Any]]] = {}
    for artifact in advisory.artifacts:
        version_branches = []
        for version in versions[artifact.display_name]:
            product: dict[str, Any] = {"name": version.name, "product_id": version.product_id}
            if version.helper:
                product["product_identification_helper"] = version.helper
            version_branches.append(
                {
                    "category": (
                        "product_version_range" if version.version.is_range else "product_version"
                    ),
                    "name": version.branch,
                    "product": product,
                }
            )
        vendors.setdefault(artifact.provider, []).append(
            {"category": "product_name", "name": artifact.name, "branches": version_branches}
        )
    return {
        "branches": [
            {"category": "vendor", "name": vendor, "branches": products}
            for vendor, products in vendors.items()
        ]
    }


def _measurement_text(advisory: AdvisoryDocument) -> str:
    """One line per measurement: counts, exact interval and where the counts come from."""
    lines = []
    for artifact in advisory.artifacts:
        for m in artifact.measurements:
            where = (
                f"{artifact.display_name} @ {m.revision}" if m.revision else artifact.display_name
            )
            lines.append(f"{where}: attack succeeded in {m.describe()}")
    return "\n".join(lines)


def _remediations(
    advisory: AdvisoryDocument, versions: dict[str, list[_Version]]
) -> list[dict[str, Any]]:
    remediations: list[dict[str, Any]] = []
    covered: set[str] = set()
    # The fixing version first: for open weights the only remedy is to use a new version.
    for artifact in advisory.artifacts:
        listed = versions[artifact.display_name]
        for fix in listed:
            ids = [v.product_id for v in listed if v.version.fixed_in == fix.version.version]
            if not ids:
                continue
            remediations.append(
                {
                    "category": "vendor_fix",
                    "details": f"Fixed in {artifact.display_name} {fix.version.display}: use "
                    "that version instead (open weights cannot be patched in place).",
                    "product_ids": ids,
                }
            )
            covered.update(ids)
    for remediation in advisory.remediations:
        ids = [
            v.product_id
            for artifact in advisory.artifacts
            if not remediation.artifacts or artifact.display_name in remediation.artifacts
            for v in versions[artifact.display_name]
            if v.status == "known_affected"
        ]
        if not ids:
            continue
        entry: dict[str, Any] = {
            "category": remediation.category,
            "details": remediation.details,
            "product_ids": ids,
        }
        if remediation.url:
            entry["url"] = remediation.url
        remediations.append(entry)
        covered.update(ids)
    # The VEX profile wants an action statement for every known_affected product.
    uncovered = [
        v.product_id
        for artifact_versions in versions.values()
        for v in artifact_versions
        if v.status == "known_affected" and v.product_id not in covered
    ]
    if uncovered:
        remediations.append(
            {
                "category": "none_available",
                "details": "No remediation is available yet for these versions.",
                "product_ids": uncovered,
            }
        )
    return remediations


def _threats(
    advisory: AdvisoryDocument, versions: dict[str, list[_Version]]
) -> list[dict[str, Any]]:
    """An impact statement for every version not affected (the VEX profile asks for one, or a
    flag), quoting where the status comes from and, at the defender level, the replay."""
    threats = []
    for artifact in advisory.artifacts:
        for version in versions[artifact.display_name]:
            if version.version.status != VersionStatus.NOT_AFFECTED:
                continue
            # Only a run on this instance may be quoted as a replay.
            replay = next(
                (
                    m
                    for m in artifact.measurements
                    if version.version.revision
                    and m.revision == version.version.revision
                    and m.replayed_here
                ),
                None,
            )
            details = f"Not affected: {version.version.reason or 'stated by the coordinators'}."
            if replay is not None:
                details += f" The attack succeeded on this version in {replay.describe()}."
            threats.append(
                {"category": "impact", "details": details, "product_ids": [version.product_id]}
            )
    return threats


def _flags(versions: dict[str, list[_Version]]) -> list[dict[str, Any]]:
    """The VEX justification of each version not affected, as CSAF flags (one per label)."""
    by_label: dict[str, list[str]] = {}
    for artifact_versions in versions.values():
        for version in artifact_versions:
            if version.version.justification is not None:
                label = FLAG_LABEL[version.version.justification]
                by_label.setdefault(label, []).append(version.product_id)
    return [{"label": label, "product_ids": ids} for label, ids in by_label.items()]


def _vulnerability(
    advisory: AdvisoryDocument, versions: dict[str, list[_Version]]
) -> dict[str, Any]:
    status: dict[str, list[str]] = {}
    for artifact_versions in versions.values():
        for version in artifact_versions:
            status.setdefault(version.status, []).append(version.product_id)

    ids = [{"system_name": "modelcvd", "text": advisory.id}]
    for alias in advisory.aliases:
        if GHSA_ID.match(alias):
            ids.append({"system_name": "GitHub Security Advisories", "text": alias})
        elif AVID_ID.match(alias):
            ids.append({"system_name": "AI Vulnerability Database (AVID)", "text": alias})

    notes: list[dict[str, Any]] = [
        {"category": "description", "title": "Summary", "text": advisory.summary},
        {
            "category": "other",
            "title": f"MITRE ATLAS {atlas_version()} technique",
            "text": f"{advisory.atlas_technique} {advisory.atlas_technique_name}",
        },
        {
            "category": "other",
            "title": "OWASP Top 10 for LLM Applications 2025",
            "text": f"{advisory.owasp} {OWASP_LLM_2025[advisory.owasp]}",
        },
        {"category": "other", "title": "Harm category", "text": advisory.harm_category},
    ]
    if advisory.cvss_vector:
        notes.append(
            {
                "category": "other",
                "title": "CVSS 4.0",
                "text": f"{advisory.cvss_vector} (score {advisory.cvss_score}, "
                f"{advisory.cvss_severity})",
            }
        )
    if measured := _measurement_text(advisory):
        notes.append(
            {"category": "details", "title": "Attack success counts and origin", "text": measured}
        )
    if advisory.payload_commitment:
        notes.append(
            {
                "category": "other",
                "title": "Payload commitment",
                "text": f"sha256 of the withheld payload: {advisory.payload_commitment}",
            }
        )
    notes += _source_notes(advisory)

    vulnerability: dict[str, Any] = {
        "title": advisory.title,
        "ids": ids,
        "notes": notes,
        "product_status": status,
        "release_date": iso_utc(advisory.published),
    }
    if advisory.cve_id:
        vulnerability["cve"] = advisory.cve_id
    if advisory.cwe:
        vulnerability["cwe"] = {"id": advisory.cwe[0], "name": advisory.cwe[1]}
    if scores := _source_scores(advisory, status.get("known_affected", [])):
        vulnerability["scores"] = scores
    if remediations := _remediations(advisory, versions):
        vulnerability["remediations"] = remediations
    if threats := _threats(advisory, versions):
        vulnerability["threats"] = threats
    if flags := _flags(versions):
        vulnerability["flags"] = flags
    if advisory.credits:
        vulnerability["acknowledgments"] = _acknowledgments(advisory)
    return vulnerability


def _source_notes(advisory: AdvisoryDocument) -> list[dict[str, Any]]:
    """One note per imported record: its id, assigner, dates and CVSS vectors as given."""
    notes = []
    for source in advisory.sources:
        parts = [f"Assigned by {source.assigner}." if source.assigner else ""]
        if dates := source.dates_text():
            parts.append(f"Dates as given: {dates}.")
        if source.cwes:
            parts.append(f"Weaknesses: {', '.join(source.cwes)}.")
        parts += [
            f"CVSS {score.version} ({score.source or 'source'}): {score.vector}"
            + (f" (score {score.scored[0]}, {score.scored[1]})" if score.scored else "")
            for score in source.scores
        ]
        notes.append(
            {
                "category": "other",
                "title": f"Source record {source.id}",
                "text": " ".join(part for part in parts if part) or source.id,
            }
        )
    return notes


def _source_scores(advisory: AdvisoryDocument, product_ids: list[str]) -> list[dict[str, Any]]:
    """The imported records' CVSS v2/v3 vectors as CSAF scores (CSAF 2.0 has no v4), scored by
    the `cvss` library. At most one per CVSS version for the affected products (CSAF test
    6.1.7); the first given wins (the CNA's before an ADP's), every vector is in the notes."""
    score: dict[str, Any] = {}
    for source in advisory.sources:
        for given in source.scores:
            key = "cvss_v2" if given.version == "2.0" else "cvss_v3"
            if given.version == "4.0" or key in score or given.scored is None:
                continue
            if key == "cvss_v3" and not given.vector.startswith(f"CVSS:{given.version}/"):
                continue
            score[key] = {
                "version": given.version,
                "vectorString": given.vector,
                "baseScore": given.scored[0],
            }
            if key == "cvss_v3":
                score[key]["baseSeverity"] = given.scored[1]
    if not score or not product_ids:
        return []
    return [{"products": list(product_ids), **score}]


def _acknowledgments(advisory: AdvisoryDocument) -> list[dict[str, Any]]:
    """One acknowledgment per credit type, in the vocabulary's order, saying what was done."""
    return [
        {"names": names, "summary": ACKNOWLEDGMENT[credit_type]}
        for credit_type in CreditType
        if (names := [c.name for c in advisory.credits if c.role == credit_type])
    ]


def csaf_vex(
    advisory: AdvisoryDocument,
    *,
    publisher_name: str,
    publisher_namespace: str,
    advisory_url: str = "",
    document_url: str = "",
) -> dict[str, Any]:
    """The advisory as a CSAF 2.0 document in the VEX profile. `document_url` is where this
    JSON document is served (its `self` reference); `advisory_url` the human-readable page,
    an external reference."""
    next_id = [0]
    versions = {a.display_name: _versions(a, next_id) for a in advisory.artifacts}

    history = [{"number": "1", "date": iso_utc(advisory.published), "summary": "Initial release."}]
    if advisory.modified > advisory.published:
        history.append({"number": "2", "date": iso_utc(advisory.modified), "summary": "Updated."})
    notes = [{"category": "summary", "title": "Summary", "text": advisory.summary}]
    if advisory.details:
        notes.append({"category": "details", "title": "Details", "text": advisory.details})
    references = [
        {"category": "external", "summary": ref.label or ref.kind, "url": ref.url}
        for ref in advisory.references
    ]
    references += [
        {"category": "external", "summary": f"CVE record {alias}", "url": cve_record_url(alias)}
        for alias in advisory.cve_aliases
    ]
    if advisory_url:
        references.insert(
            0,
            {
                "category": "external",
                "summary": f"modelcvd advisory {advisory.id} (web page)",
                "url": advisory_url,
            },
        )
    if document_url:
        references.insert(
            0,
            {
                "category": "self",
                "summary": f"modelcvd advisory {advisory.id} (this CSAF document)",
                "url": document_url,
            },
        )

    document: dict[str, Any] = {
        "category": "csaf_vex",
        "csaf_version": CSAF_VERSION,
        "lang": "en",
        "title": advisory.title,
        "publisher": {
            "category": "coordinator",
            "name": publisher_name,
            "namespace": publisher_namespace,
        },
        "distribution": {"tlp": {"label": advisory.tlp, "url": TLP_URL}},
        "notes": notes,
        "tracking": {
            "id": advisory.id,
            "status": "final",
            "version": history[-1]["number"],
            "initial_release_date": iso_utc(advisory.published),
            "current_release_date": iso_utc(advisory.modified),
            "revision_history": history,
            "generator": {"engine": {"name": "modelcvd", "version": __version__}},
        },
    }
    if advisory.cvss_severity:
        document["aggregate_severity"] = {"text": advisory.cvss_severity}
    if references:
        document["references"] = references
    return {
        "document": document,
        "product_tree": _product_tree(advisory, versions),
        "vulnerabilities": [_vulnerability(advisory, versions)],
    }


# CSAF 2.0 section 5.1: the file name is the tracking id, lower case, with every character
# outside [+\-a-z0-9] replaced by "_", then ".json".
_NOT_IN_FILE_NAME = re.compile(r"[^+\-a-z0-9]")


def csaf_file_name(tracking_id: str) -> str:
    """The file name CSAF 2.0 section 5.1 prescribes for a document with this tracking id."""
    return _NOT_IN_FILE_NAME.sub("_", tracking_id.lower()) + ".json"
