"""Reads on credits and bounties, scoped to the actor.

`credits_public(*, case)` is the advisories' entry point: the accepted, listed credits of a case
as public names (pseudonyms respected), in a stable order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.selectors import case_access, case_get_for
from modelcvd.cases.workflow import CaseState
from modelcvd.core.errors import NotFound
from modelcvd.credits.models import Bounty, Credit, CreditType
from modelcvd.policy.models import Program

Actor = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class PublicCredit:
    """A credit as the public sees it."""

    name: str
    credit_type: str
    label: str


def credits_public(*, case: Case) -> list[PublicCredit]:
    """Accepted credits whose holder chose to be listed, named by public name (the pseudonym
    when there is one). Declined, pending and unlisted credits never appear."""
    rows = (
        Credit.objects.filter(case=case, status=Credit.Status.ACCEPTED, listed=True)
        .select_related("user")
        .order_by("credit_type", "id")
    )
    order = list(CreditType)
    out = [
        PublicCredit(
            name=c.display_name,
            credit_type=c.credit_type,
            label=CreditType(c.credit_type).label,
        )
        for c in rows
    ]
    return sorted(out, key=lambda c: order.index(CreditType(c.credit_type)))


def credits_for_case(*, actor: Actor, case_id: int) -> QuerySet[Credit]:
    """Every credit of a case, for those who see the case."""
    case = case_get_for(actor=actor, case_id=case_id)
    return case.credits.select_related("user").order_by("credit_type", "id")


def credits_mine(*, actor: Actor) -> QuerySet[Credit]:
    if not actor.is_authenticated:
        return Credit.objects.none()
    return Credit.objects.filter(user_id=actor.pk).select_related("case").order_by("-created_at")


def credit_get_own(*, actor: Actor, credit_id: int) -> Credit:
    """A credit held by the actor; anybody else's answers 404."""
    credit = credits_mine(actor=actor).filter(pk=credit_id).first()
    if credit is None:
        raise NotFound()
    return credit


@dataclass(frozen=True)
class HallOfFameEntry:
    name: str
    credits: int
    types: list[str]
    latest: datetime


def hall_of_fame(*, program: Program) -> list[HallOfFameEntry]:
    """People and tools credited on the program's disclosed cases, most credits first.

    Only cases that have been disclosed appear (a credit on an undisclosed case would reveal
    that a vulnerability exists), only accepted and listed credits, under public names.
    """
    disclosed = TimelineEvent.objects.filter(
        kind=TimelineEvent.Kind.TRANSITION, to_state=CaseState.DISCLOSED
    ).values("case_id")
    rows = (
        Credit.objects.filter(
            case__program=program,
            case_id__in=disclosed,
            status=Credit.Status.ACCEPTED,
            listed=True,
        )
        .select_related("user")
        .order_by("created_at", "id")
    )
    entries: dict[str, HallOfFameEntry] = {}
    for c in rows:
        key = f"user:{c.user_id}" if c.user_id else f"name:{c.name}"
        label = CreditType(c.credit_type).label
        entry = entries.get(key) or HallOfFameEntry(c.display_name, 0, [], c.created_at)
        types = entry.types if label in entry.types else [*entry.types, label]
        entries[key] = HallOfFameEntry(entry.name, entry.credits + 1, types, c.created_at)
    return sorted(entries.values(), key=lambda e: (-e.credits, e.name.lower()))


def bounties_visible_for_case(*, actor: Actor, case_id: int) -> QuerySet[Bounty]:
    """The program's staff see every bounty of the case; a researcher sees their own. Anybody
    else, the case's vendor included, gets 404."""
    case = case_get_for(actor=actor, case_id=case_id)
    access = case_access(actor=actor, case=case)
    qs = case.bounties.select_related("researcher").order_by("id")
    if access.staff:
        return qs
    mine = qs.filter(researcher_id=actor.pk)
    if access.reporter or mine.exists():
        return mine
    raise NotFound()


def bounty_get_visible(*, actor: Actor, bounty_id: int) -> Bounty:
    bounty = (
        Bounty.objects.select_related("case__program", "researcher").filter(pk=bounty_id).first()
    )
    if bounty is None or not actor.is_authenticated:
        raise NotFound()
    if bounty.researcher_id == actor.pk:
        return bounty
    case_get_for(actor=actor, case_id=bounty.case_id, action="coordinate")
    return bounty


def bounties_mine(*, actor: Actor) -> QuerySet[Bounty]:
    if not actor.is_authenticated:
        return Bounty.objects.none()
    return Bounty.objects.filter(researcher_id=actor.pk).select_related("case").order_by("-id")
