"""AVID report export (the format of avidtools' `Report` datamodel, data_version 0.3.3).

The advisory becomes a "Third-party Report" of type "Measurement" when it holds counts (each
one an AVID metric whose detection method names its provenance: a verification run on this
instance, or the source that reported the counts) and "Advisory" otherwise. `affects.artifacts`
names each model with an affected version; AVID has no field for versions or their statuses,
so the description lists every version with its status (`version_statuses_text`). Impact carries the AVID taxonomy
(SEP view chosen from the OWASP risk), the ATLAS technique and the CWE. AVID's `cvss` block is
CVSS v3 only, so a CVSS 4.0 vector is not exported here. Exports are strict: tests validate
them against the schema generated from AVID's datamodel. Importing AVID is in avid_import.py.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from modelcvd.interop.advisory import AdvisoryDocument, cve_record_url
from modelcvd.taxonomy import OWASP_LLM_2025
from modelcvd.vocabulary import VersionStatus

DATA_VERSION = "0.3.3"
TAXONOMY_VERSION = "0.2"
LANG = "eng"  # AVID writes ISO 639-2 codes

# The AVID SEP-view subcategory closest to each OWASP LLM 2025 risk. Prompt injection and
# jailbreaks get around the model's safeguards, which AVID files under "Model Bypass".
SEP_BY_OWASP: dict[str, str] = {
    "LLM01": "S0400: Model Bypass",
    "LLM02": "S0301: Information Leak",
    "LLM03": "S0200: Supply Chain Compromise",
    "LLM04": "S0600: Data Poisoning",
    "LLM05": "S0100: Software Vulnerability",
    "LLM06": "S0300: Over-permissive API",
    "LLM07": "S0301: Information Leak",
    "LLM08": "S0601: Ingest Poisoning",
    "LLM09": "E0402: Generative Misinformation",
    "LLM10": "S0302: Excessive Queries",
}
RISK_DOMAIN = {"S": "Security", "E": "Ethics", "P": "Performance"}
# AVID's SEP and lifecycle views, spelled as its datamodel's enums, by code. An imported AVID
# record's own views are exported by code (so "E0100: Bias/Discrimination", a spelling real
# records drift to, goes out as the enum's "E0100: Bias/ Discrimination"), never replaced.
SEP_VIEW = {
    entry.split(":")[0]: entry
    for entry in (
        "S0100: Software Vulnerability",
        "S0200: Supply Chain Compromise",
        "S0201: Model Compromise",
        "S0202: Software Compromise",
        "S0300: Over-permissive API",
        "S0301: Information Leak",
        "S0302: Excessive Queries",
        "S0400: Model Bypass",
        "S0401: Bad Features",
        "S0402: Insufficient Training Data",
        "S0403: Adversarial Example",
        "S0500: Exfiltration",
        "S0501: Model inversion",
        "S0502: Model theft",
        "S0600: Data Poisoning",
        "S0601: Ingest Poisoning",
        "E0100: Bias/ Discrimination",
        "E0101: Group fairness",
        "E0102: Individual fairness",
        "E0200: Explainability",
        "E0201: Global explanations",
        "E0202: Local explanations",
        "E0300: User actions",
        "E0301: Toxicity",
        "E0302: Polarization/ Exclusion",
        "E0400: Misinformation",
        "E0401: Deliberative Misinformation",
        "E0402: Generative Misinformation",
        "P0100: Data issues",
        "P0101: Data drift",
        "P0102: Concept drift",
        "P0103: Data entanglement",
        "P0104: Data quality issues",
        "P0105: Feedback loops",
        "P0200: Model issues",
        "P0201: Resilience/ Stability",
        "P0202: OOD generalization",
        "P0203: Scaling",
        "P0204: Accuracy",
        "P0300: Privacy",
        "P0301: Anonymization",
        "P0302: Randomization",
        "P0303: Encryption",
        "P0400: Safety",
        "P0401: Psychological Safety",
        "P0402: Physical safety",
        "P0403: Socioeconomic safety",
        "P0404: Environmental safety",
    )
}
LIFECYCLE_VIEW = {
    entry.split(":")[0]: entry
    for entry in (
        "L01: Business Understanding",
        "L02: Data Understanding",
        "L03: Data Preparation",
        "L04: Model Development",
        "L05: Evaluation",
        "L06: Deployment",
    )
}
ARTIFACT_TYPES = {"Model", "System", "Dataset"}
PROBLEM_CLASSES = {
    "AIID Incident",
    "ATLAS Case Study",
    "CVE Entry",
    "LLM Evaluation",
    "Third-party Report",
}
REFERENCE_TYPE = {"model": "model", "report": "source", "evidence": "source"}


def _views(advisory: AdvisoryDocument, view: str, known: dict[str, str]) -> list[str]:
    """The imported records' own SEP or lifecycle view, by code, in AVID's spelling."""
    codes = [
        entry.split(":")[0].strip()
        for source in advisory.sources
        for entry in getattr(source, view)
    ]
    return list(dict.fromkeys(known[code] for code in codes if code in known))


def _artifact_type(advisory: AdvisoryDocument, name: str) -> str:
    """Model, unless an imported record names the artifact a System or Dataset."""
    for source in advisory.sources:
        given = source.artifact_types.get(name, "")
        if given in ARTIFACT_TYPES:
            return given
    return "Model"


def _source_cvss(advisory: AdvisoryDocument) -> dict[str, Any] | None:
    """AVID's cvss block (v3 only): the first v3 vector an imported record gave, scored by the
    `cvss` library."""
    for source in advisory.sources:
        for given in source.scores:
            if given.version in {"3.0", "3.1"} and given.scored is not None:
                return {
                    "version": given.version,
                    "vectorString": given.vector,
                    "baseScore": given.scored[0],
                    "baseSeverity": given.scored[1],
                }
    return None


# AVID has no status per version: `affects` names the affected models, and the description
# says what the advisory says about each version, in these words. Total over the vocabulary.
STATUS_WORDS: dict[VersionStatus, str] = {
    VersionStatus.AFFECTED: "affected",
    VersionStatus.FIXED: "fixed",
    VersionStatus.NOT_AFFECTED: "not affected",
    VersionStatus.UNDER_INVESTIGATION: "under investigation",
}
VERSION_STATUSES_HEADING = "Version statuses:"


def version_statuses_text(advisory: AdvisoryDocument) -> str:
    """'Version statuses:' and one line per listed version: '- MODEL VERSION: STATUS', with
    '; fixed in VERSION' for an affected version whose fix is known."""
    lines = [VERSION_STATUSES_HEADING]
    for artifact in advisory.artifacts:
        by_version = {v.version: v for v in artifact.versions}
        for version in artifact.versions:
            line = f"- {artifact.display_name} {version.display}: {STATUS_WORDS[version.status]}"
            if version.fixed_in:
                line += f"; fixed in {by_version[version.fixed_in].display}"
            lines.append(line)
        if artifact.default_status:
            lines.append(f"- {artifact.display_name} other versions: {artifact.default_status}")
    return "\n".join(lines)


def avid_report(advisory: AdvisoryDocument, *, advisory_url: str = "") -> dict[str, Any]:
    """The advisory as an AVID report."""
    sep = SEP_BY_OWASP[advisory.owasp]
    # The detection method names where the counts come from: "replayed on this instance" only
    # for a verification run here, otherwise the source that reported them.
    metrics = [
        {
            "name": "attack success rate",
            "detection_method": {"type": "Static Threshold", "name": m.origin_text()},
            "results": {"artifact": artifact.display_name, **m.export(), "success_rate": m.rate},
        }
        for artifact in advisory.artifacts
        for m in artifact.measurements
    ]
    references = [
        {
            "type": REFERENCE_TYPE.get(ref.kind, "source"),
            "label": ref.label or ref.url,
            "url": ref.url,
        }
        for ref in advisory.references
    ]
    if advisory_url:
        references.insert(
            0, {"type": "source", "label": f"modelcvd advisory {advisory.id}", "url": advisory_url}
        )
    references += [
        {"type": "source", "label": f"CVE record {alias}", "url": cve_record_url(alias)}
        for alias in advisory.cve_aliases
    ]
    references += [
        {"type": "model", "label": artifact.display_name, "url": artifact.repository_url}
        for artifact in advisory.artifacts
        if artifact.repository_url
    ]
    # AVID names a model as provider/name (what its importers, ours included, read back); the
    # versions and their statuses are in the description.
    affected = [
        {"type": _artifact_type(advisory, artifact.display_name), "name": artifact.display_name}
        for artifact in advisory.artifacts
        if artifact.is_affected
    ]
    if not affected:
        raise ValueError(
            f"{advisory.id} lists no affected version, and an AVID report needs what it affects"
        )
    sep_view = _views(advisory, "sep_view", SEP_VIEW) or [sep]
    impact: dict[str, Any] = {
        "avid": {
            "vuln_id": None,
            "risk_domain": sorted({RISK_DOMAIN[entry[0]] for entry in sep_view}),
            "sep_view": sep_view,
            "lifecycle_view": _views(advisory, "lifecycle_view", LIFECYCLE_VIEW)
            or ["L06: Deployment"],
            "taxonomy_version": TAXONOMY_VERSION,
        },
        "atlas": [
            {
                "technique": advisory.atlas_technique,
                "description": advisory.atlas_technique_name,
            }
        ],
    }
    if advisory.cwe:
        impact["cwe"] = [{"cweId": advisory.cwe[0], "description": advisory.cwe[1], "lang": LANG}]
    if cvss := _source_cvss(advisory):
        impact["cvss"] = cvss
    owasp = f"OWASP LLM 2025 {advisory.owasp} ({OWASP_LLM_2025[advisory.owasp]})"
    # AVID has no field for details or remediations: they go into the description.
    description = [advisory.summary, advisory.details]
    description.append(version_statuses_text(advisory))
    description += [f"Remediation ({r.category}): {r.details}" for r in advisory.remediations]
    description.append(f"Classified as {owasp}.")
    if advisory.payload_commitment:
        description.append(f"Commitment to the withheld payload: {advisory.payload_commitment}")
    # AVID has one date (reported_date, this advisory's): the sources' own dates and vectors
    # are stated in the description.
    for source in advisory.sources:
        given = [source.dates_text()] + [f"CVSS {s.version} {s.vector}" for s in source.scores]
        description.append(f"Source record {source.id}: {'; '.join(g for g in given if g)}.")
    return {
        "data_type": "AVID",
        "data_version": DATA_VERSION,
        "metadata": {"report_id": advisory.id},
        "affects": {
            "developer": sorted({artifact.provider for artifact in advisory.artifacts}),
            "deployer": list(
                dict.fromkeys(deployer for s in advisory.sources for deployer in s.deployers)
            ),
            "artifacts": affected,
        },
        "problemtype": {
            # An imported AVID record's own class; modelcvd's own findings are third-party.
            "classof": next(
                (s.avid_class for s in advisory.sources if s.avid_class in PROBLEM_CLASSES),
                "Third-party Report",
            ),
            "type": "Measurement" if metrics else "Advisory",
            "description": {"lang": LANG, "value": advisory.title},
        },
        "metrics": metrics,
        "references": references,
        "description": {"lang": LANG, "value": "\n\n".join(part for part in description if part)},
        "impact": impact,
        "credit": [{"lang": LANG, "value": credit.name} for credit in advisory.credits],
        "reported_date": advisory.published.astimezone(UTC).date().isoformat(),
    }
