"""Reads on cases, always scoped to the actor. Forbidden and missing look the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case as DbCase
from django.db.models import (
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from modelcvd.cases.models import (
    DUE_FIELD,
    EMBARGO_LIVE,
    MET_FIELD,
    Case,
    CaseSeen,
    CaseVendor,
    Comment,
    Embargo,
    TimelineEvent,
)
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
    """Cases waiting on a coordinator: the programs this actor triages, by measured rate of
    reproduction (reproduce before triage): those reproduced at their program's threshold
    first (highest lower bound first), then those not measured yet, then those measured and
    not reproduced; oldest first within each."""
    return (
        Case.objects.select_related("program")
        .restrict(actor, "coordinate")
        .filter(state__in=[s.value for s in TRIAGE_QUEUE_STATES])
        .annotate(
            measure_rank=DbCase(
                When(reproduced=True, then=Value(0)),
                When(reproduced__isnull=True, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("measure_rank", F("measured_low").desc(nulls_last=True), "created_at", "id")
    )


@dataclass(frozen=True)
class TrackRecord:
    """A reporter's record on the platform, for coordinators: reports sent, how many of them
    reproduced at their program's threshold when measured, and that rate."""

    reporter_id: int
    reporter: str
    reports: int
    verified: int

    @property
    def rate(self) -> float | None:
        return self.verified / self.reports if self.reports else None


def reporter_track_records(*, case: Case, access: CaseAccess) -> list[TrackRecord]:
    """The track record of each reporter of `case`; coordinators only (others: empty)."""
    if not access.staff:
        return []
    reporters = (
        case.reports.order_by("reporter_id")
        .values_list("reporter_id", "reporter__username")
        .distinct()
    )
    records = []
    for reporter_id, username in reporters:
        theirs = Case.objects.filter(reports__reporter_id=reporter_id)
        records.append(
            TrackRecord(
                reporter_id=reporter_id,
                reporter=username,
                reports=theirs.count(),
                verified=theirs.filter(reproduced=True).count(),
            )
        )
    return records


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


# "Due soon": an open deadline within this many days (or already passed).
DUE_SOON = timedelta(days=7)


@dataclass(frozen=True)
class InboxFilter:
    """The inbox's filters; empty values filter nothing."""

    state: str = ""
    program: str = ""  # a program slug
    artifact: str = ""  # words matched against provider/name
    tier: str = ""
    due_soon: bool = False
    embargoed: bool = False
    unread: bool = False


def _comments_readable(actor: Actor) -> QuerySet[Comment]:
    """Comments `actor` may read, on any case (comments_visible's rule, for many cases)."""
    user_id = actor.pk if actor.is_authenticated else None
    return Comment.objects.filter(
        Q(case__in=Case.objects.restrict(actor, "coordinate"))
        | Q(author_id=user_id)
        | Q(visibility=Comment.Visibility.REPORTER, channel_reporter_id=user_id)
        | Q(visibility=Comment.Visibility.VENDOR, case__in=Case.objects.restrict(actor, "vendor"))
    )


def _latest(first: str, second: str) -> Coalesce:
    """The later of two nullable datetimes (either may be missing)."""
    return Coalesce(Greatest(first, second), first, second, output_field=DateTimeField())


def _open_deadline(now: datetime) -> Q:
    soon = now + DUE_SOON
    q = Q()
    for kind, due in DUE_FIELD.items():
        q |= Q(**{f"{due}__lte": soon, f"{MET_FIELD[kind]}__isnull": True})
    return q


def case_inbox(*, actor: Actor, filters: InboxFilter | None = None) -> QuerySet[Case]:
    """Every case the actor may see (a vendor: its notified cases; a coordinator: its programs;
    a reporter: the cases of its reports), newest activity first, with `last_activity`,
    `seen_at` (when this actor last opened it) and `embargo_until` (a live embargo's date)."""
    f = filters or InboxFilter()
    user_id = actor.pk if actor.is_authenticated else 0  # no user has id 0
    cases = (
        Case.objects.restrict(actor, "view")
        .select_related("program")
        .prefetch_related("artifacts")
        .annotate(
            last_event=Subquery(
                TimelineEvent.objects.filter(case=OuterRef("pk")).order_by("-at").values("at")[:1],
                output_field=DateTimeField(),
            ),
            # Only comments this reader may read count as activity for them: a coordinators'
            # internal note must not tell a vendor that something happened.
            last_comment=Subquery(
                _comments_readable(actor)
                .filter(case=OuterRef("pk"))
                .order_by("-created_at")
                .values("created_at")[:1],
                output_field=DateTimeField(),
            ),
            seen_at=Subquery(
                CaseSeen.objects.filter(case=OuterRef("pk"), user_id=user_id).values("seen_at")[:1],
                output_field=DateTimeField(),
            ),
            embargo_until=Subquery(
                Embargo.objects.filter(case=OuterRef("pk"), state__in=EMBARGO_LIVE).values(
                    "public_date"
                )[:1],
                output_field=DateTimeField(),
            ),
        )
    )
    cases = cases.annotate(
        last_activity=_latest("last_event", "last_comment"),
    )
    if f.state:
        cases = cases.filter(state=f.state)
    if f.program:
        cases = cases.filter(program__slug=f.program)
    if f.tier:
        cases = cases.filter(tier=f.tier)
    for word in f.artifact.split()[:5]:
        cases = cases.filter(
            Q(artifacts__name__icontains=word) | Q(artifacts__provider__icontains=word)
        ).distinct()
    if f.due_soon:
        cases = cases.filter(_open_deadline(timezone.now()))
    if f.embargoed:
        cases = cases.filter(embargo_until__isnull=False)
    if f.unread:
        cases = cases.filter(Q(seen_at__isnull=True) | Q(last_activity__gt=F("seen_at")))
    return cases.order_by(F("last_activity").desc(nulls_last=True), "-id")


def case_vendor_grid(*, actor: Actor, case_id: int) -> QuerySet[CaseVendor]:
    """The case's vendor parties with each one's own status (the vendor grid), for the case's
    parties (coordinators and told vendors); NotFound for everyone else."""
    case = case_get_for(actor=actor, case_id=case_id, action="party")
    return CaseVendor.objects.filter(case=case).select_related("organisation")
