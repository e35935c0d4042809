"""Fixture objects for the transparency features (assessments, credits, bounties) on top of
tests.factories.World, made through the services as production data is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from modelcvd.assessments.models import Assessment
from modelcvd.assessments.services import (
    FindingInput,
    ThreatModelInput,
    assessment_create,
    assessment_publish,
)
from modelcvd.credits.models import Bounty, Credit
from modelcvd.credits.services import bounty_award, credit_grant
from tests.factories import World

SEALED_NOTE = "exfiltration path via the inference cluster's debug endpoint"
SEALED_FINDING = "the debug endpoint streams raw weight shards to any authenticated user"


@dataclass
class Transparency:
    assessment: Assessment
    credit: Credit
    bounty: Bounty


def threat_model(**overrides: object) -> ThreatModelInput:
    values: dict[str, object] = {
        "threat_model": "weight_exfiltration",
        "scope": "Training and inference clusters",
        "method": "Red-team exercise, 3 weeks, insider and outsider starting points",
        "started_on": date(2026, 9, 1),
        "ended_on": date(2026, 9, 21),
        "claim": "opportunistic",
        "remediation": "in_progress",
        "detail": SEALED_NOTE,
        "findings": [
            FindingInput(
                title="Weight shards reachable from a debug endpoint",
                severity="high",
                remediation="in_progress",
                detail=SEALED_FINDING,
            )
        ],
    }
    values.update(overrides)
    return ThreatModelInput(**values)  # type: ignore[arg-type]


def build_transparency(world: World) -> Transparency:
    assessment = assessment_create(
        actor=world.users["assessor"],
        subject_slug="vendor-a",
        title="Vendor A security assessment 2026",
        summary="Weight security of Vendor A's training and serving stack.",
        threat_models=[
            threat_model(),
            threat_model(
                threat_model="custom",
                custom_name="Data poisoning of the fine-tuning pipeline",
                claim="basic",
                detail="custom notes",
                findings=[],
            ),
        ],
    )
    assessment_publish(actor=world.users["assessor"], assessment_id=assessment.pk)
    case_id = world.cases["a"].pk
    credit = credit_grant(
        actor=world.users["triager"], case_id=case_id, credit_type="finder", username="researcher_a"
    )
    bounty = bounty_award(
        actor=world.users["triager"],
        case_id=case_id,
        username="researcher_a",
        amount="1500.00",
        currency="EUR",
    )
    assessment.refresh_from_db()
    return Transparency(assessment=assessment, credit=credit, bounty=bounty)


def transparency_of(world: World) -> Transparency:
    """Built once per world, on first use."""
    built = getattr(world, "_transparency", None)
    if built is None:
        built = build_transparency(world)
        world._transparency = built  # type: ignore[attr-defined]
    return built
