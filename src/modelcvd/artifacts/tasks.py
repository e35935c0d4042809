"""Background jobs of the artifacts app: thin, they take ids and call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from modelcvd.accounts.models import User
from modelcvd.artifacts.models import Artifact
from modelcvd.core.errors import InvalidInput

log = logging.getLogger(__name__)


# Loads two models and runs the probe set: the queue of the model-running workers.
@shared_task(queue="verification")
def forensic_report_task(actor_id: int, program: str, base_id: int, derived_id: int) -> int | None:
    """Compare the stored weights, probe both models, file the report if detected."""
    from modelcvd.artifacts.forensic_reports import forensic_report_file, local_dir_of
    from modelcvd.forensics.behaviour import compare_behaviour_dirs
    from modelcvd.forensics.weights import compare_dirs

    actor = User.objects.get(pk=actor_id)
    base = Artifact.objects.get(pk=base_id)
    derived = Artifact.objects.get(pk=derived_id)
    base_dir, derived_dir = local_dir_of(base, "base_id"), local_dir_of(derived, "artifact_id")
    comparison = compare_dirs(base_dir, derived_dir)
    behaviour = compare_behaviour_dirs(base_dir, derived_dir)
    try:
        report = forensic_report_file(
            actor=actor,
            program=program,
            base=base,
            derived=derived,
            comparison=comparison,
            behaviour=behaviour,
        )
    except InvalidInput as exc:
        log.warning("forensics on #%s against #%s: no report (%s)", derived_id, base_id, exc)
        return None
    return report.pk
