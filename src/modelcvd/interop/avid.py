"""AVID report export (the format of avidtools' `Report` datamodel, data_version 0.3.3).

The advisory becomes a "Third-party Report" of type "Measurement" when success rates were
measured (each one an AVID metric) and "Advisory" otherwise. `affects.artifacts` names each
model with an affected version; AVID has no field for versions or their statuses, so the
description lists every version with its status (`version_statuses_text`). Impact carries the AVID taxonomy
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
REFERENCE_TYPE = {"model": "model", "report": "source", "evidence": "source"}


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
    return "\n".join(lines)


def avid_report(advisory: AdvisoryDocument, *, advisory_url: str = "") -> dict[str, Any]:
    """The advisory as an AVID report."""
    sep = SEP_BY_OWASP[advisory.owasp]
    metrics = [
        {
            "name": "attack success rate",
            "detection_method": {"type": "Static Threshold", "name": "modelcvd replay"},
            "results": {
                "artifact": artifact.display_name,
                "revision": m.revision,
                "successes": m.successes,
                "trials": m.trials,
                "success_rate": m.rate,
                "interval": [m.interval_low, m.interval_high],
                "confidence": m.confidence,
                "interval_method": m.interval_method,
            },
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
        {"type": "Model", "name": artifact.display_name}
        for artifact in advisory.artifacts
        if artifact.is_affected
    ]
    if not affected:
        raise ValueError(
            f"{advisory.id} lists no affected version, and an AVID report needs what it affects"
        )
    impact: dict[str, Any] = {
        "avid": {
            "vuln_id": None,
            "risk_domain": [RISK_DOMAIN[sep[0]]],
            "sep_view": [sep],
            "lifecycle_view": ["L06: Deployment"],
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
    owasp = f"OWASP LLM 2025 {advisory.owasp} ({OWASP_LLM_2025[advisory.owasp]})"
    # AVID has no field for details or remediations: they go into the description.
    description = [advisory.summary, advisory.details]
    description.append(version_statuses_text(advisory))
    description += [f"Remediation ({r.category}): {r.details}" for r in advisory.remediations]
    description.append(f"Classified as {owasp}.")
    if advisory.payload_commitment:
        description.append(f"Commitment to the withheld payload: {advisory.payload_commitment}")
    return {
        "data_type": "AVID",
        "data_version": DATA_VERSION,
        "metadata": {"report_id": advisory.id},
        "affects": {
            "developer": sorted({artifact.provider for artifact in advisory.artifacts}),
            "deployer": [],
            "artifacts": affected,
        },
        "problemtype": {
            "classof": "Third-party Report",
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
