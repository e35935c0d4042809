"""Writes of verification: runs requested, queued and cancelled, and transfer matrices (runs),
executed by workers (execution), the reporter's re-verification of a fix (reverify), and the
target registry (targets). Import from this package.
"""

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
    matrix_request,
    matrix_vendor_bring_in,
    run_cancel,
    run_create,
    run_request,
)
from modelcvd.verification.services.targets import (
    target_credential_open,
    target_offer,
    target_register,
    target_retire,
)

__all__ = [
    "AFTER_FIX",
    "JUDGES",
    "MAX_TRIALS",
    "FixNotAnnounced",
    "RunCancelled",
    "check_target",
    "fix_opinion_record",
    "fixed_versions",
    "matrix_request",
    "matrix_vendor_bring_in",
    "reverification_request",
    "run_cancel",
    "run_chunks",
    "run_create",
    "run_execute",
    "run_execute_chunk",
    "run_request",
    "runs_stalled",
    "target_credential_open",
    "target_offer",
    "target_register",
    "target_retire",
    "verification_queue",
]
