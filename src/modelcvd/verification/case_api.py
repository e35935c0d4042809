"""The case as the API shows it, whole: its fields, its timeline as the caller may see it, its
policy state and the held-out aggregates of its verification runs; and the operations that
answer with it (detail, transition, score, waiting, extensions, embargo, merge). They are
composed here, the highest app whose data the whole case shows; cases.api keeps the rest."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from modelcvd.accounts.auth import API_AUTH, api_user
from modelcvd.accounts.models import TokenScope, User
from modelcvd.accounts.scopes import token_scope
from modelcvd.cases.api import case_brief, case_policy_out
from modelcvd.cases.models import Case
from modelcvd.cases.schemas import (
    CaseDetailOut,
    CaseOut,
    ConflictOut,
    EmbargoIn,
    ExtensionDecisionIn,
    ExtensionIn,
    ScoreIn,
    TransitionIn,
    WaitingIn,
)
from modelcvd.cases.selectors import case_access, case_get_visible
from modelcvd.cases.services import (
    FixedVersion,
    case_score,
    case_transition,
    case_waiting_set,
    embargo_apply,
    extension_decide,
    extension_request,
)
from modelcvd.cases.workflow import CaseState, targets_for
from modelcvd.reports.dedup_api import MergeConflictOut, MergeIn
from modelcvd.reports.services import case_merge
from modelcvd.verification.holdout import benchmark_aggregate, timeline_visible
from modelcvd.verification.selectors import measured_reproducibility

router = Router(tags=["cases"], auth=API_AUTH)


def case_out(case: Case, actor: User) -> dict[str, Any]:
    access = case_access(actor=actor, case=case)
    # A reporter sees the case's own reports only, never another reporter's in a merged case.
    reports = (
        case.reports.all()
        if access.staff or access.vendor
        else case.reports.filter(reporter_id=actor.pk)
    )
    return {
        **case_brief(case),
        "allowed_transitions": targets_for(
            CaseState(case.state), staff=access.staff, vendor=access.vendor
        ),
        "report_ids": [r.pk for r in reports],
        "artifact_ids": [a.pk for a in case.artifacts.all()],
        "vendor_notified_at": case.vendor_notified_at,
        "merged_into_id": case.merged_into_id,
        "fixes": [
            {"artifact_id": f.artifact_id, "fixed_by_id": f.fixed_by_id, "stated_at": f.stated_at}
            for f in case.fixes.all()
        ],
        "timeline": [
            {
                "case_id": e.case_id,
                "at": e.at,
                "actor": e.actor.public_name if e.actor else "system",
                "kind": e.kind,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "reason": e.reason,
            }
            for e in timeline_visible(actor=actor, case=case)
        ],
        **case_policy_out(case),
        "benchmark": benchmark_aggregate(case=case),
    }


@router.get("/cases/{case_id}", response=CaseDetailOut, summary="One case with its timeline")
@token_scope(TokenScope.READ)
def case_detail(request: HttpRequest, case_id: int) -> dict[str, Any]:
    return case_out(case_get_visible(actor=api_user(request), case_id=case_id), api_user(request))


@router.post(
    "/cases/{case_id}/transition",
    response={200: CaseDetailOut, 409: ConflictOut},
    summary="Move a case; 409 lists the allowed targets",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def transition(request: HttpRequest, case_id: int, body: TransitionIn) -> dict[str, Any]:
    fixed = body.fixed_version
    case = case_transition(
        case_id=case_id,
        actor=api_user(request),
        to=body.to.value,
        reason=body.reason,
        fixed_version=None
        if fixed is None
        else FixedVersion(
            revision=fixed.revision,
            version_label=fixed.version_label,
            weights_digest=fixed.weights_digest,
            artifact_id=fixed.artifact,
        ),
        override_reason=body.override_reason,
    )
    return case_out(case, api_user(request))


@router.put(
    "/cases/{case_id}/score",
    response=CaseDetailOut,
    summary="Score a case: CVSS 4.0, the AI rubric and SSVC; sets the tier and the deadlines",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def score(request: HttpRequest, case_id: int, body: ScoreIn) -> dict[str, Any]:
    user = api_user(request)
    case = case_score(
        case_id=case_id,
        actor=user,
        measured=measured_reproducibility(case_id=case_id),
        cvss_vector=body.cvss_vector,
        rubric=body.rubric.dict(),
        ssvc_triage=body.ssvc_triage,
        ssvc_publish=body.ssvc_publish,
    )
    return case_out(case, user)


@router.post(
    "/cases/{case_id}/waiting",
    response=CaseDetailOut,
    summary="Start or stop waiting on the reporter (the deadline clocks stop while waiting)",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def waiting(request: HttpRequest, case_id: int, body: WaitingIn) -> dict[str, Any]:
    user = api_user(request)
    case = case_waiting_set(case_id=case_id, actor=user, waiting=body.waiting, reason=body.reason)
    return case_out(case, user)


@router.post(
    "/cases/{case_id}/extensions",
    response={201: CaseDetailOut},
    summary="Ask for a deadline extension (a reason is required)",
)
@token_scope(TokenScope.READ, one_of=(TokenScope.SUBMIT, TokenScope.TRIAGE))
def extension_create(
    request: HttpRequest, case_id: int, body: ExtensionIn
) -> Status[dict[str, Any]]:
    user = api_user(request)
    extension_request(
        case_id=case_id, actor=user, deadline=body.deadline, days=body.days, reason=body.reason
    )
    return Status(201, case_out(case_get_visible(actor=user, case_id=case_id), user))


@router.post(
    "/cases/{case_id}/extensions/{extension_id}/decision",
    response=CaseDetailOut,
    summary="Approve or deny an extension request",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def extension_decision(
    request: HttpRequest, case_id: int, extension_id: int, body: ExtensionDecisionIn
) -> dict[str, Any]:
    user = api_user(request)
    extension_decide(
        case_id=case_id,
        extension_id=extension_id,
        actor=user,
        approve=body.approve,
        reason=body.reason,
    )
    return case_out(case_get_visible(actor=user, case_id=case_id), user)


@router.post(
    "/cases/{case_id}/embargo",
    response=CaseDetailOut,
    summary="Embargo: propose, agree (each vendor), revise or exit",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def embargo(request: HttpRequest, case_id: int, body: EmbargoIn) -> dict[str, Any]:
    user = api_user(request)
    embargo_apply(
        case_id=case_id,
        actor=user,
        action=body.action,
        public_date=body.public_date,
        reason=body.reason,
    )
    return case_out(case_get_visible(actor=user, case_id=case_id), user)


@router.post(
    "/cases/{case_id}/merge",
    response={200: CaseOut, 409: MergeConflictOut},
    summary="Merge a duplicate case into this one (its reports move here; both timelines kept)",
    tags=["duplicates"],
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def merge(request: HttpRequest, case_id: int, body: MergeIn) -> dict[str, Any]:
    actor = api_user(request)
    target = case_get_visible(actor=actor, case_id=case_id)
    source = case_get_visible(actor=actor, case_id=body.source_case_id)
    merged = case_merge(source=source, target=target, actor=actor, reason=body.reason)
    return case_out(case_get_visible(actor=actor, case_id=merged.pk), actor)
