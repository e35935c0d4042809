"""Writes on assessments: create a draft (with its threat models and findings), publish it,
and open the sealed detail. Each in one transaction with its audit event."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.models import Membership, Organisation, Role, User
from modelcvd.assessments.access import assessing_organisations
from modelcvd.assessments.models import (
    Assessment,
    ClaimLevel,
    Finding,
    Remediation,
    Severity,
    ThreatModel,
    ThreatModelResult,
)
from modelcvd.assessments.selectors import (
    assessment_get_for,
)
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import DomainError, FieldError, Forbidden, InvalidInput
from modelcvd.core.sealing import create_sealed
from modelcvd.core.services import sealed_open

DETAIL_PURPOSE = "assessment.detail"


class AlreadyPublished(DomainError):
    status = 409


@dataclass
class FindingInput:
    title: str
    severity: str
    remediation: str = Remediation.OPEN
    detail: str = ""


@dataclass
class ThreatModelInput:
    threat_model: str
    scope: str
    method: str
    started_on: date
    ended_on: date
    claim: str
    remediation: str = Remediation.OPEN
    custom_name: str = ""
    detail: str = ""
    findings: list[FindingInput] = field(default_factory=list)


def _choice(path: str, value: str, choices: type[Any]) -> str:
    allowed = [c.value for c in choices]
    if value not in allowed:
        raise InvalidInput([FieldError(path, f"one of {allowed}")])
    return value


def _text(path: str, value: str, *, limit: int, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidInput([FieldError(path, "required")])
    if len(value) > limit:
        raise InvalidInput([FieldError(path, f"at most {limit} characters")])
    return value


def _check_threat_models(items: list[ThreatModelInput]) -> None:
    if not items:
        raise InvalidInput([FieldError("threat_models", "at least one threat model")])
    seen: set[tuple[str, str]] = set()
    for i, tm in enumerate(items):
        p = f"threat_models.{i}"
        _choice(f"{p}.threat_model", tm.threat_model, ThreatModel)
        if tm.threat_model == ThreatModel.CUSTOM:
            tm.custom_name = _text(f"{p}.custom_name", tm.custom_name, limit=120)
        elif tm.custom_name.strip():
            raise InvalidInput([FieldError(f"{p}.custom_name", "only for threat_model 'custom'")])
        key = (tm.threat_model, tm.custom_name.lower())
        if key in seen:
            raise InvalidInput([FieldError(f"{p}.threat_model", "listed twice")])
        seen.add(key)
        tm.scope = _text(f"{p}.scope", tm.scope, limit=5000)
        tm.method = _text(f"{p}.method", tm.method, limit=5000)
        tm.detail = _text(f"{p}.detail", tm.detail, limit=100_000, required=False)
        _choice(f"{p}.claim", tm.claim, ClaimLevel)
        _choice(f"{p}.remediation", tm.remediation, Remediation)
        if tm.ended_on < tm.started_on:
            raise InvalidInput([FieldError(f"{p}.ended_on", "before started_on")])
        if tm.ended_on > timezone.now().date():
            raise InvalidInput([FieldError(f"{p}.ended_on", "in the future")])
        for j, f in enumerate(tm.findings):
            q = f"{p}.findings.{j}"
            f.title = _text(f"{q}.title", f.title, limit=200)
            f.detail = _text(f"{q}.detail", f.detail, limit=100_000, required=False)
            _choice(f"{q}.severity", f.severity, Severity)
            _choice(f"{q}.remediation", f.remediation, Remediation)


def _detail(text: str) -> bytes:
    return json.dumps({"detail": text}, ensure_ascii=False).encode()


def assessment_create(
    *,
    actor: User,
    subject_slug: str,
    title: str,
    summary: str,
    threat_models: list[ThreatModelInput],
    assessor_usernames: list[str] | None = None,
) -> Assessment:
    """A draft assessment by the actor's assessor organisation. Only assessors create them;
    the named co-assessors must be assessors of the same organisation."""
    orgs = assessing_organisations(actor)
    if not orgs:
        raise Forbidden("only assessors record assessments")
    title = _text("title", title, limit=200)
    summary = _text("summary", summary, limit=10_000, required=False)
    subject = Organisation.objects.filter(slug=subject_slug).first()
    if subject is None:
        raise InvalidInput([FieldError("subject", "no organisation with this slug")])
    if subject.kind != Organisation.Kind.VENDOR:
        raise InvalidInput([FieldError("subject", "assessments are of AI developers (vendors)")])
    assessor_org = Organisation.objects.get(pk=orgs[0])
    assessors = [actor]
    for i, username in enumerate(assessor_usernames or []):
        member = (
            Membership.objects.select_related("user")
            .filter(user__username=username, role=Role.ASSESSOR, organisation=assessor_org)
            .first()
        )
        if member is None:
            raise InvalidInput(
                [FieldError(f"assessors.{i}", f"not an assessor of {assessor_org.name}")]
            )
        if member.user not in assessors:
            assessors.append(member.user)
    _check_threat_models(threat_models)
    with transaction.atomic():
        assessment = Assessment.objects.create(
            assessor_org=assessor_org,
            subject=subject,
            title=title,
            summary=summary,
            created_by=actor,
        )
        assessment.assessors.set(assessors)
        for tm in threat_models:
            result = create_sealed(
                ThreatModelResult,
                values={
                    "assessment": assessment,
                    "threat_model": tm.threat_model,
                    "custom_name": tm.custom_name,
                    "scope": tm.scope,
                    "method": tm.method,
                    "started_on": tm.started_on,
                    "ended_on": tm.ended_on,
                    "claim": tm.claim,
                    "remediation": tm.remediation,
                },
                field="detail",
                plaintext=_detail(tm.detail),
                purpose=DETAIL_PURPOSE,
            )
            for f in tm.findings:
                create_sealed(
                    Finding,
                    values={
                        "result": result,
                        "title": f.title,
                        "severity": f.severity,
                        "remediation": f.remediation,
                    },
                    field="detail",
                    plaintext=_detail(f.detail),
                    purpose=DETAIL_PURPOSE,
                )
        audit_record(
            actor=actor,
            action="assessment.create",
            obj=assessment,
            data={"subject": subject.slug, "threat_models": len(threat_models)},
        )
    return assessment


def assessment_publish(*, actor: User, assessment_id: int) -> Assessment:
    with transaction.atomic():
        visible = assessment_get_for(
            actor=actor,
            assessment_id=assessment_id,
            action="author",
            forbidden="only the assessing organisation's assessors publish it",
        )
        assessment = Assessment.objects.select_for_update().get(pk=visible.pk)
        if assessment.state == Assessment.State.PUBLISHED:
            raise AlreadyPublished("this assessment is published already")
        assessment.state = Assessment.State.PUBLISHED
        assessment.published_at = timezone.now()
        assessment.save(update_fields=["state", "published_at"])
        audit_record(actor=actor, action="assessment.publish", obj=assessment)
    return assessment


@dataclass(frozen=True)
class SealedDetail:
    """The sealed parts of an assessment, opened for one reader."""

    threat_models: dict[int, str]
    findings: dict[int, str]


def assessment_detail_open(*, actor: User, assessment_id: int, reason: str) -> SealedDetail:
    """Open the sealed detail: the assessed organisation and the assessors only (404 for
    everyone else, exactly as for a missing assessment). Each blob's opening is audited."""
    reason = _text("reason", reason, limit=500)
    assessment = assessment_get_for(actor=actor, assessment_id=assessment_id, action="read_detail")
    threat_models: dict[int, str] = {}
    findings: dict[int, str] = {}
    with transaction.atomic():
        for result in assessment.threat_models.select_related("detail"):
            opened = sealed_open(blob=result.detail, actor=actor, reason=reason, subject=result)
            threat_models[result.pk] = json.loads(opened)["detail"]
            for finding in result.findings.select_related("detail"):
                opened = sealed_open(
                    blob=finding.detail, actor=actor, reason=reason, subject=finding
                )
                findings[finding.pk] = json.loads(opened)["detail"]
    return SealedDetail(threat_models=threat_models, findings=findings)


def threat_models_from_data(items: list[dict[str, Any]]) -> list[ThreatModelInput]:
    """Plain dicts (validated shapes from the API or a form) into service inputs."""
    out = []
    for item in items:
        findings = [FindingInput(**f) for f in item.get("findings", [])]
        out.append(ThreatModelInput(**{**item, "findings": findings}))
    return out
