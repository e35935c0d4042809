"""Asking for forensics on two stored artifacts: checked here, run and filed by a worker.

The job itself (compare, probe, file a report) is `forensic_filing.forensic_report_run`, run by
`tasks.forensic_report_task`; it needs the ml extra, so a server without it answers 503 here
rather than queueing a job no worker can run. The tasks module is read at call time, as intake
does, so that tasks -> forensic_filing and this module form no import cycle.
"""

from __future__ import annotations

from django.db import transaction

from modelcvd.accounts.models import User
from modelcvd.artifacts.models import Artifact
from modelcvd.artifacts.selectors import local_dir_of
from modelcvd.artifacts.services import artifact_forensics_request_record
from modelcvd.core.errors import FieldError, Forbidden, InvalidInput
from modelcvd.optional import require_ml
from modelcvd.policy.models import Program
from modelcvd.reports import tasks


def forensic_report_request(
    *, actor: User, program: str, base: Artifact, derived: Artifact
) -> None:
    """Check a request from the web or the API, then queue the comparison and the filing."""
    if not Artifact.objects.allows(actor, derived, "coordinate"):
        raise Forbidden("only coordinators run forensics on stored weights")
    if base.pk == derived.pk:
        raise InvalidInput([FieldError("base_id", "the base must be another artifact")])
    local_dir_of(base, "base_id")
    local_dir_of(derived, "artifact_id")
    if not Program.objects.filter(slug=program, accepts_reports=True).exists():
        raise InvalidInput([FieldError("program", "no program with this slug accepts reports")])
    # A valid request, but the worker beside this server (it reads the same local copies) must
    # have the ml extra: answer 503 now rather than queue a job that cannot run.
    require_ml("weight forensics")
    artifact_forensics_request_record(actor=actor, base=base, derived=derived, program=program)
    transaction.on_commit(
        lambda: tasks.forensic_report_task.delay(actor.pk, program, base.pk, derived.pk)
    )
