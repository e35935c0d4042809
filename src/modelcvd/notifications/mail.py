"""E-mail about case events, sent by notifications.tasks (queued by notifications.services).
Plain text only: report text is hostile, and plain text cannot carry script or markup into a
mail client."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from modelcvd.cases.models import Escalation, TimelineEvent


def timeline_event_notify(*, event_id: int) -> int:
    """Tell the case's reporters that their case moved. Returns the number of mails sent."""
    event = TimelineEvent.objects.select_related("case").filter(pk=event_id).first()
    if event is None or event.kind != TimelineEvent.Kind.TRANSITION:
        return 0
    case = event.case
    recipients = sorted(
        {r.reporter.email for r in case.reports.select_related("reporter") if r.reporter.email}
    )
    if not recipients:
        return 0
    body = (
        f"Case #{case.pk} moved from {event.from_state} to {event.to_state}.\n\n"
        f"Reason: {event.reason}\n\n{settings.BASE_URL}/cases/{case.pk}/\n"
    )
    return send_mail(
        subject=f"[modelcvd] Case #{case.pk}: {event.to_state.replace('_', ' ')}",
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
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
    return send_mail(
        subject=f"[modelcvd] Case #{case.pk}: {escalation.deadline} deadline breached",
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=list(escalation.recipients),
    )
