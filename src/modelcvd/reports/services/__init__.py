"""Writes on reports, each with its audit event: intake (submit, abstract-first scope and
payload), attachments, duplicate detection and merging duplicate cases, and the reports that weight
forensics files. Import the services from this package.
"""

from modelcvd.reports.services.attachments import attachment_add, attachment_open
from modelcvd.reports.services.dedup import (
    dedup_index_report,
    dedup_reindex_stale,
    dedup_seed_demo,
    duplicate_dismiss,
)
from modelcvd.reports.services.forensic_filing import forensic_report_file, forensic_report_run
from modelcvd.reports.services.forensics import forensic_report_request
from modelcvd.reports.services.intake import (
    PAYLOAD_PURPOSE,
    follow_up_reply,
    report_payload_add,
    report_payload_open,
    report_scope_decide,
    report_submit,
    report_submit_abstract,
    report_submit_anonymous,
)
from modelcvd.reports.services.merge import case_merge

__all__ = [
    "PAYLOAD_PURPOSE",
    "attachment_add",
    "attachment_open",
    "case_merge",
    "dedup_index_report",
    "dedup_reindex_stale",
    "dedup_seed_demo",
    "duplicate_dismiss",
    "follow_up_reply",
    "forensic_report_file",
    "forensic_report_request",
    "forensic_report_run",
    "report_payload_add",
    "report_payload_open",
    "report_scope_decide",
    "report_submit",
    "report_submit_abstract",
    "report_submit_anonymous",
]
