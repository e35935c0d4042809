"""E-mail about case events: the reporters hear that their case moved, an escalation reaches
its recipients. Queued by the case services inside their transaction and sent after commit by
the tasks below, through notifications.mail (plain text).

The mail tasks live here, not in cases.tasks: cases.tasks runs the case services (beat), and
those services queue these mails, so keeping the tasks apart keeps the import graph acyclic
(tasks -> services -> mail). cases.tasks re-exports them for the worker's autodiscovery.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import transaction

from modelcvd.cases.models import Escalation, TimelineEvent
from modelcvd.notifications.mail import mail_send


def timeline_event_notify(*, event_id: int) -> int:
    """Tell the case's reporters that their case moved. Returns the number of mails sent."""
    event = TimelineEvent.objects.select_related("case").filter(pk=event_id).first()
    if event is None or event.kind != TimelineEvent.Kind.TRANSITION:
        return 0
    case = event.case
    recipients = sorted(
        {r.reporter.email for r in case.reports.select_related("reporter") if r.reporter.email}
    )
    body = (
        f"Case #{case.pk} moved from {event.from_state} to {event.to_state}.\n\n"
        f"Reason: {event.reason}\n\n{settings.BASE_URL}/cases/{case.pk}/\n"
    )
    return mail_send(
        recipients=recipients,
        subject=f"[modelcvd] Case #{case.pk}: {event.to_state.replace('_', ' ')}",
        body=body,
    )


def escalation_notify(*, escalation_id: int) -> int:
    """Mail one escalation to its recipients. Plain text; no report content beyond the title."""
    escalation = Escalation.objects.select_related("case").filter(pk=escalation_id).first()
    if escalation is None or not escalation.recipients:
        return 0
    case = escalation.case
    level = Escalation.Level(escalation.level).label.lower()
    body = (
        f"The {escalation.deadline} deadline of case #{case.pk} ({case.title}) was due "
        f"{escalation.due_at:%Y-%m-%d %H:%M} UTC and has not been met.\n\n"
        f"This is escalation level {escalation.level} ({level}).\n\n"
        f"{settings.BASE_URL}/cases/{case.pk}/\n"
    )
    return mail_send(
        recipients=escalation.recipients,
        subject=f"[modelcvd] Case #{case.pk}: {escalation.deadline} deadline breached",
        body=body,
    )


@shared_task(acks_late=True)
def notify_timeline_event(event_id: int) -> int:
    return timeline_event_notify(event_id=event_id)


@shared_task(acks_late=True)
def notify_escalation(escalation_id: int) -> int:
    return escalation_notify(escalation_id=escalation_id)


def timeline_event_mail(*, event_id: int) -> None:
    """Mail the case's reporters about this timeline event once the transaction commits."""
    transaction.on_commit(lambda: notify_timeline_event.delay(event_id))


def escalation_mail(*, escalation_id: int) -> None:
    """Mail this escalation to its recipients once the transaction commits."""
    transaction.on_commit(lambda: notify_escalation.delay(escalation_id))
