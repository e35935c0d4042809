"""Case deadlines as data: due dates from the program and tier, the waiting-on-reporter pause,
extension requests, and the escalation of breaches (run by a Celery beat task).

The arithmetic is policy/deadlines.py (pure); this module feeds it the case's facts and writes
the results, each change in one transaction with its timeline entry and audit event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from modelcvd.accounts.models import Membership, Role, User
from modelcvd.cases.mail import escalation_mail
from modelcvd.cases.models import (
    DUE_FIELD,
    MET_FIELD,
    Case,
    CasePause,
    DeadlineExtension,
    DeadlineKind,
    Escalation,
)
from modelcvd.cases.models import TimelineEvent as Event
from modelcvd.cases.selectors import case_get_for
from modelcvd.cases.workflow import CaseState
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput, NotFound
from modelcvd.core.projections import case_projections_refresh
from modelcvd.notifications.services import webhook_emit
from modelcvd.policy.deadlines import (
    CalendarDays,
    Pause,
    case_deadlines,
    due_at,
)
from modelcvd.policy.selectors import program_policy
from modelcvd.scoring.tier import Tier

# States in which remediation and disclosure no longer apply: the report was not taken up.
NOT_TAKEN_UP = frozenset(
    {CaseState.INVALID, CaseState.DUPLICATE, CaseState.OUT_OF_SCOPE, CaseState.CLOSED}
)
MAX_EXTENSION_DAYS = 180


def case_pauses(case: Case, *, now: datetime | None = None) -> list[Pause]:
    """Every pause of the case; an ongoing one ends `now` (so deadlines project as of now)."""
    now = now or timezone.now()
    return [Pause(p.start, p.end or max(now, p.start)) for p in case.pauses.all()]


def case_deadlines_refresh(*, case: Case, now: datetime | None = None) -> Case:
    """Recompute and store the case's due dates: program policy, tier, pauses, extensions."""
    pauses = case_pauses(case, now=now)
    tier = Tier(case.tier) if case.tier else None
    computed = case_deadlines(
        received_at=case.created_at,
        tier=tier,
        policy=program_policy(case.program),
        pauses=pauses,
        vendor_notified_at=case.vendor_notified_at,
    )
    base = {
        DeadlineKind.ACKNOWLEDGE: computed.acknowledge_by,
        DeadlineKind.TRIAGE: computed.triage_by,
        DeadlineKind.REMEDIATE: computed.remediate_by,
        DeadlineKind.DISCLOSE: computed.disclose_by,
    }
    extra: dict[str, int] = {}
    for ext in case.extensions.filter(state=DeadlineExtension.State.APPROVED):
        extra[ext.deadline] = extra.get(ext.deadline, 0) + ext.days
    for kind, due in base.items():
        if due is not None and extra.get(kind):
            due = due_at(due, CalendarDays(extra[kind]), pauses=pauses)
        setattr(case, DUE_FIELD[kind], due)
    case.save(update_fields=[*DUE_FIELD.values(), "updated_at"])
    return case


def mark_milestones(case: Case, target: CaseState, at: datetime) -> list[str]:
    """Called by case_transition: note when each deadline was met. Returns changed fields."""
    reached: list[str] = []
    if target != CaseState.RECEIVED:
        reached.append("acknowledged_at")
    if target not in (CaseState.RECEIVED, CaseState.ACKNOWLEDGED):
        reached.append("triaged_at")
    if target in (CaseState.FIX_AVAILABLE, CaseState.FIX_VERIFIED):
        reached.append("remediated_at")
    if target in (CaseState.DISCLOSED, CaseState.WITHHELD):
        reached.append("disclosed_at")
    changed = [name for name in reached if getattr(case, name) is None]
    for name in changed:
        setattr(case, name, at)
    return changed


COORDINATORS = "only the case's coordinators may do this"


