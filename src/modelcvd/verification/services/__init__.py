"""Writes of verification: runs requested, queued and cancelled (runs), executed by workers
(execution), and the reporter's re-verification of a fix (reverify). Import from this package.
"""

from modelcvd.verification.services.attestation import (
    attestation_export,
    attestation_issue,
)
from modelcvd.verification.services.execution import (
    RunCancelled,
    run_chunks,
    run_execute,
    run_execute_chunk,
    runs_stalled,
    verification_queue,
)
from modelcvd.verification.services.reverify import (
    AFTER_FIX,
    FixNotAnnounced,
    fix_opinion_record,
    fixed_versions,
    reverification_request,
)
from modelcvd.verification.services.runs import (
    JUDGES,
    MAX_TRIALS,
    check_target,
    run_cancel,
    run_create,
    run_request,
)

__all__ = [
    "AFTER_FIX",
    "JUDGES",
    "MAX_TRIALS",
    "FixNotAnnounced",
    "RunCancelled",
    "attestation_export",
    "attestation_issue",
    "check_target",
    "fix_opinion_record",
    "fixed_versions",
    "reverification_request",
    "run_cancel",
    "run_chunks",
    "run_create",
    "run_execute",
    "run_execute_chunk",
    "run_request",
    "runs_stalled",
    "verification_queue",
]
