"""Demo assessments: two published assessments, of the two demo vendors, by the demo assessor."""

from __future__ import annotations

from datetime import date

from modelcvd.accounts.models import User
from modelcvd.assessments.models import Assessment
from modelcvd.assessments.services import (
    FindingInput,
    ThreatModelInput,
    assessment_create,
    assessment_publish,
)


def _tm(
    threat_model: str, claim: str, scope: str, findings: list[FindingInput], custom: str = ""
) -> ThreatModelInput:
    return ThreatModelInput(
        threat_model=threat_model,
        custom_name=custom,
        scope=scope,
        method="Assumed-breach red team and configuration review (fictional demo).",
        started_on=date(2026, 6, 2),
        ended_on=date(2026, 6, 27),
        claim=claim,
        remediation="in_progress" if findings else "not_applicable",
        detail=f"Sealed demo notes on {threat_model.replace('_', ' ')}.",
        findings=findings,
    )


def seed_demo(*, assessor: User) -> list[Assessment]:
    """Create and publish the demo assessments (once)."""
    made = []
    plans = {
        "acme-ai": (
            "Acme AI: model weight and pipeline security, 2026",
            [
                _tm(
                    "weight_exfiltration",
                    "opportunistic",
                    "Training cluster, checkpoint storage, inference fleet",
                    [
                        FindingInput(
                            "Checkpoint bucket readable by CI runners",
                            "high",
                            "in_progress",
                            "Sealed: bucket name and the role chain used.",
                        )
                    ],
                ),
                _tm(
                    "model_tampering",
                    "basic",
                    "Fine-tuning and release pipeline",
                    [
                        FindingInput(
                            "Unsigned intermediate checkpoints",
                            "medium",
                            "open",
                            "Sealed: where signing is missing.",
                        )
                    ],
                ),
                _tm("compute_misuse", "well_resourced", "GPU scheduler and quotas", []),
                _tm(
                    "persistent_presence",
                    "basic",
                    "Corporate network and research laptops",
                    [
                        FindingInput(
                            "Long-lived SSH keys on research hosts",
                            "medium",
                            "remediated",
                            "Sealed: hosts and key ages.",
                        )
                    ],
                ),
            ],
        ),
        "globex": (
            "Globex Models: security review of the hosted assistant, 2026",
            [
                _tm(
                    "weight_exfiltration", "well_resourced", "Serving fleet and key management", []
                ),
                _tm(
                    "algorithmic_secrets",
                    "opportunistic",
                    "Research code and data pipelines",
                    [
                        FindingInput(
                            "Research wiki mirrors training recipes to a SaaS tool",
                            "low",
                            "accepted",
                            "Sealed: the tool and the pages.",
                        )
                    ],
                ),
                _tm(
                    "custom",
                    "basic",
                    "Tool-calling integrations",
                    [
                        FindingInput(
                            "Tool results can carry instructions to the model",
                            "high",
                            "open",
                            "Sealed: the integrations affected.",
                        )
                    ],
                    custom="Prompt injection through tools",
                ),
            ],
        ),
    }
    for slug, (title, threat_models) in plans.items():
        found = Assessment.objects.filter(title=title).first()
        if found is None:
            found = assessment_create(
                actor=assessor,
                subject_slug=slug,
                title=title,
                summary="A fictional assessment for the demo.",
                threat_models=threat_models,
            )
            assessment_publish(actor=assessor, assessment_id=found.pk)
        made.append(found)
    return made