def case_waiting_set(*, case_id: int, actor: User, waiting: bool, reason: str) -> Case:
    """Start or end waiting on the reporter. While waiting, every deadline clock stops."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput([FieldError("reason", "a reason is required")])
    now = timezone.now()
    with transaction.atomic():
        case = case_get_for(
            actor=actor, case_id=case_id, action="coordinate", lock=True, forbidden=COORDINATORS
        )
        open_pause = case.pauses.filter(end__isnull=True).first()
        if waiting == (open_pause is not None):
            state = "already" if waiting else "not"
            raise InvalidInput(
                [FieldError("waiting", f"the case is {state} waiting on the reporter")]
            )
        if waiting:
            CasePause.objects.create(case=case, start=now, reason=reason)
            case.waiting_on_reporter_since = now
        else:
            assert open_pause is not None
            open_pause.end = now
            open_pause.save(update_fields=["end"])
            case.waiting_on_reporter_since = None
        case.save(update_fields=["waiting_on_reporter_since", "updated_at"])
        case_deadlines_refresh(case=case, now=now)
        Event.objects.create(
            case=case,
            at=now,
            actor=actor,
            kind=Event.Kind.WAITING,
            reason=("waiting on the reporter: " if waiting else "reporter answered: ") + reason,
        )
        audit_record(
            actor=actor, action="case.waiting", obj=case, reason=reason, data={"waiting": waiting}
        )
        case_projections_refresh(case_ids=[case.pk])
    return case


def extension_request(
    *, case_id: int, actor: User, deadline: str, days: int, reason: str
) -> DeadlineExtension:
    """A party to the case (vendor, reporter or coordinator) asks to move a deadline."""
    reason = reason.strip()
    errors = []
    if deadline not in DeadlineKind.values:
        errors.append(FieldError("deadline", f"one of {DeadlineKind.values}"))
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
        errors.append(FieldError("days", f"a whole number of days from 1 to {MAX_EXTENSION_DAYS}"))
    if not reason:
        errors.append(FieldError("reason", "an extension request needs a reason"))
    if errors:
        raise InvalidInput(errors)
    now = timezone.now()
    with transaction.atomic():
        case = case_get_for(actor=actor, case_id=case_id)  # every party may ask for time
        if getattr(case, DUE_FIELD[DeadlineKind(deadline)]) is None:
            raise InvalidInput([FieldError("deadline", "this deadline is not set yet")])
        extension = DeadlineExtension.objects.create(
            case=case,
            deadline=deadline,
            days=days,
            reason=reason,
            requested_by=actor,
            requested_at=now,
        )
        Event.objects.create(
            case=case,
            at=now,
            actor=actor,
            kind=Event.Kind.EXTENSION,
            reason=f"requested {days} more days for {deadline}: {reason}",
        )
        audit_record(
            actor=actor,
            action="extension.request",
            obj=extension,
            reason=reason,
            data={"case": case.pk, "deadline": deadline, "days": days},
        )
        case_projections_refresh(case_ids=[case.pk])
    return extension


def extension_decide(
    *, case_id: int, extension_id: int, actor: User, approve: bool, reason: str
) -> DeadlineExtension:
    reason = reason.strip()
    if not reason:
        raise InvalidInput([FieldError("reason", "a decision needs a reason")])
    now = timezone.now()
    with transaction.atomic():
        case = case_get_for(
            actor=actor, case_id=case_id, action="coordinate", lock=True, forbidden=COORDINATORS
        )
        extension = case.extensions.select_for_update().filter(pk=extension_id).first()
        if extension is None:
            raise NotFound()
        if extension.state != DeadlineExtension.State.PENDING:
            raise InvalidInput([FieldError("approve", f"already {extension.state}")])
        extension.state = (
            DeadlineExtension.State.APPROVED if approve else DeadlineExtension.State.DENIED
        )
        extension.decided_by, extension.decided_at = actor, now
        extension.decision_reason = reason
        extension.save()
        case_deadlines_refresh(case=case, now=now)
        Event.objects.create(
            case=case,
            at=now,
            actor=actor,
            kind=Event.Kind.EXTENSION,
            reason=(
                f"{extension.state} {extension.days} more days for {extension.deadline}: {reason}"
            ),
        )
        audit_record(
            actor=actor,
            action="extension.decide",
            obj=extension,
            reason=reason,
            data={"case": case.pk, "state": extension.state},
        )
        case_projections_refresh(case_ids=[case.pk])
        webhook_emit(
            case=case,
            event=f"extension.{extension.state}",
            data={"deadline": extension.deadline, "days": extension.days},
        )
    return extension


def _recipients(case: Case, level: int) -> list[str]:
    if level == Escalation.Level.TRIAGER:
        members = Membership.objects.filter(
            role=Role.TRIAGER, organisation_id=case.program.organisation_id
        )
    elif level == Escalation.Level.VENDOR:
        # Only the vendors told of the case (CaseVendor): an untold vendor hears nothing.
        vendor_ids = case.vendor_parties.values_list("organisation_id", flat=True)
        members = Membership.objects.filter(
            role=Role.VENDOR_MEMBER, organisation_id__in=list(vendor_ids)
        )
    else:
        members = Membership.objects.filter(role=Role.ADMIN)
    users = User.objects.filter(pk__in=members.values("user_id"), is_active=True)
    return sorted({u.email for u in users if u.email})


def open_deadlines(case: Case) -> list[tuple[DeadlineKind, datetime]]:
    """Deadlines still running: set, not met, and applicable in the case's state."""
    result = []
    for kind in DeadlineKind:
        due = getattr(case, DUE_FIELD[kind])
        if due is None or getattr(case, MET_FIELD[kind]) is not None:
            continue
        if kind in (DeadlineKind.REMEDIATE, DeadlineKind.DISCLOSE) and (
            CaseState(case.state) in NOT_TAKEN_UP
        ):
            continue
        result.append((kind, due))
    return result


