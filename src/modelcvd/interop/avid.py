"""AVID report export (the format of avidtools' `Report` datamodel, data_version 0.3.3).

The advisory becomes a "Third-party Report" of type "Measurement" when it holds counts (each
one an AVID metric whose detection method names its provenance: a verification run on this
instance, or the source that reported the counts) and "Advisory" otherwise. Impact carries the AVID taxonomy
(SEP view chosen from the OWASP risk), the ATLAS technique and the CWE. AVID's `cvss` block is
CVSS v3 only, so a CVSS 4.0 vector is not exported here. Exports are strict: tests validate
them against the schema generated from AVID's datamodel. Importing AVID is in avid_import.py.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from modelcvd.interop.advisory import AdvisoryDocument
from modelcvd.taxonomy import OWASP_LLM_2025

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
        {"type": "model", "label": artifact.display_name, "url": artifact.repository_url}
        for artifact in advisory.artifacts
        if artifact.repository_url
    ]
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
    if cvss := _source_cvss(advisory):
        impact["cvss"] = cvss
    owasp = f"OWASP LLM 2025 {advisory.owasp} ({OWASP_LLM_2025[advisory.owasp]})"
    # AVID has no field for details or remediations: they go into the description.
    description = [advisory.summary, advisory.details]
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
            "deployer": [],
            "artifacts": [
                {"type": "Model", "name": artifact.display_name} for artifact in advisory.artifacts
            ],
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
