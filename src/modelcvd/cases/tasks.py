"""Tasks of cases: the beat tasks (thin, they call the case services) and, re-exported for the
worker's autodiscovery, the mail tasks of cases.mail."""

from __future__ import annotations

from celery import shared_task

from modelcvd.cases.mail import (
    notify_comment,
    notify_escalation,
    notify_timeline_event,
    notify_vendor_notice,
)
from modelcvd.cases.services import deadline_breaches_escalate, embargoes_expire

__all__ = [
    "check_deadlines",
    "expire_embargoes",
    "notify_comment",
    "notify_escalation",
    "notify_timeline_event",
    "notify_vendor_notice",
]


@shared_task
def check_deadlines() -> int:
    """Beat: flag breached deadlines and escalate each breach level once."""
    return len(deadline_breaches_escalate())


@shared_task
def expire_embargoes() -> int:
    """Beat: embargoes whose public date has passed exit."""
    return len(embargoes_expire())
