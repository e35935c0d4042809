"""Writes on cases: open, transition, comment. Each in one transaction with its audit event."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.models import User
from modelcvd.artifacts.models import Artifact
from modelcvd.artifacts.services import artifact_fix_register
from modelcvd.cases.mail import comment_mail, timeline_event_mail, vendor_notice_mail
from modelcvd.cases.models import Case, CaseFix, Comment, TimelineEvent
from modelcvd.cases.selectors import CaseAccess, case_access, case_get_for
from modelcvd.cases.services.deadlines import case_deadlines_refresh, mark_milestones
from modelcvd.cases.services.embargo import embargo_guard
from modelcvd.cases.services.vendors import (
    artifact_vendor_ids,
    vendor_fixed_follow,
    vendors_record,
)
from modelcvd.cases.workflow import TRANSITIONS, VENDOR_TRANSITIONS, CaseState, targets_for
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, Forbidden, IllegalTransition, InvalidInput
from modelcvd.core.projections import case_projections_refresh
from modelcvd.notifications.services import webhook_emit
from modelcvd.policy.models import Program


def case_open(*, program: Program, title: str, artifacts: Iterable[Artifact], actor: User) -> Case:
    with transaction.atomic():
        case = Case.objects.create(program=program, title=title)
        case.artifacts.set(artifacts)
        TimelineEvent.objects.create(
            case=case,
            at=timezone.now(),
            actor=actor,
            kind=TimelineEvent.Kind.OPENED,
            to_state=CaseState.RECEIVED,
            reason="report received",
        )
        audit_record(actor=actor, action="case.open", obj=case)
        case_deadlines_refresh(case=case)
        case_projections_refresh(case_ids=[case.pk])
    return case


@dataclass(frozen=True)
class FixedVersion:
    """The version named at the "fix available" step: a new version of one of the case's
    artifacts (`artifact_id`; may be left out when the case names one artifact), by its
    revision, its label, or both."""

    revision: str = ""
    version_label: str = ""
    weights_digest: str = ""
    artifact_id: int | None = None


def _fix_record(
    case: Case, fixed_version: FixedVersion | None, *, actor: User, event: TimelineEvent
) -> CaseFix:
    """Record which version fixes which of the case's artifacts (registering the version if
    it is new): what the case's advisory lists as fixed."""
    if fixed_version is None:
        raise InvalidInput(
            [
                FieldError(
                    "fixed_version",
                    "name the version that fixes it (a revision or a version label): the "
                    "advisory lists it as fixed",
                )
            ]
        )
    own = list(case.artifacts.order_by("pk"))
    if fixed_version.artifact_id is None:
        if len(own) != 1:
            raise InvalidInput(
                [
                    FieldError(
                        "fixed_version.artifact",
                        f"the case names {len(own)} artifacts: say which one this version fixes",
                    )
                ]
            )
        fixes = own[0]
    else:
        found = next((a for a in own if a.pk == fixed_version.artifact_id), None)
        if found is None:
            raise InvalidInput(
                [FieldError("fixed_version.artifact", "not one of the case's artifacts")]
            )
        fixes = found
    # A vendor states fixes for its own models only, even in a case that names another's.
    if not Artifact.objects.allows(actor, fixes, "state_fix"):
        raise Forbidden(f"only {fixes}'s vendor and the case's coordinators may name its fix")
    fixed_by = artifact_fix_register(
        actor=actor,
        fixes=fixes,
        revision=fixed_version.revision,
        version_label=fixed_version.version_label,
        weights_digest=fixed_version.weights_digest,
    )
    fix, _ = CaseFix.objects.update_or_create(
        case=case,
        artifact=fixes,
        defaults={"fixed_by": fixed_by, "event": event, "stated_by": actor, "stated_at": event.at},
    )
    return fix


