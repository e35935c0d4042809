"""Thin tasks: take ids, call a service (duplicate detection, forensic filing).

forensic_filing submits through intake, which queues through this module: it is imported as a
module and read at call time, so either may be imported first."""

from __future__ import annotations

from celery import shared_task

from modelcvd.reports.services import forensic_filing
from modelcvd.reports.services.dedup import dedup_index_report, dedup_reindex_stale


@shared_task(acks_late=True)
def index_report_payload(report_id: int) -> int:
    """Fingerprint a newly arrived report and propose its duplicates; returns how many."""
    return len(dedup_index_report(report_id=report_id).proposed)


@shared_task(acks_late=True)
def reindex_stale_payloads() -> int:
    """Catch up on reports indexed under an old key or never indexed."""
    return dedup_reindex_stale()


# Loads two models and runs the probe set: the queue of the model-running workers.
@shared_task(queue="verification")
def forensic_report_task(actor_id: int, program: str, base_id: int, derived_id: int) -> int | None:
    """Compare the stored weights, probe both models, file the report if detected."""
    report = forensic_filing.forensic_report_run(
        actor_id=actor_id, program=program, base_id=base_id, derived_id=derived_id
    )
    return report.pk if report else None
