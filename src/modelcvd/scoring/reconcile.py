"""One paragraph that tells a reader why a case's tier, CVSS rating and SSVC decisions can
disagree: they answer different questions. Pure: takes the case's stored severity, returns text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Tier and CVSS qualitative ratings on one scale, to say which one is higher.
RANK = {"none": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
TRIAGE_MEANING = {
    "decline": "not to coordinate this report itself",
    "track": "to track the report without active coordination",
    "coordinate": "to coordinate the disclosure actively",
}
PUBLISH_MEANING = {
    "publish": "to publish an advisory of its own",
    "dont_publish": "not to publish an advisory of its own",
}


def severity_reconciliation(severity: Mapping[str, Any]) -> str:
    """The paragraph for a scored case (`cases.services.severity_out`); empty when unscored."""
    tier = severity.get("tier")
    if not tier:
        return ""
    parts = [
        f"The tier ({tier}) is modelcvd's AI rubric: it weighs how reliably the finding "
        "reproduces, who can reach the model, the harm category and how many models and vendors "
        "are affected, and it sets this case's deadlines."
    ]
    cvss_severity = (severity.get("cvss_severity") or "").lower()
    if cvss_severity:
        parts.append(
            f"CVSS 4.0 ({severity.get('cvss_score')} {severity.get('cvss_severity')}) rates the "
            "technical impact on the vulnerable system from its base metrics; it has no measure "
            "of reproduction rate, harm category or reach."
        )
        difference = RANK.get(tier, 0) - RANK.get(cvss_severity, 0)
        if difference > 0:
            parts.append(
                "The tier is above the CVSS rating because the rubric counts the harm and reach "
                "of what the model can be made to produce, which the CVSS base metrics do not."
            )
        elif difference < 0:
            parts.append(
                "The CVSS rating is above the tier: the system impact is high, but the rubric "
                "found the misuse hard to reproduce, hard to reach or of limited harm."
            )
        else:
            parts.append("Here both agree.")
    ssvc = severity.get("ssvc") or {}
    triage = ssvc.get("triage")
    publish = ssvc.get("publish")
    if triage or publish:
        said = []
        if triage:
            outcome = triage["outcome"]
            said.append(f"Coordinator Triage says {outcome} ({TRIAGE_MEANING.get(outcome, '')})")
        if publish:
            outcome = publish["outcome"]
            said.append(
                f"Coordinator Publish says {outcome.replace('_', ' ')} "
                f"({PUBLISH_MEANING.get(outcome, '')})"
            )
        parts.append(
            "SSVC is not a severity: CERT/CC's decision tables say what a coordinator should do. "
            + "; ".join(said)
            + "."
        )
        if triage and triage["outcome"] == "decline" and RANK.get(tier, 0) >= RANK["high"]:
            parts.append(
                "A decline beside a high tier usually means the supplier is already engaged or "
                "the report is not yet credible: the table advises stepping back from "
                "coordinating, not that the finding is minor."
            )
    return " ".join(parts)
