"""Celery beat checkpoints the audit chain (settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from modelcvd.anchoring.services import audit_checkpoint


@shared_task(name="modelcvd.anchoring.tasks.audit_checkpoint_task")
def audit_checkpoint_task() -> int:
    """Anchor the audit chain's head; returns the checkpoint's log index."""
    return audit_checkpoint().log_index
