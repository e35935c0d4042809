"""Telling a vendor of a case: the one way a vendor organisation becomes a party (CaseVendor).

The first move to `vendor_notified` tells the vendors of the artifacts the case names then.
Any vendor that comes later - an artifact added by a merge, a vendor found during triage -
joins only when a coordinator notifies it here, by name, with a reason: on the timeline and the
audit chain. Nothing else (naming an artifact, merging cases) widens who sees a case.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.models import Organisation, User
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.access import vendor_organisations
from modelcvd.cases.mail import vendor_notice_mail
from modelcvd.cases.models import Case, CaseFix, CaseVendor, TimelineEvent
from modelcvd.cases.selectors import case_get_for
from modelcvd.cases.services.deadlines import case_deadlines_refresh
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, Forbidden, InvalidInput
from modelcvd.core.projections import case_projections_refresh
from modelcvd.notifications.services import webhook_emit
from modelcvd.vocabulary import VendorCaseStatus


def artifact_vendor_ids(case: Case) -> set[int]:
    """The vendor organisations of the artifacts the case names (told or not)."""
    return set(case.artifacts.exclude(vendor=None).values_list("vendor_id", flat=True))


def vendors_told(case: Case) -> set[int]:
    """The vendor organisations that were told of the case: its vendor parties."""
    return set(case.vendor_parties.values_list("organisation_id", flat=True))


def vendors_untold(case: Case) -> set[int]:
    """Vendors whose artifacts the case names but who were never told: they see nothing yet."""
    return artifact_vendor_ids(case) - vendors_told(case)


def vendors_record(
    *, case: Case, organisation_ids: Iterable[int], actor: User | None, at: datetime
) -> list[int]:
    """Write the CaseVendor rows of the organisations not yet told; returns the new ones.
    Call inside the caller's transaction, which records the step (timeline, audit)."""
    new = sorted(set(organisation_ids) - vendors_told(case))
    CaseVendor.objects.bulk_create(
        [CaseVendor(case=case, organisation_id=o, notified_at=at, notified_by=actor) for o in new]
    )
    return new


def vendor_fixed_follow(*, case: Case, fix: CaseFix, actor: User, at: datetime) -> int | None:
    """After a fix step: the fixed artifact's vendor reads "Fixed" in the vendor grid once every
    artifact of theirs in the case has a fixing version, unless the grid already says something
    other than "no response" or "affected" (a vendor's own "not affected" is never overwritten).
    Returns the organisation set, if any. Call inside the caller's transaction (the fix step's
    timeline event and audit record cover it; this adds the grid's own timeline line)."""
    vendor_id = fix.artifact.vendor_id
    if vendor_id is None:
        return None
    party = (
        CaseVendor.objects.select_related("organisation")
        .filter(case=case, organisation_id=vendor_id)
        .first()
    )
    open_states = (VendorCaseStatus.NO_RESPONSE, VendorCaseStatus.AFFECTED)
    if party is None or party.status not in open_states:
        return None
    theirs = set(case.artifacts.filter(vendor_id=vendor_id).values_list("pk", flat=True))
    fixed = set(CaseFix.objects.filter(case=case).values_list("artifact_id", flat=True))
    if not theirs <= fixed:
        return None  # one of two models fixed is not "Fixed"
    _party_status_write(
        case,
        party,
        VendorCaseStatus.FIXED,
        actor=actor,
        at=at,
        note="every model of theirs in the case has a fixing version",
    )
    return vendor_id


def _party_status_write(
    case: Case, party: CaseVendor, status: str, *, actor: User, at: datetime, note: str
) -> None:
    """Set a vendor party's grid status, with its timeline line (inside the caller's
    transaction; the caller records the audit event)."""
    party.status, party.status_at = status, at
    party.save(update_fields=["status", "status_at"])
    TimelineEvent.objects.create(
        case=case,
        at=at,
        actor=actor,
        kind=TimelineEvent.Kind.VENDOR_STATUS,
        reason=f"vendor {party.organisation.name} status: {VendorCaseStatus(status).label}"
        + (f" ({note})" if note else ""),
    )


