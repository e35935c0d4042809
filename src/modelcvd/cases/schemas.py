"""API shapes for cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from modelcvd.scoring.rubric import Access
from modelcvd.vocabulary import (
    CaseState,
    CommentVisibility,
    DeadlineKind,
    EmbargoAction,
    VendorCaseStatus,
)


class CaseBrief(Schema):
    id: int
    title: str
    program: str
    state: str
    created_at: datetime


class TimelineEventOut(Schema):
    case_id: int = Field(description="The case the event happened on: a merged-in case's own.")
    at: datetime
    actor: str
    kind: str
    from_state: str
    to_state: str
    reason: str


class CommentOut(Schema):
    id: int
    author: str
    body: str
    visibility: str
    created_at: datetime


class CaseOut(Schema):
    id: int
    title: str
    program: str
    state: str
    allowed_transitions: list[str] = Field(description="States this caller may move the case to.")
    report_ids: list[int]
    artifact_ids: list[int]
    vendor_notified_at: datetime | None
    merged_into_id: int | None = Field(description="Set when this case was merged into another.")
    created_at: datetime
    timeline: list[TimelineEventOut]


class FixedVersionIn(Schema):
    """The version that fixes the case, named when moving it to fix_available."""

    artifact: int | None = Field(
        default=None,
        description="id of the case's artifact this version fixes (may be left out when the "
        "case names one artifact)",
    )
    revision: str = Field(
        default="", max_length=200, description="the fixing version's revision (git commit)"
    )
    version_label: str = Field(default="", max_length=100, description="e.g. v1.1")
    weights_digest: str = Field(
        default="", max_length=71, description="sha256 of its weights (optional)"
    )


class TransitionIn(Schema):
    to: CaseState
    reason: str = Field(min_length=1, max_length=5000)
    fixed_version: FixedVersionIn | None = Field(
        default=None,
        description="required when moving to fix_available: the new version that fixes the "
        "case (registered if it is not known); the advisory lists it as fixed",
    )
    override_reason: str = Field(
        default="",
        max_length=2000,
        description="administrators only: disclose before a live embargo's public date, "
        "saying why (audited, on the timeline); without it such a move answers 409",
    )


class CommentIn(Schema):
    body: str = Field(min_length=1, max_length=20_000)
    visibility: CommentVisibility = Field(
        description="internal (coordinators only), reporter or vendor"
    )
    report: int | None = Field(
        default=None,
        description="for a coordinator's reporter comment on a case with several reports: "
        "the report whose reporter it is for (each reporter reads only their own channel)",
    )


class VendorNotifyIn(Schema):
    organisation: str = Field(
        min_length=1, max_length=100, description="slug of the vendor to tell"
    )
    reason: str = Field(min_length=1, max_length=5000)


class VendorPartyOut(Schema):
    case: int
    organisation: str
    notified_at: datetime


class VendorStatusIn(Schema):
    status: VendorCaseStatus = Field(description="affected, not_affected, fixed or no_response")
    reason: str = Field("", max_length=5000)


class VendorGridRowOut(Schema):
    organisation: str
    name: str
    status: VendorCaseStatus
    status_at: datetime | None
    notified_at: datetime


class ConflictOut(Schema):
    detail: str
    current: str
    allowed: list[str]


class DeadlineOut(Schema):
    deadline: str
    due: datetime | None
    met_at: datetime | None
    breached: bool


class ExtensionOut(Schema):
    id: int
    deadline: str
    days: int
    reason: str
    state: str
    requested_by: str
    requested_at: datetime
    decision_reason: str


class EmbargoOut(Schema):
    state: str
    public_date: datetime
    vendors: list[str] = Field(description="Vendor organisations whose agreement is needed.")
    agreed: list[str] = Field(description="Those that agreed to the current public date.")
    exited_at: datetime | None
    exit_reason: str


class SeverityOut(Schema):
    tier: str | None = Field(description="The AI rubric's tier: it keys the deadlines.")
    cvss_vector: str | None
    cvss_score: float | None
    cvss_severity: str | None
    rubric: dict[str, Any] | None
    ssvc: dict[str, Any] | None
    explanation: str
    scored_at: datetime | None
    ssvc_tables: list[str]


class BenchmarkRowOut(Schema):
    harm_category: str
    items: int
    reported_successes: int
    reported_trials: int
    reported_rate: float | None
    measured_successes: int
    measured_trials: int
    measured_rate: float | None


class FixOut(Schema):
    artifact_id: int = Field(description="the case's artifact the version fixes")
    fixed_by_id: int = Field(description="the fixing version (an artifact)")
    stated_at: datetime


class CaseDetailOut(CaseOut):
    fixes: list[FixOut] = Field(
        default=[], description="The fixing versions named at the fix-available step."
    )
    severity: SeverityOut
    deadlines: list[DeadlineOut]
    waiting_on_reporter_since: datetime | None
    extensions: list[ExtensionOut]
    embargo: EmbargoOut | None
    benchmark: list[BenchmarkRowOut] = Field(
        description="Per harm category aggregates over held-out benchmark items (never the items)."
    )


class RubricIn(Schema):
    access: Access
    harm_category: str | None = Field(None, max_length=40, description="Default: the report's.")
    reproducibility: float | None = Field(
        None,
        description="Used only when no verification run has finished: the latest run's Wilson "
        "lower bound takes precedence, then the reported trials' lower bound.",
    )
    reach: int | None = Field(None, description="Default: the case's artifacts.")
    patchable: bool | None = Field(None, description="Default: false when open weights.")
    models_affected: int | None = None
    vendors_affected: int | None = None


class ScoreIn(Schema):
    cvss_vector: str = Field("", max_length=300, description="A CVSS 4.0 vector; empty for none.")
    rubric: RubricIn
    ssvc_triage: dict[str, str] | None = Field(
        None,
        description="CERT/CC Coordinator Triage decision points: report_public, "
        "supplier_contacted, report_credibility, supplier_cardinality, supplier_engagement, "
        "utility, public_safety_impact (value keys or names).",
    )
    ssvc_publish: dict[str, str] | None = Field(
        None,
        description="CERT/CC Coordinator Publish decision points: supplier_involvement, "
        "exploitation, public_value_added.",
    )


class WaitingIn(Schema):
    waiting: bool
    reason: str = Field(min_length=1, max_length=5000)


class ExtensionIn(Schema):
    deadline: DeadlineKind
    days: int = Field(ge=1, le=180)
    reason: str = Field(min_length=1, max_length=5000)


class ExtensionDecisionIn(Schema):
    approve: bool
    reason: str = Field(min_length=1, max_length=5000)


class EmbargoIn(Schema):
    action: EmbargoAction
    public_date: datetime | None = Field(None, description="For propose and revise.")
    reason: str = Field("", max_length=5000)
