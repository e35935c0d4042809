"""Assessment endpoints: published assessments are public; drafts and the sealed detail are
scoped as the selectors say."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from modelcvd.accounts.auth import API_AUTH, OPTIONAL_AUTH, api_actor, api_user
from modelcvd.accounts.models import TokenScope
from modelcvd.accounts.scopes import PUBLIC, token_scope
from modelcvd.assessments.models import (
    Assessment,
    ClaimLevel,
    Remediation,
    Severity,
    ThreatModel,
)
from modelcvd.assessments.selectors import (
    assessment_get_visible,
    assessment_list_visible,
    assessments_comparison,
)
from modelcvd.assessments.services import (
    assessment_create,
    assessment_detail_open,
    assessment_publish,
    threat_models_from_data,
)

router = Router(tags=["assessments"])

# The model's choices are the schema's types, so the API accepts exactly what can be stored.
ThreatModelName = ThreatModel
Claim = ClaimLevel
SeverityName = Severity
RemediationName = Remediation


class FindingIn(Schema):
    title: str = Field(min_length=1, max_length=200, description="Public once published.")
    severity: SeverityName
    remediation: RemediationName = Remediation.OPEN
    detail: str = Field("", max_length=100_000, description="Sealed.")


class ThreatModelIn(Schema):
    threat_model: ThreatModelName
    custom_name: str = Field("", max_length=120, description="Required for 'custom'.")
    scope: str = Field(min_length=1, max_length=5000)
    method: str = Field(min_length=1, max_length=5000)
    started_on: date
    ended_on: date
    claim: Claim
    remediation: RemediationName = Remediation.OPEN
    detail: str = Field("", max_length=100_000, description="Sealed.")
    findings: list[FindingIn] = Field(default_factory=list, max_length=200)


class AssessmentIn(Schema):
    subject: str = Field(max_length=100, description="Slug of the assessed organisation.")
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field("", max_length=10_000)
    assessors: list[str] = Field(
        default_factory=list, max_length=50, description="Usernames of co-assessors."
    )
    threat_models: list[ThreatModelIn] = Field(min_length=1, max_length=50)


class FindingOut(Schema):
    id: int
    title: str
    severity: str
    remediation: str


class ThreatModelOut(Schema):
    id: int
    threat_model: str
    label: str
    scope: str
    method: str
    started_on: date
    ended_on: date
    claim: str
    remediation: str
    findings: list[FindingOut]


class AssessmentOut(Schema):
    id: int
    state: str
    title: str
    summary: str
    subject: str
    assessor_organisation: str
    assessors: list[str] = Field(description="The assessors' names, shown when published.")
    published_at: datetime | None
    threat_models: list[ThreatModelOut]


class ConflictDetail(Schema):
    detail: str


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=500)


class DetailOut(Schema):
    threat_models: dict[int, str]
    findings: dict[int, str]


class CellOut(Schema):
    organisation: str
    threat_model: str
    claim: str
    assessment_id: int
    assessor: str
    ended_on: str
    findings: int
    open_findings: int


class ComparisonOut(Schema):
    threat_models: list[list[str]]
    organisations: list[str]
    cells: list[CellOut]


def assessment_out(a: Assessment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "state": a.state,
        "title": a.title,
        "summary": a.summary,
        "subject": a.subject.slug,
        "assessor_organisation": a.assessor_org.name,
        # Assessors publish under their own name: their full name, else their username.
        "assessors": [u.get_full_name() or u.username for u in a.assessors.all()],
        "published_at": a.published_at,
        "threat_models": [
            {
                "id": r.pk,
                "threat_model": r.threat_model,
                "label": r.label,
                "scope": r.scope,
                "method": r.method,
                "started_on": r.started_on,
                "ended_on": r.ended_on,
                "claim": r.claim,
                "remediation": r.remediation,
                "findings": [
                    {
                        "id": f.pk,
                        "title": f.title,
                        "severity": f.severity,
                        "remediation": f.remediation,
                    }
                    for f in r.findings.all()
                ],
            }
            for r in a.threat_models.all()
        ],
    }


@router.get(
    "/assessments",
    response=list[AssessmentOut],
    auth=OPTIONAL_AUTH,
    summary="Published assessments (and my organisation's drafts)",
)
@token_scope(PUBLIC)
def assessments(request: HttpRequest) -> list[dict[str, Any]]:
    return [assessment_out(a) for a in assessment_list_visible(actor=api_actor(request))]


@router.get(
    "/assessments/compare",
    response=ComparisonOut,
    auth=None,
    summary="Published assessments side by side: organisations x threat models",
)
@token_scope(PUBLIC)
def compare(request: HttpRequest) -> dict[str, Any]:
    c = assessments_comparison()
    names = {o.pk: o.name for o in c.organisations}
    return {
        "threat_models": [list(t) for t in c.threat_models],
        "organisations": [o.name for o in c.organisations],
        "cells": [
            {"organisation": names[org], "threat_model": tm, **cell.__dict__}
            for (org, tm), cell in c.cells.items()
        ],
    }


@router.get(
    "/assessments/{assessment_id}",
    response=AssessmentOut,
    auth=OPTIONAL_AUTH,
    summary="One assessment (public parts)",
)
@token_scope(PUBLIC)
def assessment_detail(request: HttpRequest, assessment_id: int) -> dict[str, Any]:
    return assessment_out(
        assessment_get_visible(actor=api_actor(request), assessment_id=assessment_id)
    )


@router.post(
    "/assessments",
    response={201: AssessmentOut},
    auth=API_AUTH,
    summary="Record a draft assessment (assessors)",
)
@token_scope(TokenScope.SUBMIT)
def create(request: HttpRequest, body: AssessmentIn) -> Status[dict[str, Any]]:
    user = api_user(request)
    data = body.dict()
    assessment = assessment_create(
        actor=user,
        subject_slug=data["subject"],
        title=data["title"],
        summary=data["summary"],
        assessor_usernames=data["assessors"],
        threat_models=threat_models_from_data(data["threat_models"]),
    )
    return Status(
        201, assessment_out(assessment_get_visible(actor=user, assessment_id=assessment.pk))
    )


@router.post(
    "/assessments/{assessment_id}/publish",
    response={200: AssessmentOut, 409: ConflictDetail},
    auth=API_AUTH,
    summary="Publish a draft (its assessors)",
)
@token_scope(TokenScope.SUBMIT, TokenScope.READ)
def publish(request: HttpRequest, assessment_id: int) -> dict[str, Any]:
    user = api_user(request)
    assessment_publish(actor=user, assessment_id=assessment_id)
    return assessment_out(assessment_get_visible(actor=user, assessment_id=assessment_id))


@router.post(
    "/assessments/{assessment_id}/detail",
    response=DetailOut,
    auth=API_AUTH,
    summary="Open the sealed detail (assessed organisation and assessors; audited)",
)
@token_scope(TokenScope.READ)
def detail(request: HttpRequest, assessment_id: int, body: ReasonIn) -> dict[str, Any]:
    opened = assessment_detail_open(
        actor=api_user(request), assessment_id=assessment_id, reason=body.reason
    )
    return {"threat_models": opened.threat_models, "findings": opened.findings}