def case_vendor_notify(
    *,
    case_id: int,
    organisation: str,
    actor: User,
    reason: str,
    artifact_id: int | None = None,
) -> CaseVendor:
    """Tell one more vendor organisation (by slug) of the case: its members see the case from
    now on. Coordinators only (404 for those who do not see the case, 403 for parties); 422
    unless the organisation is a vendor whose artifact the case names and was not told yet.

    `artifact_id`: an artifact of that vendor that evidence showed affected (a transfer
    matrix's reproduced cell), added to the case's artifacts in the same step, audited."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput([FieldError("reason", "a reason is required to notify a vendor")])
    if len(reason) > 5000:
        raise InvalidInput([FieldError("reason", "at most 5000 characters")])
    with transaction.atomic():
        case = case_get_for(
            actor=actor,
            case_id=case_id,
            action="coordinate",
            lock=True,
            forbidden="only the case's coordinators may notify a vendor",
        )
        vendor = Organisation.objects.filter(
            slug=organisation, kind=Organisation.Kind.VENDOR
        ).first()
        added = None
        if vendor is not None and artifact_id is not None:
            added = Artifact.objects.filter(pk=artifact_id, vendor=vendor).first()
            if added is None:
                raise InvalidInput([FieldError("artifact_id", "not an artifact of this vendor")])
            case.artifacts.add(added)
        if vendor is None or vendor.pk not in artifact_vendor_ids(case):
            raise InvalidInput(
                [FieldError("organisation", "not the vendor of an artifact this case names")]
            )
        if vendor.pk in vendors_told(case):
            raise InvalidInput([FieldError("organisation", "this vendor was already notified")])
        now = timezone.now()
        vendors_record(case=case, organisation_ids=[vendor.pk], actor=actor, at=now)
        if case.vendor_notified_at is None:
            case.vendor_notified_at = now
            case.save(update_fields=["vendor_notified_at", "updated_at"])
            case_deadlines_refresh(case=case)  # remediation and disclosure run from now
        TimelineEvent.objects.create(
            case=case,
            at=now,
            actor=actor,
            kind=TimelineEvent.Kind.VENDOR_NOTIFY,
            reason=f"vendor {vendor.name} notified: {reason}",
        )
        audit_record(
            actor=actor,
            action="case.vendor_notify",
            obj=case,
            reason=reason,
            data={"organisation": vendor.slug}
            | ({"artifact_added": added.pk} if added is not None else {}),
        )
        case_projections_refresh(case_ids=[case.pk])
        webhook_emit(case=case, event="case.vendor_notify", data={"organisation": vendor.slug})
        vendor_notice_mail(case_id=case.pk, organisation_ids=[vendor.pk])
    return CaseVendor.objects.get(case=case, organisation=vendor)


def case_vendor_status_set(
    *, case_id: int, organisation: str, status: str, actor: User, reason: str = ""
) -> CaseVendor:
    """State a vendor party's own status in the case (affected, not affected, fixed, no
    response): by that vendor's members or the case's coordinators; audited and on the
    timeline. 404 for those who do not see the case, 403 for other parties."""
    if status not in VendorCaseStatus.values:
        raise InvalidInput([FieldError("status", f"one of {list(VendorCaseStatus.values)}")])
    reason = reason.strip()
    if len(reason) > 5000:
        raise InvalidInput([FieldError("reason", "at most 5000 characters")])
    with transaction.atomic():
        case = case_get_for(actor=actor, case_id=case_id, lock=True)
        party = (
            CaseVendor.objects.select_related("organisation")
            .filter(case=case, organisation__slug=organisation)
            .first()
        )
        if party is None:
            raise InvalidInput([FieldError("organisation", "not a vendor party of this case")])
        coordinator = Case.objects.allows(actor, case, "coordinate")
        if not coordinator and party.organisation_id not in vendor_organisations(actor, case):
            raise Forbidden("only the vendor's members or the coordinators state its status")
        _party_status_write(case, party, status, actor=actor, at=timezone.now(), note=reason)
        audit_record(
            actor=actor,
            action="case.vendor_status",
            obj=case,
            reason=reason,
            data={"organisation": party.organisation.slug, "status": status},
        )
    return party
