"""Every write on a case, each in one transaction with its timeline entry, its audit event and
the refresh of the case's metrics facts; side effects (webhooks, mail) are queued on commit.

One module per concern: transitions (open, move, comment), vendors (who was told), deadlines (due dates, waiting,
extensions, escalation), embargo, merge, scoring. Import from this package; the modules are
an implementation detail. The `*_out` functions are reads that shape a case's deadlines,
embargo and severity for pages and the API.
"""

from modelcvd.cases.services.deadlines import (
    case_deadlines_refresh,
    case_waiting_set,
    deadline_breaches_escalate,
    deadlines_out,
    extension_decide,
    extension_request,
    open_deadlines,
)
from modelcvd.cases.services.embargo import (
    embargo_agree,
    embargo_apply,
    embargo_exit,
    embargo_guard,
    embargo_out,
    embargo_propose,
    embargo_revise,
    embargoes_expire,
)
from modelcvd.cases.services.inbox import case_seen_mark
from modelcvd.cases.services.measure import case_measurement_record, case_regression_reopen
from modelcvd.cases.services.merge import MergeConflict, case_merge
from modelcvd.cases.services.scoring import case_score, severity_out
from modelcvd.cases.services.transitions import (
    FixedVersion,
    case_open,
    case_transition,
    comment_add,
)
from modelcvd.cases.services.vendors import (
    case_vendor_notify,
    case_vendor_status_set,
    vendors_untold,
)

__all__ = [
    "FixedVersion",
    "MergeConflict",
    "case_deadlines_refresh",
    "case_measurement_record",
    "case_merge",
    "case_open",
    "case_regression_reopen",
    "case_score",
    "case_seen_mark",
    "case_transition",
    "case_vendor_notify",
    "case_vendor_status_set",
    "case_waiting_set",
    "comment_add",
    "deadline_breaches_escalate",
    "deadlines_out",
    "embargo_agree",
    "embargo_apply",
    "embargo_exit",
    "embargo_guard",
    "embargo_out",
    "embargo_propose",
    "embargo_revise",
    "embargoes_expire",
    "extension_decide",
    "extension_request",
    "open_deadlines",
    "severity_out",
    "vendors_untold",
]
