"""Beat tasks of cases: thin, they call the case services."""

from __future__ import annotations

from celery import shared_task

from modelcvd.cases.services import deadline_breaches_escalate, embargoes_expire


@shared_task
def check_deadlines() -> int:
    """Beat: flag breached deadlines and escalate each breach level once."""
    return len(deadline_breaches_escalate())


@shared_task
def expire_embargoes() -> int:
    """Beat: embargoes whose public date has passed exit."""
    return len(embargoes_expire())
