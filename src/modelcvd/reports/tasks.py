"""Thin tasks: take ids, call the duplicate-detection service."""

from __future__ import annotations

from celery import shared_task

from modelcvd.reports.services.dedup import dedup_index_report, dedup_reindex_stale


@shared_task(acks_late=True)
def index_report_payload(report_id: int) -> int:
    """Fingerprint a newly arrived report and propose its duplicates; returns how many."""
    return len(dedup_index_report(report_id=report_id).proposed)


@shared_task(acks_late=True)
def reindex_stale_payloads() -> int:
    """Catch up on reports indexed under an old key or never indexed."""
    return dedup_reindex_stale()
