"""Reads on programs. Programs and their policies are public."""

from __future__ import annotations

from django.db.models import QuerySet

from modelcvd.core.errors import NotFound
from modelcvd.policy.deadlines import BusinessDays, CalendarDays, DeadlinePolicy
from modelcvd.policy.models import Program
from modelcvd.scoring.tier import Tier


def program_list() -> QuerySet[Program]:
    return Program.objects.select_related("organisation").prefetch_related("scope")


def program_get(*, slug: str) -> Program:
    program = program_list().filter(slug=slug).first()
    if program is None:
        raise NotFound()
    return program


def program_policy(program: Program) -> DeadlinePolicy:
    """The program's deadline targets, as the cases' due dates and the metrics both read them."""
    return DeadlinePolicy(
        acknowledge=BusinessDays(program.acknowledge_business_days),
        triage=BusinessDays(program.triage_business_days),
        remediation={Tier(k): CalendarDays(int(v)) for k, v in program.remediation_days.items()},
        disclosure={Tier(k): CalendarDays(int(v)) for k, v in program.disclosure_days.items()},
    )
