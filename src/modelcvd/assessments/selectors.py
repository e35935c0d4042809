"""Reads on assessments, scoped to the actor. Drafts are seen only by the assessing
organisation's assessors; a published assessment's public parts by everyone; the sealed detail
by the assessed organisation's members and the assessing organisation's assessors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, QuerySet

from modelcvd.accounts.models import Organisation
from modelcvd.assessments.models import (
    Assessment,
    ClaimLevel,
    Finding,
    ThreatModel,
    ThreatModelResult,
)

Actor = AbstractBaseUser | AnonymousUser
Rows = TypeVar("Rows", bound=QuerySet[Assessment])


def _with_parts(qs: Rows) -> Rows:
    return qs.select_related("assessor_org", "subject").prefetch_related(
        "assessors",
        Prefetch(
            "threat_models",
            queryset=ThreatModelResult.objects.prefetch_related(
                Prefetch("findings", queryset=Finding.objects.order_by("id"))
            ),
        ),
    )


def assessment_list_visible(*, actor: Actor) -> QuerySet[Assessment]:
    return _with_parts(Assessment.objects.restrict(actor, "view"))


def assessment_get_for(
    *, actor: Actor, assessment_id: int, action: str = "view", forbidden: str = ""
) -> Assessment:
    """The assessment if `actor` may do `action` to it; NotFound when missing or not allowed
    (or, with `forbidden`, Forbidden for an actor who may see it but not do `action`)."""
    return _with_parts(Assessment.objects.all()).get_for(
        actor=actor, action=action, forbidden=forbidden, pk=assessment_id
    )


def assessment_get_visible(*, actor: Actor, assessment_id: int) -> Assessment:
    return assessment_get_for(actor=actor, assessment_id=assessment_id)


def assessment_is_author(*, actor: Actor, assessment: Assessment) -> bool:
    """An assessor of the assessing organisation: may edit a draft, publish, read detail."""
    return Assessment.objects.allows(actor, assessment, "author")


def assessment_may_read_detail(*, actor: Actor, assessment: Assessment) -> bool:
    """The assessed organisation's members and the assessing organisation's assessors."""
    return Assessment.objects.allows(actor, assessment, "read_detail")


@dataclass(frozen=True)
class ComparisonCell:
    assessment_id: int
    claim: str
    claim_label: str
    assessor: str
    ended_on: str
    findings: int
    open_findings: int


@dataclass(frozen=True)
class Comparison:
    """Published assessments side by side: organisations (rows) by threat models (columns);
    each cell the latest published result for that pair."""

    threat_models: list[tuple[str, str]]
    organisations: list[Organisation]
    cells: dict[tuple[int, str], ComparisonCell]


def assessments_comparison() -> Comparison:
    results = (
        ThreatModelResult.objects.filter(assessment__state=Assessment.State.PUBLISHED)
        .select_related("assessment__subject", "assessment__assessor_org")
        .prefetch_related("findings")
        .order_by("assessment__published_at", "assessment_id", "id")
    )
    cells: dict[tuple[int, str], ComparisonCell] = {}
    organisations: dict[int, Organisation] = {}
    custom: dict[str, str] = {}
    for r in results:
        key = r.threat_model if r.threat_model != ThreatModel.CUSTOM else f"custom:{r.custom_name}"
        if r.threat_model == ThreatModel.CUSTOM:
            custom[key] = r.custom_name
        findings = list(r.findings.all())
        organisations[r.assessment.subject_id] = r.assessment.subject
        # Ordered by publication: a later assessment replaces an earlier one in the cell.
        cells[(r.assessment.subject_id, key)] = ComparisonCell(
            assessment_id=r.assessment_id,
            claim=r.claim,
            claim_label=ClaimLevel(r.claim).label,
            assessor=r.assessment.assessor_org.name,
            ended_on=r.ended_on.isoformat(),
            findings=len(findings),
            open_findings=sum(1 for f in findings if f.remediation in ("open", "in_progress")),
        )
    columns = [(t.value, t.label) for t in ThreatModel if t != ThreatModel.CUSTOM]
    columns += sorted(custom.items(), key=lambda kv: kv[1].lower())
    return Comparison(
        threat_models=columns,
        organisations=sorted(organisations.values(), key=lambda o: o.name.lower()),
        cells=cells,
    )
