"""Embargo per case: proposed -> active -> revised -> exited, with its public date.

A coordinator proposes a date. Every vendor organisation whose artifact the case affects must
agree before the embargo becomes active; a proposal that is not agreed by its date simply
expires then, as does an active one (the beat task `expire_embargoes`). A coordinator may
revise the date of an active embargo (it stays in force; vendors may record agreement to the
new date) or lift it early. Each step is on the timeline and the audit chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.access import actor_meets, administers
from modelcvd.accounts.models import Organisation, User
from modelcvd.cases.access import vendor_organisations
from modelcvd.cases.models import (
    EMBARGO_IN_FORCE,
    EMBARGO_LIVE,
    Case,
    Embargo,
    EmbargoAgreement,
)
from modelcvd.cases.models import TimelineEvent as Event
from modelcvd.cases.selectors import case_get_for
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import EmbargoInForce, FieldError, Forbidden, InvalidInput, NotFound
from modelcvd.core.projections import case_projections_refresh
from modelcvd.notifications.services import webhook_emit

IN_FORCE = EMBARGO_IN_FORCE
LIVE = EMBARGO_LIVE


def case_vendor_ids(case: Case) -> set[int]:
    return set(case.artifacts.exclude(vendor=None).values_list("vendor_id", flat=True))


def _log(case: Case, actor: User | None, embargo: Embargo, what: str, reason: str = "") -> None:
    now = timezone.now()
    text = f"embargo {what} (public date {embargo.public_date:%Y-%m-%d %H:%M} UTC)"
    Event.objects.create(
        case=case,
        at=now,
        actor=actor,
        kind=Event.Kind.EMBARGO,
        reason=f"{text}: {reason}" if reason else text,
    )
    audit_record(
        actor=actor,
        action=f"embargo.{what}",
        obj=embargo,
        reason=reason,
        data={
            "case": case.pk,
            "state": embargo.state,
            "public_date": embargo.public_date.isoformat(),
        },
    )
    case_projections_refresh(case_ids=[case.pk])
    webhook_emit(
        case=case,
        event=f"embargo.{what}",
        data={"state": embargo.state, "public_date": embargo.public_date.isoformat()},
    )


def _future(public_date: datetime | None) -> datetime:
    if public_date is None:
        raise InvalidInput([FieldError("public_date", "a public date is required")])
    if public_date.tzinfo is None:
        raise InvalidInput([FieldError("public_date", "give a time zone (e.g. Z)")])
    if public_date <= timezone.now():
        raise InvalidInput([FieldError("public_date", "must be in the future")])
    return public_date


def _coordinated(actor: User, case_id: int, forbidden: str) -> Case:
    return case_get_for(
        actor=actor, case_id=case_id, action="coordinate", lock=True, forbidden=forbidden
    )


def embargo_propose(
    *, case_id: int, actor: User, public_date: datetime | None, reason: str = ""
) -> Embargo:
    date = _future(public_date)
    with transaction.atomic():
        case = _coordinated(actor, case_id, "only the case's coordinators propose an embargo")
        existing = Embargo.objects.filter(case=case).first()
        if existing is not None and existing.state in LIVE:
            raise InvalidInput(
                [FieldError("action", f"the case already has a {existing.state} embargo")]
            )
        if existing is not None:
            existing.agreements.all().delete()
            existing.delete()
        embargo = Embargo.objects.create(
            case=case,
            state=Embargo.State.PROPOSED,
            public_date=date,
            proposed_by=actor,
            proposed_at=timezone.now(),
        )
        _log(case, actor, embargo, "proposed", reason)
        if not case_vendor_ids(case):
            embargo.state = Embargo.State.ACTIVE  # no vendor to agree: in force at once
            embargo.save(update_fields=["state"])
            _log(case, actor, embargo, "activated", "no vendor to agree")
    return embargo


def embargo_agree(*, case_id: int, actor: User) -> Embargo:
    """A vendor member agrees, for their organisation(s), to the current public date. Active
    once every vendor organisation of the case has agreed."""
    with transaction.atomic():
        case = case_get_for(actor=actor, case_id=case_id, lock=True)
        embargo = Embargo.objects.select_for_update().filter(case=case).first()
        if embargo is None or embargo.state not in LIVE:
            raise NotFound()
        vendors = case_vendor_ids(case)
        mine = vendor_organisations(actor, case)
        if not mine:
            raise Forbidden("only the affected vendors agree to an embargo")
        for org_id in mine:
            EmbargoAgreement.objects.get_or_create(
                embargo=embargo,
                organisation_id=org_id,
                public_date=embargo.public_date,
                defaults={"agreed_by": actor, "at": timezone.now()},
            )
        _log(case, actor, embargo, "agreed")
        agreed = set(
            embargo.agreements.filter(public_date=embargo.public_date).values_list(
                "organisation_id", flat=True
            )
        )
        if embargo.state == Embargo.State.PROPOSED and vendors <= agreed:
            embargo.state = Embargo.State.ACTIVE
            embargo.save(update_fields=["state"])
            _log(case, None, embargo, "activated", "every vendor agreed")
    return embargo


def embargo_revise(
    *, case_id: int, actor: User, public_date: datetime | None, reason: str
) -> Embargo:
    date = _future(public_date)
    if not reason.strip():
        raise InvalidInput([FieldError("reason", "a revision needs a reason")])
    with transaction.atomic():
        case = _coordinated(actor, case_id, "only the case's coordinators revise an embargo")
        embargo = Embargo.objects.select_for_update().filter(case=case).first()
        if embargo is None or embargo.state not in LIVE:
            raise InvalidInput([FieldError("action", "no embargo to revise")])
        if embargo.state == Embargo.State.PROPOSED:
            # Not in force yet: a new date is a new proposal the vendors agree to afresh.
            embargo.public_date = date
            embargo.save(update_fields=["public_date"])
            _log(case, actor, embargo, "proposed", reason)
        else:
            embargo.public_date = date
            embargo.state = Embargo.State.REVISED
            embargo.save(update_fields=["public_date", "state"])
            _log(case, actor, embargo, "revised", reason)
    return embargo


def embargo_exit(*, case_id: int, actor: User, reason: str) -> Embargo:
    if not reason.strip():
        raise InvalidInput([FieldError("reason", "lifting an embargo needs a reason")])
    with transaction.atomic():
        case = _coordinated(actor, case_id, "only the case's coordinators lift an embargo")
        embargo = Embargo.objects.select_for_update().filter(case=case).first()
        if embargo is None or embargo.state not in LIVE:
            raise InvalidInput([FieldError("action", "no embargo to lift")])
        _exit(case, actor, embargo, reason)
    return embargo


def _exit(case: Case, actor: User | None, embargo: Embargo, reason: str) -> None:
    embargo.state = Embargo.State.EXITED
    embargo.exited_at = timezone.now()
    embargo.exit_reason = reason
    embargo.save(update_fields=["state", "exited_at", "exit_reason"])
    _log(case, actor, embargo, "exited", reason)


def embargoes_expire(*, now: datetime | None = None) -> list[Embargo]:
    """Beat task: every live embargo whose public date has come exits."""
    now = now or timezone.now()
    done = []
    for embargo_id in Embargo.objects.filter(state__in=LIVE, public_date__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            embargo = (
                Embargo.objects.select_for_update()
                .select_related("case__program")
                .filter(pk=embargo_id, state__in=LIVE)
                .first()
            )
            if embargo is None:
                continue
            reason = (
                "expired at its public date without every vendor's agreement"
                if embargo.state == Embargo.State.PROPOSED
                else "public date reached"
            )
            _exit(embargo.case, None, embargo, reason)
            done.append(embargo)
    return done


def embargo_guard(*, case: Case, actor: User, action: str, override_reason: str = "") -> None:
    """Called (inside the caller's transaction) before anything about the case is made public:
    `action` is "publish" (an advisory) or "disclose" (the case). A live embargo whose public date
    is still ahead refuses it; an administrator may override with a reason, which lifts the
    embargo on the timeline and the audit chain. A live embargo whose date has passed, or one
    overridden, exits here, so the case never reads "embargo active" after publication."""
    embargo = Embargo.objects.select_for_update().filter(case=case, state__in=LIVE).first()
    if embargo is None:
        return
    if embargo.public_date <= timezone.now():
        _exit(case, actor, embargo, "public date reached")
        return
    override_reason = override_reason.strip()
    if not override_reason:
        raise EmbargoInForce(
            state=embargo.state, public_date=f"{embargo.public_date:%Y-%m-%d %H:%M} UTC"
        )
    if not actor_meets(actor, administers(actor)):
        raise Forbidden("only an administrator may override an embargo")
    audit_record(
        actor=actor,
        action="embargo.override",
        obj=embargo,
        reason=override_reason,
        data={
            "case": case.pk,
            "action": action,
            "state": embargo.state,
            "public_date": embargo.public_date.isoformat(),
        },
    )
    _exit(case, actor, embargo, f"overridden by an administrator to {action}: {override_reason}")


def embargo_out(case: Case) -> dict[str, Any] | None:
    embargo = Embargo.objects.filter(case=case).first()
    if embargo is None:
        return None
    vendors = case_vendor_ids(case)
    agreed = set(
        embargo.agreements.filter(public_date=embargo.public_date).values_list(
            "organisation__slug", flat=True
        )
    )
    return {
        "state": embargo.state,
        "public_date": embargo.public_date,
        "vendors": sorted(
            Organisation.objects.filter(pk__in=vendors).values_list("slug", flat=True)
        ),
        "agreed": sorted(agreed),
        "exited_at": embargo.exited_at,
        "exit_reason": embargo.exit_reason,
    }


def embargo_apply(*, case_id: int, actor: User, action: str, public_date: Any, reason: str) -> None:
    """One embargo action, as the API and the case page name them."""
    if action == "propose":
        embargo_propose(case_id=case_id, actor=actor, public_date=public_date, reason=reason)
    elif action == "agree":
        embargo_agree(case_id=case_id, actor=actor)
    elif action == "revise":
        embargo_revise(case_id=case_id, actor=actor, public_date=public_date, reason=reason)
    else:
        embargo_exit(case_id=case_id, actor=actor, reason=reason)
