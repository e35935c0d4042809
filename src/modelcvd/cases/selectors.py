"""Reads on cases, always scoped to the actor. Forbidden and missing look the same."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from modelcvd.accounts.models import Role
from modelcvd.accounts.selectors import organisations_where, roles_of
from modelcvd.cases.models import Case, Comment, TimelineEvent
from modelcvd.cases.workflow import TRIAGE_QUEUE_STATES
from modelcvd.core.errors import NotFound

Actor = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class CaseAccess:
    """How an actor stands to one case. `staff` coordinates it; the others are parties."""

    staff: bool
    reporter: bool
    vendor: bool

    @property
    def any(self) -> bool:
        return self.staff or self.reporter or self.vendor


def _visibility_filter(actor: Actor, *, as_reporter: bool = True) -> Q | None:
    """None means every case."""
    roles = roles_of(actor)
    if Role.ADMIN in roles:
        return None
    condition = Q(reports__reporter_id=actor.pk) if as_reporter else Q(pk__in=[])
    triager_orgs = organisations_where(actor, Role.TRIAGER)
    if triager_orgs:
        condition |= Q(program__organisation_id__in=triager_orgs)
    vendor_orgs = organisations_where(actor, Role.VENDOR_MEMBER)
    if vendor_orgs:
        condition |= Q(vendor_notified_at__isnull=False, artifacts__vendor_id__in=vendor_orgs)
    return condition


def case_list_visible(*, actor: Actor, as_reporter: bool = True) -> QuerySet[Case]:
    """Cases the actor may see; with as_reporter=False only those they coordinate or, as a
    notified vendor, take part in (not those they merely reported into)."""
    if not actor.is_authenticated:
        return Case.objects.none()
    condition = _visibility_filter(actor, as_reporter=as_reporter)
    qs = Case.objects.select_related("program")
    if condition is None:
        return qs.all()
    ids = Case.objects.filter(condition).values("pk")
    return qs.filter(pk__in=ids)


def case_get_visible(*, actor: Actor, case_id: int) -> Case:
    case = case_list_visible(actor=actor).filter(pk=case_id).first()
    if case is None:
        raise NotFound()
    return case


def case_access(*, actor: Actor, case: Case) -> CaseAccess:
    if not actor.is_authenticated:
        return CaseAccess(False, False, False)
    roles = roles_of(actor)
    staff = Role.ADMIN in roles or case.program.organisation_id in organisations_where(
        actor, Role.TRIAGER
    )
    reporter = case.reports.filter(reporter_id=actor.pk).exists()
    vendor_orgs = organisations_where(actor, Role.VENDOR_MEMBER)
    vendor = (
        bool(vendor_orgs)
        and case.vendor_notified_at is not None
        and case.artifacts.filter(vendor_id__in=vendor_orgs).exists()
    )
    return CaseAccess(staff=staff, reporter=reporter, vendor=vendor)


def triage_queue(*, actor: Actor) -> QuerySet[Case]:
    """Cases waiting on a coordinator: the programs this actor triages, oldest first."""
    if not actor.is_authenticated:
        return Case.objects.none()
    roles = roles_of(actor)
    qs = Case.objects.select_related("program").filter(
        state__in=[s.value for s in TRIAGE_QUEUE_STATES]
    )
    if Role.ADMIN not in roles:
        qs = qs.filter(program__organisation_id__in=organisations_where(actor, Role.TRIAGER))
    return qs.order_by("created_at", "id")


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
        shown |= Q(visibility=Comment.Visibility.REPORTER)
    if access.vendor:
        shown |= Q(visibility=Comment.Visibility.VENDOR)
    return qs.filter(shown)
