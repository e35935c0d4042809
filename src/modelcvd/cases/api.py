"""Case endpoints: list, triage queue, detail with timeline, transition, comments."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from modelcvd.accounts.auth import API_AUTH, api_user, require_any_scope, require_scope
from modelcvd.accounts.models import TokenScope, User
from modelcvd.cases.models import Case
from modelcvd.cases.schemas import (
    CaseBrief,
    CaseDetailOut,
    CommentIn,
    CommentOut,
    ConflictOut,
    EmbargoIn,
    ExtensionDecisionIn,
    ExtensionIn,
    ScoreIn,
    TransitionIn,
    WaitingIn,
)
from modelcvd.cases.selectors import (
    case_access,
    case_get_visible,
    case_list_visible,
    comments_visible,
    triage_queue,
)
from modelcvd.cases.services import (
    case_score,
    case_transition,
    case_waiting_set,
    comment_add,
    deadlines_out,
    embargo_apply,
    embargo_out,
    extension_decide,
    extension_request,
    severity_out,
)
from modelcvd.cases.workflow import CaseState, targets_for
from modelcvd.policy.holdout import benchmark_aggregate, timeline_visible

router = Router(tags=["cases"], auth=API_AUTH)


def case_brief(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "title": case.title,
        "program": case.program.slug,
        "state": case.state,
        "created_at": case.created_at,
    }


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
    }


def case_policy_out(case: Case) -> dict[str, Any]:
    """Severity, deadlines, extensions, embargo and held-out aggregates of a case."""
    return {
        "severity": severity_out(case),
        "deadlines": deadlines_out(case),
        "waiting_on_reporter_since": case.waiting_on_reporter_since,
        "extensions": [
            {
                "id": x.pk,
                "deadline": x.deadline,
                "days": x.days,
                "reason": x.reason,
                "state": x.state,
                "requested_by": x.requested_by.public_name,
                "requested_at": x.requested_at,
                "decision_reason": x.decision_reason,
            }
            for x in case.extensions.select_related("requested_by")
        ],
        "embargo": embargo_out(case),
        "benchmark": benchmark_aggregate(case=case),
    }


def comment_out(comment: Any) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "author": comment.author.public_name,
        "body": comment.body,
        "visibility": comment.visibility,
        "created_at": comment.created_at,
    }


@router.get("/cases", response=list[CaseBrief], summary="Cases visible to me")
def case_list(request: HttpRequest) -> list[dict[str, Any]]:
    require_scope(request, TokenScope.READ)
    return [case_brief(c) for c in case_list_visible(actor=api_user(request))]


@router.get(
    "/triage/queue", response=list[CaseBrief], summary="Cases waiting on triage, oldest first"
)
def queue(request: HttpRequest) -> list[dict[str, Any]]:
    require_scope(request, TokenScope.TRIAGE)
    return [case_brief(c) for c in triage_queue(actor=api_user(request))]


@router.get("/cases/{case_id}", response=CaseDetailOut, summary="One case with its timeline")
def case_detail(request: HttpRequest, case_id: int) -> dict[str, Any]:
    require_scope(request, TokenScope.READ)
    return case_out(case_get_visible(actor=api_user(request), case_id=case_id), api_user(request))


@router.post(
    "/cases/{case_id}/transition",
    response={200: CaseDetailOut, 409: ConflictOut},
    summary="Move a case; 409 lists the allowed targets",
)
def transition(request: HttpRequest, case_id: int, body: TransitionIn) -> dict[str, Any]:
    require_scope(request, TokenScope.TRIAGE)
    case = case_transition(
        case_id=case_id, actor=api_user(request), to=body.to.value, reason=body.reason
    )
    return case_out(case, api_user(request))


@router.get("/cases/{case_id}/comments", response=list[CommentOut], summary="Comments I may read")
def comments(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    require_scope(request, TokenScope.READ)
    case = case_get_visible(actor=api_user(request), case_id=case_id)
    access = case_access(actor=api_user(request), case=case)
    return [
        comment_out(c) for c in comments_visible(case=case, actor=api_user(request), access=access)
    ]


@router.post("/cases/{case_id}/comments", response={201: CommentOut}, summary="Add a comment")
def comment_create(request: HttpRequest, case_id: int, body: CommentIn) -> Status[dict[str, Any]]:
    require_any_scope(request, TokenScope.SUBMIT, TokenScope.TRIAGE)
    comment = comment_add(
        case_id=case_id, actor=api_user(request), body=body.body, visibility=body.visibility
    )
    return Status(201, comment_out(comment))


@router.put(
    "/cases/{case_id}/score",
    response=CaseDetailOut,
    summary="Score a case: CVSS 4.0, the AI rubric and SSVC; sets the tier and the deadlines",
)
def score(request: HttpRequest, case_id: int, body: ScoreIn) -> dict[str, Any]:
    require_scope(request, TokenScope.TRIAGE)
    user = api_user(request)
    case = case_score(
        case_id=case_id,
        actor=user,
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
def waiting(request: HttpRequest, case_id: int, body: WaitingIn) -> dict[str, Any]:
    require_scope(request, TokenScope.TRIAGE)
    user = api_user(request)
    case = case_waiting_set(case_id=case_id, actor=user, waiting=body.waiting, reason=body.reason)
    return case_out(case, user)


@router.post(
    "/cases/{case_id}/extensions",
    response={201: CaseDetailOut},
    summary="Ask for a deadline extension (a reason is required)",
)
def extension_create(
    request: HttpRequest, case_id: int, body: ExtensionIn
) -> Status[dict[str, Any]]:
    require_any_scope(request, TokenScope.SUBMIT, TokenScope.TRIAGE)
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
def extension_decision(
    request: HttpRequest, case_id: int, extension_id: int, body: ExtensionDecisionIn
) -> dict[str, Any]:
    require_scope(request, TokenScope.TRIAGE)
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
def embargo(request: HttpRequest, case_id: int, body: EmbargoIn) -> dict[str, Any]:
    require_any_scope(request, TokenScope.SUBMIT, TokenScope.TRIAGE)
    user = api_user(request)
    embargo_apply(
        case_id=case_id,
        actor=user,
        action=body.action,
        public_date=body.public_date,
        reason=body.reason,
    )
    return case_out(case_get_visible(actor=user, case_id=case_id), user)
