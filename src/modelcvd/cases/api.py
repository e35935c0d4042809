"""Case endpoints: list, triage queue, comments. The operations that answer with the whole case
(detail, transition, score, waiting, extensions, embargo) are verification.case_api's: the whole
case shows verification runs' data, which this app cannot import."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from modelcvd.accounts.auth import API_AUTH, api_user
from modelcvd.accounts.models import TokenScope
from modelcvd.accounts.scopes import scope_narrow, token_scope
from modelcvd.cases.models import Case, CaseVendor
from modelcvd.cases.schemas import (
    CaseBrief,
    CommentIn,
    CommentOut,
    VendorGridRowOut,
    VendorNotifyIn,
    VendorPartyOut,
    VendorStatusIn,
)
from modelcvd.cases.selectors import (
    case_access,
    case_get_visible,
    case_list_visible,
    case_vendor_grid,
    comments_visible,
    triage_queue,
)
from modelcvd.cases.services import (
    case_vendor_notify,
    case_vendor_status_set,
    comment_add,
    deadlines_out,
    embargo_out,
    severity_out,
)
from modelcvd.vocabulary import CommentVisibility

router = Router(tags=["cases"], auth=API_AUTH)


def case_brief(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "title": case.title,
        "program": case.program.slug,
        "state": case.state,
        "created_at": case.created_at,
    }


def case_policy_out(case: Case) -> dict[str, Any]:
    """Severity, deadlines, extensions and embargo of a case."""
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
@token_scope(TokenScope.READ)
def case_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [case_brief(c) for c in case_list_visible(actor=api_user(request))]


@router.get(
    "/triage/queue", response=list[CaseBrief], summary="Cases waiting on triage, oldest first"
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def queue(request: HttpRequest) -> list[dict[str, Any]]:
    return [case_brief(c) for c in triage_queue(actor=api_user(request))]


@router.get("/cases/{case_id}/comments", response=list[CommentOut], summary="Comments I may read")
@token_scope(TokenScope.READ)
def comments(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    case = case_get_visible(actor=api_user(request), case_id=case_id)
    access = case_access(actor=api_user(request), case=case)
    return [
        comment_out(c) for c in comments_visible(case=case, actor=api_user(request), access=access)
    ]


@router.post("/cases/{case_id}/comments", response={201: CommentOut}, summary="Add a comment")
@token_scope(one_of=(TokenScope.SUBMIT, TokenScope.TRIAGE))
def comment_create(request: HttpRequest, case_id: int, body: CommentIn) -> Status[dict[str, Any]]:
    if body.visibility != CommentVisibility.REPORTER:
        # The coordinators' and the vendors' channels are case work, not a reporter's writing.
        scope_narrow(request, TokenScope.TRIAGE, f"{body.visibility.value} comments")
    comment = comment_add(
        case_id=case_id,
        actor=api_user(request),
        body=body.body,
        visibility=body.visibility,
        report_id=body.report,
    )
    return Status(201, comment_out(comment))


@router.post(
    "/cases/{case_id}/vendors",
    response={201: VendorPartyOut},
    summary="Notify one more vendor of the case (coordinators)",
)
@token_scope(TokenScope.TRIAGE)
def vendor_notify(
    request: HttpRequest, case_id: int, body: VendorNotifyIn
) -> Status[dict[str, Any]]:
    party = case_vendor_notify(
        case_id=case_id, actor=api_user(request), organisation=body.organisation, reason=body.reason
    )
    return Status(
        201,
        {"case": case_id, "organisation": body.organisation, "notified_at": party.notified_at},
    )


def vendor_row_out(party: CaseVendor) -> dict[str, Any]:
    return {
        "organisation": party.organisation.slug,
        "name": party.organisation.name,
        "status": party.status,
        "status_at": party.status_at,
        "notified_at": party.notified_at,
    }


@router.get(
    "/cases/{case_id}/vendors",
    response=list[VendorGridRowOut],
    summary="The vendor grid: each vendor party's own status in the case",
)
@token_scope(TokenScope.READ)
def vendor_grid(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    return [vendor_row_out(p) for p in case_vendor_grid(actor=api_user(request), case_id=case_id)]


@router.post(
    "/cases/{case_id}/vendors/{organisation}/status",
    response=VendorGridRowOut,
    summary="State a vendor's status in the case (its members or the coordinators)",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def vendor_status(
    request: HttpRequest, case_id: int, organisation: str, body: VendorStatusIn
) -> dict[str, Any]:
    party = case_vendor_status_set(
        case_id=case_id,
        organisation=organisation,
        status=body.status.value,
        actor=api_user(request),
        reason=body.reason,
    )
    return vendor_row_out(party)
