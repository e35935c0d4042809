"""Reads on reports, scoped to the actor: the reporter, the case's coordinators, a notified
vendor (reports/access.py)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from modelcvd.artifacts.models import Artifact
from modelcvd.policy.models import Program
from modelcvd.reports.models import Report

Actor = AbstractBaseUser | AnonymousUser


def report_list_mine(*, actor: Actor) -> QuerySet[Report]:
    return Report.objects.restrict(actor, "reporter").select_related("case", "program")


def report_list_visible(*, actor: Actor) -> QuerySet[Report]:
    """A reporter sees their own reports, never another reporter's in the same case."""
    return Report.objects.restrict(actor, "view").select_related("case", "program", "reporter")


def report_get_for(
    *, actor: Actor, report_id: int, action: str = "view", lock: bool = False
) -> Report:
    """The report if `actor` may do `action` to it; NotFound when missing or not allowed."""
    return (
        Report.objects.select_related("case__program", "program", "reporter")
        .prefetch_related("artifacts")
        .get_for(actor=actor, pk=report_id, action=action, lock=lock)
    )


def report_get_visible(*, actor: Actor, report_id: int) -> Report:
    return report_get_for(actor=actor, report_id=report_id)


def report_allows(*, actor: Actor, report: Report, action: str) -> bool:
    return Report.objects.allows(actor, report, action)


def artifacts_outside_scope(program: Program, artifacts: list[Artifact]) -> list[Artifact]:
    """The artifacts a program that lists its scope does not list (none when it lists none)."""
    listed = set(program.scope.values_list("pk", flat=True))
    return [a for a in artifacts if a.pk not in listed] if listed else []
