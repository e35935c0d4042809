"""Thin tasks: take ids, call the notification service."""

from __future__ import annotations

from celery import shared_task

from modelcvd.notifications.services import timeline_event_notify
from modelcvd.notifications.webhooks import webhook_attempt


@shared_task(acks_late=True)
def notify_timeline_event(event_id: int) -> int:
    return timeline_event_notify(event_id=event_id)


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> None:
    """One attempt; a failure queues the next attempt after the backoff delay."""
    delay = webhook_attempt(delivery_id=delivery_id)
    if delay is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=delay)


@shared_task(acks_late=True)
def notify_escalation(escalation_id: int) -> int:
    from modelcvd.notifications.services import escalation_notify

    return escalation_notify(escalation_id=escalation_id)


@shared_task
def check_deadlines() -> int:
    """Beat: flag breached deadlines and escalate each breach level once."""
    from modelcvd.cases.deadlines import deadline_breaches_escalate

    return len(deadline_breaches_escalate())


@shared_task
def expire_embargoes() -> int:
    """Beat: embargoes whose public date has passed exit."""
    from modelcvd.cases.embargo import embargoes_expire

    return len(embargoes_expire())