def case_transition(
    *,
    case_id: int,
    actor: User,
    to: str,
    reason: str,
    fixed_version: FixedVersion | None = None,
    override_reason: str = "",
) -> Case:
    """Move a case to `to`. 404 when the actor cannot see it, 403 when they may not move it,
    409 with the allowed targets when the move is not in the state machine. Moving to
    "fix available" names the fixing version (`fixed_version`, required there). Moving to
    "disclosed" during a live embargo is refused (409) unless an administrator overrides it
    with `override_reason`."""
    reason = reason.strip()
    try:
        target = CaseState(to)
    except ValueError:
        raise InvalidInput(
            [FieldError("to", f"unknown state; one of {[s.value for s in CaseState]}")]
        ) from None
    if not reason:
        raise InvalidInput([FieldError("reason", "a reason is required for every transition")])
    with transaction.atomic():
        # Lock the row so two coordinators cannot both move the case from the same state.
        case = case_get_for(actor=actor, case_id=case_id, lock=True)
        access = case_access(actor=actor, case=case)
        current = CaseState(case.state)
        if not (access.staff or access.vendor):
            raise Forbidden("only the case's coordinators and vendors may move it")
        if target not in TRANSITIONS[current]:
            allowed = targets_for(current, staff=access.staff, vendor=access.vendor)
            raise IllegalTransition(current=current.value, target=target.value, allowed=allowed)
        if case.merged_into_id is not None and target != CaseState.CLOSED:
            # Its reports live in the case it was merged into: reopening it would be empty.
            raise IllegalTransition(
                current=current.value, target=target.value, allowed=[CaseState.CLOSED.value]
            )
        if not access.staff and (current, target) not in VENDOR_TRANSITIONS:
            raise Forbidden("only the case's coordinators may move it to this state")
        if target == CaseState.DISCLOSED:
            embargo_guard(
                case=case, actor=actor, action="disclose", override_reason=override_reason
            )
        case.state = target.value
        fields = ["state", "updated_at"]
        told: list[int] = []
        if target == CaseState.VENDOR_NOTIFIED and case.vendor_notified_at is None:
            # The first notification tells the vendors the case names now; any vendor that
            # comes later joins only through cases.services.vendors.case_vendor_notify.
            case.vendor_notified_at = timezone.now()
            fields.append("vendor_notified_at")
            told = vendors_record(
                case=case,
                organisation_ids=artifact_vendor_ids(case),
                actor=actor,
                at=case.vendor_notified_at,
            )
        fields += mark_milestones(case, target, timezone.now())
        case.save(update_fields=fields)
        if "vendor_notified_at" in fields:
            case_deadlines_refresh(case=case)  # remediation and disclosure run from now
        event = TimelineEvent.objects.create(
            case=case,
            at=timezone.now(),
            actor=actor,
            kind=TimelineEvent.Kind.TRANSITION,
            from_state=current.value,
            to_state=target.value,
            reason=reason,
        )
        fixed: dict[str, int] = {}
        if target == CaseState.FIX_AVAILABLE:
            fix = _fix_record(case, fixed_version, actor=actor, event=event)
            fixed = {"fixes": fix.artifact_id, "fixed_by": fix.fixed_by_id}
            grid = vendor_fixed_follow(case=case, fix=fix, actor=actor, at=event.at)
            fixed |= {"vendor_fixed": grid} if grid else {}
        audit_record(
            actor=actor,
            action="case.transition",
            obj=case,
            reason=reason,
            data={"from": current.value, "to": target.value}
            | ({"vendors_told": told} if told else {})
            | fixed,
        )
        case_projections_refresh(case_ids=[case.pk])
        webhook_emit(
            case=case, event="case.transition", data={"from": current.value, "to": target.value}
        )
        timeline_event_mail(event_id=event.pk)
        vendor_notice_mail(case_id=case.pk, organisation_ids=told)
    return case


def _channel(case: Case, actor: User, access: CaseAccess, report_id: int | None) -> int | None:
    """Whose reporter channel a reporter comment belongs to (a reporter's user id). A reporter
    speaks in their own channel; a coordinator names the report they reply to when the case has
    reports from several reporters (after a merge), so one reporter's conversation never
    reaches another."""
    reports = case.reports.all()
    if not access.staff:
        reports = reports.filter(reporter_id=actor.pk)
    if report_id is not None:
        reporter = reports.filter(pk=report_id).values_list("reporter_id", flat=True).first()
        if reporter is None:
            raise InvalidInput([FieldError("report", "not a report of this case you may address")])
        return reporter
    reporters = list(
        reports.order_by("reporter_id").values_list("reporter_id", flat=True).distinct()[:2]
    )
    if len(reporters) == 1:
        return reporters[0]
    raise InvalidInput(
        [FieldError("report", "this case has several reports: name the one you reply to")]
    )


def comment_add(
    *, case_id: int, actor: User, body: str, visibility: str, report_id: int | None = None
) -> Comment:
    body = body.strip()
    if not body:
        raise InvalidInput([FieldError("body", "a comment cannot be empty")])
    if len(body) > 20_000:
        raise InvalidInput([FieldError("body", "at most 20000 characters")])
    try:
        wanted = Comment.Visibility(visibility)
    except ValueError:
        raise InvalidInput(
            [FieldError("visibility", f"one of {[v.value for v in Comment.Visibility]}")]
        ) from None
    with transaction.atomic():
        case = case_get_for(actor=actor, case_id=case_id)
        access = case_access(actor=actor, case=case)
        if not access.staff:
            # A party can only speak to the coordinators in its own channel.
            own = Comment.Visibility.REPORTER if access.reporter else Comment.Visibility.VENDOR
            if wanted != own:
                raise InvalidInput(
                    [FieldError("visibility", f"you may only post '{own.value}' comments")]
                )
        channel = (
            _channel(case, actor, access, report_id)
            if wanted == Comment.Visibility.REPORTER
            else None
        )
        comment = Comment.objects.create(
            case=case, author=actor, body=body, visibility=wanted, channel_reporter_id=channel
        )
        audit_record(
            actor=actor,
            action="comment.add",
            obj=comment,
            data={"case": case.pk, "visibility": wanted.value},
        )
        comment_mail(comment_id=comment.pk)
    return comment
