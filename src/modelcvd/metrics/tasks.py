"""Background work for the metrics: refreshing the per-case facts a change invalidates."""

from __future__ import annotations

from celery import shared_task

from modelcvd.cases.models import Case
from modelcvd.metrics.services import case_facts_refresh

CHUNK = 1000


@shared_task
def refresh_program_facts(program_id: int) -> int:
    """A program changed its deadline targets: its cases' compliance facts are recomputed."""
    ids = list(
        Case.objects.filter(program_id=program_id).order_by("pk").values_list("pk", flat=True)
    )
    for start in range(0, len(ids), CHUNK):
        case_facts_refresh(case_ids=ids[start : start + CHUNK])
    return len(ids)
