"""Duplicate proposals, for a case's coordinators only. Merging two cases answers with the whole
case, so its operation is verification.case_api's (the merge itself is reports.services)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from modelcvd.accounts.auth import API_AUTH, api_user
from modelcvd.accounts.models import TokenScope
from modelcvd.accounts.scopes import token_scope
from modelcvd.reports.dedup_selectors import duplicates_for_case
from modelcvd.reports.models import DuplicateCandidate, Report
from modelcvd.reports.services import duplicate_dismiss

router = Router(tags=["duplicates"], auth=API_AUTH)


class ReportRef(Schema):
    id: int
    title: str
    case_id: int
    case_state: str


class DuplicateOut(Schema):
    id: int
    kind: str = Field(description="payload (near-duplicate text) or artifact_technique")
    status: str
    score: float = Field(description="Ranking score in [0, 1].")
    jaccard: float | None = Field(description="MinHash estimate of the shingle Jaccard.")
    edit_ratio: float | None = Field(description="rapidfuzz token-sort ratio, in [0, 1].")
    report: ReportRef = Field(description="The report of this pair that arrived later.")
    candidate: ReportRef
    decision_reason: str


class DismissIn(Schema):
    reason: str = Field(min_length=1, max_length=5000)


class MergeIn(Schema):
    source_case_id: int = Field(description="The duplicate case merged into this one.")
    reason: str = Field(min_length=1, max_length=5000)


class MergeConflictOut(Schema):
    detail: str


def _ref(report: Report) -> dict[str, Any]:
    return {
        "id": report.pk,
        "title": report.title,
        "case_id": report.case_id,
        "case_state": report.case.state,
    }


def duplicate_out(d: DuplicateCandidate) -> dict[str, Any]:
    return {
        "id": d.pk,
        "kind": d.kind,
        "status": d.status,
        "score": d.score,
        "jaccard": d.jaccard,
        "edit_ratio": d.edit_ratio,
        "report": _ref(d.report),
        "candidate": _ref(d.candidate),
        "decision_reason": d.decision_reason,
    }


@router.get(
    "/cases/{case_id}/duplicates",
    response=list[DuplicateOut],
    summary="Possible duplicates of this case's reports (coordinators only)",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def duplicates(
    request: HttpRequest, case_id: int, include_decided: bool = False
) -> list[dict[str, Any]]:
    found = duplicates_for_case(
        actor=api_user(request), case_id=case_id, include_decided=include_decided
    )
    return [duplicate_out(d) for d in found]


@router.post(
    "/cases/{case_id}/duplicates/{duplicate_id}/dismiss",
    response={200: DuplicateOut, 409: MergeConflictOut},
    summary="Not a duplicate: dismiss the proposal",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def dismiss(
    request: HttpRequest, case_id: int, duplicate_id: int, body: DismissIn
) -> dict[str, Any]:
    proposal = duplicate_dismiss(
        case_id=case_id, duplicate_id=duplicate_id, actor=api_user(request), reason=body.reason
    )
    return duplicate_out(
        DuplicateCandidate.objects.select_related("report__case", "candidate__case").get(
            pk=proposal.pk
        )
    )