def deadline_breaches_escalate(*, now: datetime | None = None) -> list[Escalation]:
    """Flag breaches and escalate: level 1 (triagers) at the due instant, level 2 (vendor) one
    ESCALATION_STEP_HOURS later, level 3 (coordinators) two steps later. Each (deadline, due
    date, level) escalates exactly once, however often this runs or how many run at once.
    A case waiting on its reporter is skipped: its clocks are stopped."""
    now = now or timezone.now()
    step = timedelta(hours=settings.ESCALATION_STEP_HOURS)
    made: list[Escalation] = []
    candidates = Case.objects.select_related("program").filter(
        waiting_on_reporter_since__isnull=True
    )
    for case in candidates.iterator():
        for kind, due in open_deadlines(case):
            for level in Escalation.Level:
                if now < due + step * (level - 1):
                    break
                escalation = _escalate(case, kind, due, level, now)
                if escalation is not None:
                    made.append(escalation)
    return made


def _escalate(
    case: Case, kind: DeadlineKind, due: datetime, level: int, now: datetime
) -> Escalation | None:
    if Escalation.objects.filter(case=case, deadline=kind, due_at=due, level=level).exists():
        return None
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                case=case,
                deadline=kind,
                due_at=due,
                level=level,
                at=now,
                recipients=_recipients(case, level),
            )
            label = Escalation.Level(level).label.lower()
            Event.objects.create(
                case=case,
                at=now,
                actor=None,
                kind=Event.Kind.ESCALATION,
                reason=f"{kind} deadline ({due:%Y-%m-%d %H:%M} UTC) breached: escalated to {label}",
            )
            audit_record(
                actor=None,
                action="deadline.escalate",
                obj=case,
                data={"deadline": kind.value, "level": level, "due": due.isoformat()},
            )
            case_projections_refresh(case_ids=[case.pk])
            webhook_emit(
                case=case,
                event="deadline.breached",
                data={"deadline": kind.value, "level": level, "due": due.isoformat()},
            )
            escalation_mail(escalation_id=escalation.pk)
    except IntegrityError:
        return None  # another worker escalated this level first
    return escalation


def deadlines_out(case: Case) -> list[dict[str, Any]]:
    """The case's deadlines for pages and the API."""
    now = timezone.now()
    rows = []
    for kind in DeadlineKind:
        due = getattr(case, DUE_FIELD[kind])
        met = getattr(case, MET_FIELD[kind])
        rows.append(
            {
                "deadline": kind.value,
                "due": due,
                "met_at": met,
                "breached": bool(due and ((met and met > due) or (not met and now > due))),
            }
        )
    return rows
