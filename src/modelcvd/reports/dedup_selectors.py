"""Reads of duplicate proposals: only a case's coordinators (triagers of its program, admins)
see them; for anyone else the case's proposals are "not found", like the case itself."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, Q, QuerySet

from modelcvd.cases.models import Case
from modelcvd.cases.selectors import case_get_for
from modelcvd.core.errors import NotFound
from modelcvd.reports.models import DuplicateCandidate

Actor = AbstractBaseUser | AnonymousUser


def case_for_staff(*, actor: Actor, case_id: int) -> Case:
    """The case, when the actor coordinates it; NotFound otherwise (also for its parties)."""
    return case_get_for(actor=actor, case_id=case_id, action="coordinate")


def duplicates_for_case(
    *, actor: Actor, case_id: int, include_decided: bool = False
) -> QuerySet[DuplicateCandidate]:
    """Proposals that involve a report of this case, pairing it with a report of another
    case, best first. Pairs already in one case (merged) are left out."""
    case = case_for_staff(actor=actor, case_id=case_id)
    qs = (
        DuplicateCandidate.objects.filter(Q(report__case=case) | Q(candidate__case=case))
        .exclude(report__case_id=F("candidate__case_id"))
        .select_related("report__case", "candidate__case")
    )
    if not include_decided:
        qs = qs.filter(status=DuplicateCandidate.Status.OPEN)
    return qs.order_by("-score", "id")


def duplicate_get_for_staff(*, actor: Actor, case_id: int, duplicate_id: int) -> DuplicateCandidate:
    found = (
        duplicates_for_case(actor=actor, case_id=case_id, include_decided=True)
        .filter(pk=duplicate_id)
        .first()
    )
    if found is None:
        raise NotFound()
    return found
