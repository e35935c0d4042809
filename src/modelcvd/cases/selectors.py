"""Reads on cases, always scoped to the actor. Forbidden and missing look the same."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from modelcvd.cases.models import Case, CaseVendor, Comment, TimelineEvent
from modelcvd.cases.workflow import TRIAGE_QUEUE_STATES

Actor = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class CaseAccess:
    """How an actor stands to one case (cases/access.py): `staff` coordinates it; the others
    are parties."""

    staff: bool
    reporter: bool
    vendor: bool

    @property
    def any(self) -> bool:
        return self.staff or self.reporter or self.vendor


def case_get_for(
    *, actor: Actor, case_id: int, action: str = "view", lock: bool = False, forbidden: str = ""
) -> Case:
    """The case if `actor` may do `action` to it; NotFound when missing or not allowed (or,
    with `forbidden`, Forbidden for an actor who sees the case but may not do `action`)."""
    return Case.objects.select_related("program").get_for(
        actor=actor, pk=case_id, action=action, lock=lock, forbidden=forbidden
    )


def case_access(*, actor: Actor, case: Case) -> CaseAccess:
    """The case rule's answers for this actor, in one query."""
    got = Case.objects.standing(actor, case, ("coordinate", "report", "vendor"))
    return CaseAccess(staff=got["coordinate"], reporter=got["report"], vendor=got["vendor"])


def case_list_visible(*, actor: Actor, as_reporter: bool = True) -> QuerySet[Case]:
    """Cases the actor may see; with as_reporter=False only those they coordinate or, as a
    notified vendor, take part in (not those they merely reported into)."""
    action = "view" if as_reporter else "party"
    return Case.objects.select_related("program").restrict(actor, action)


def case_get_visible(*, actor: Actor, case_id: int) -> Case:
    return case_get_for(actor=actor, case_id=case_id)


def triage_queue(*, actor: Actor) -> QuerySet[Case]:
    """Cases waiting on a coordinator: the programs this actor triages, oldest first."""
    return (
        Case.objects.select_related("program")
        .restrict(actor, "coordinate")
        .filter(state__in=[s.value for s in TRIAGE_QUEUE_STATES])
        .order_by("created_at", "id")
    )


def merged_family(*, case: Case) -> list[int]:
    """This case and every case merged into it, directly or through another merged case."""
    family, frontier = [case.pk], [case.pk]
    while frontier:
        frontier = list(
            Case.objects.filter(merged_into_id__in=frontier)
            .exclude(pk__in=family)
            .values_list("pk", flat=True)
        )
        family += frontier
    return family


def timeline_for(*, case: Case) -> QuerySet[TimelineEvent]:
    """The case's events, and those of the cases merged into it (each event keeps its case)."""
    return TimelineEvent.objects.filter(case_id__in=merged_family(case=case)).select_related(
        "actor"
    )


def comments_visible(*, case: Case, actor: Actor, access: CaseAccess) -> QuerySet[Comment]:
    qs = case.comments.select_related("author")
    if access.staff:
        return qs.all()
    shown = Q(author_id=actor.pk)
    if access.reporter:
        # Each reporter reads their own channel only: merged reporters never meet.
        shown |= Q(visibility=Comment.Visibility.REPORTER, channel_reporter_id=actor.pk)
    if access.vendor:
        shown |= Q(visibility=Comment.Visibility.VENDOR)
    return qs.filter(shown)


def case_vendor_grid(*, actor: Actor, case_id: int) -> QuerySet[CaseVendor]:
    """The case's vendor parties with each one's own status (the vendor grid), for the case's
    parties (coordinators and told vendors); NotFound for everyone else."""
    case = case_get_for(actor=actor, case_id=case_id, action="party")
    return CaseVendor.objects.filter(case=case).select_related("organisation")
