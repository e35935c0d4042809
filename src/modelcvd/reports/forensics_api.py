"""The forensic-report operation: it sits under /artifacts/ (it is asked of an artifact), but
filing a report is this app's job, so the operation is declared here."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from modelcvd.accounts.auth import API_AUTH, api_actor, api_user
from modelcvd.accounts.models import TokenScope
from modelcvd.accounts.scopes import token_scope
from modelcvd.artifacts.selectors import artifact_get_visible
from modelcvd.reports.services.forensics import forensic_report_request

router = Router(tags=["artifacts"])


class ForensicReportIn(Schema):
    base_id: int = Field(description="The artifact the derived one is compared with.")
    program: str = Field(min_length=1, max_length=100, description="Program to file under.")


class QueuedOut(Schema):
    queued: bool
    detail: str


@router.post(
    "/artifacts/{artifact_id}/forensic-report",
    response={202: QueuedOut},
    auth=API_AUTH,
    summary="Compare with a base; file a report if safety-stripped",
)
@token_scope(TokenScope.TRIAGE)
def forensic_report(
    request: HttpRequest, artifact_id: int, body: ForensicReportIn
) -> Status[dict[str, object]]:
    """Queues weight forensics and the refusal probe on the stored copies of both artifacts;
    a report is filed against this artifact when it is found safety-stripped."""
    actor = api_actor(request)
    derived = artifact_get_visible(actor=actor, artifact_id=artifact_id)
    base = artifact_get_visible(actor=actor, artifact_id=body.base_id)
    forensic_report_request(
        actor=api_user(request), program=body.program, base=base, derived=derived
    )
    return Status(202, {"queued": True, "detail": "forensics queued; a report follows if detected"})
