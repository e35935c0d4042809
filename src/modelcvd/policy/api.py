"""Program endpoints: the policy is public, no sign-in needed; changing it is not."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from modelcvd.accounts.auth import API_AUTH, api_user
from modelcvd.accounts.models import TokenScope
from modelcvd.accounts.scopes import PUBLIC, token_scope
from modelcvd.policy.models import Program
from modelcvd.policy.selectors import program_get, program_list
from modelcvd.policy.services import program_policy_update, program_urls

router = Router(tags=["programs"])


class ProgramOut(Schema):
    slug: str
    name: str
    organisation: str
    policy_text: str
    accepts_reports: bool
    scope_artifact_ids: list[int]
    scope_endpoints: list[str]
    out_of_scope: str
    safe_harbor: str
    ai_terms_waiver: bool = Field(
        description="AI terms-of-service enforcement is waived for good-faith research."
    )
    acknowledge_business_days: int
    triage_business_days: int
    remediation_days: dict[str, int] = Field(description="Calendar days per severity tier.")
    disclosure_days: dict[str, int] = Field(description="Calendar days per severity tier.")
    abstract_first: bool
    benchmark_holdout: bool
    fix_acceptable_rate: float = Field(
        description="A fix verdict says fixed only when the fixed version's exact 95% upper "
        "bound on the attack success rate is below this (and the drop is significant)."
    )
    fix_min_trials: int = Field(
        description="Fewest trials on the fixed version before a fix verdict says fixed."
    )
    auto_verify: bool = Field(
        description="Reports are reproduced on the program's targets on intake, before triage."
    )
    auto_verify_trials: int
    reproduction_threshold: float = Field(
        description="A measured rate reproduces when its 95% Clopper-Pearson lower bound is at "
        "least this."
    )
    security_txt_url: str
    policy_url: str


class PolicyIn(Schema):
    """Fields left out stay as they are."""

    policy_text: str | None = Field(None, max_length=50_000)
    scope_endpoints: str | None = Field(None, max_length=10_000)
    out_of_scope: str | None = Field(None, max_length=20_000)
    safe_harbor: str | None = Field(None, max_length=20_000)
    ai_terms_waiver: bool | None = None
    acknowledge_business_days: int | None = None
    triage_business_days: int | None = None
    remediation_days: dict[str, int] | None = None
    disclosure_days: dict[str, int] | None = None
    security_contacts: str | None = Field(None, max_length=2_000)
    encryption_url: str | None = Field(None, max_length=200)
    acknowledgments_url: str | None = Field(None, max_length=200)
    preferred_languages: str | None = Field(None, max_length=100)
    security_txt_expires: datetime | None = None
    abstract_first: bool | None = None
    benchmark_holdout: bool | None = None
    fix_acceptable_rate: float | None = None
    fix_min_trials: int | None = None
    accepts_reports: bool | None = None
    auto_verify: bool | None = None
    auto_verify_trials: int | None = None
    reproduction_threshold: float | None = None


def program_out(program: Program) -> dict[str, Any]:
    urls = program_urls(program)
    return {
        "slug": program.slug,
        "name": program.name,
        "organisation": program.organisation.name,
        "policy_text": program.policy_text,
        "accepts_reports": program.accepts_reports,
        "scope_artifact_ids": [a.pk for a in program.scope.all()],
        "scope_endpoints": program.endpoint_list(),
        "out_of_scope": program.out_of_scope,
        "safe_harbor": program.safe_harbor,
        "ai_terms_waiver": program.ai_terms_waiver,
        "acknowledge_business_days": program.acknowledge_business_days,
        "triage_business_days": program.triage_business_days,
        "remediation_days": program.remediation_days,
        "disclosure_days": program.disclosure_days,
        "abstract_first": program.abstract_first,
        "benchmark_holdout": program.benchmark_holdout,
        "fix_acceptable_rate": program.fix_acceptable_rate,
        "fix_min_trials": program.fix_min_trials,
        "auto_verify": program.auto_verify,
        "auto_verify_trials": program.auto_verify_trials,
        "reproduction_threshold": program.reproduction_threshold,
        "security_txt_url": urls["security_txt"],
        "policy_url": urls["policy"],
    }


@router.get("/programs", response=list[ProgramOut], auth=None, summary="Disclosure programs")
@token_scope(PUBLIC)
def programs(request: HttpRequest) -> list[dict[str, Any]]:
    return [program_out(p) for p in program_list()]


@router.get("/programs/{slug}", response=ProgramOut, auth=None, summary="One program and its scope")
@token_scope(PUBLIC)
def program(request: HttpRequest, slug: str) -> dict[str, Any]:
    return program_out(program_get(slug=slug))


@router.put(
    "/programs/{slug}/policy",
    response=ProgramOut,
    auth=API_AUTH,
    summary="Change a program's policy, deadlines, security.txt and intake rules",
)
@token_scope(TokenScope.ADMIN)
def policy_update(request: HttpRequest, slug: str, body: PolicyIn) -> dict[str, Any]:
    changes = {k: v for k, v in body.dict().items() if v is not None}
    program_policy_update(actor=api_user(request), slug=slug, changes=changes)
    return program_out(program_get(slug=slug))
