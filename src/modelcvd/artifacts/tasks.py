"""Background jobs of the artifacts app: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from modelcvd.artifacts.forensic_filing import forensic_report_run


# Loads two models and runs the probe set: the queue of the model-running workers.
@shared_task(queue="verification")
def forensic_report_task(actor_id: int, program: str, base_id: int, derived_id: int) -> int | None:
    """Compare the stored weights, probe both models, file the report if detected."""
    report = forensic_report_run(
        actor_id=actor_id, program=program, base_id=base_id, derived_id=derived_id
    )
    return report.pk if report else None
