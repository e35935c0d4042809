"""Background work for the metrics: refreshing the per-case facts a change invalidates."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from modelcvd.metrics.services import program_facts_refresh


@shared_task
def refresh_program_facts(program_id: int) -> int:
    return program_facts_refresh(program_id=program_id)


def program_facts_refresh_queue(*, program_id: int) -> None:
    """Refresh a program's facts in the background once the caller's transaction commits: a
    program may hold many cases, more than a request should wait for."""
    transaction.on_commit(lambda: refresh_program_facts.delay(program_id))
