"""Report endpoints: submit (the report format), list mine, read one, unseal the payload."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import File, Header, Router, Status
from ninja.files import UploadedFile

from modelcvd.accounts.auth import API_AUTH, api_user
from modelcvd.accounts.models import TokenScope
from modelcvd.accounts.scopes import token_scope
from modelcvd.reports.document import ReportDocument
from modelcvd.reports.holdout import WITHHELD, report_withheld
from modelcvd.reports.models import Attachment, Report
from modelcvd.reports.schemas import (
    AbstractDocument,
    AttachmentOut,
    PayloadIn,
    PayloadOut,
    ReportOut,
    ScopeDecisionIn,
    UnsealIn,
)
from modelcvd.reports.selectors import report_get_visible, report_list_mine
from modelcvd.reports.services import (
    report_payload_add,
    report_payload_open,
    report_scope_decide,
    report_submit,
    report_submit_abstract,
)
from modelcvd.reports.services.attachments import (
    attachment_add,
    attachment_open,
    attachment_response,
)

router = Router(tags=["reports"], auth=API_AUTH)


def report_out(report: Report, actor: Any = None) -> dict[str, Any]:
    """The report as `actor` may read it: a vendor of a held-out benchmark item gets the
    texts that may quote the item replaced by a placeholder, and neither the item's reported
    successes/trials nor its sampling settings (numbers that single out a benchmark item); the
    per-category aggregates are on the case (verification/holdout.py)."""
    out = _report_fields(report)
    if actor is not None and report_withheld(actor=actor, report=report):
        for name in ("expected_behaviour", "observed_behaviour", "impact"):
            out[name] = WITHHELD
        out.update(sampling={}, successes=None, trials=None)
    return out


def _report_fields(report: Report) -> dict[str, Any]:
    return {
        **{
            f: getattr(report, f)
            for f in (
                "id",
                "title",
                "abstract",
                "case_id",
                "owasp",
                "atlas",
                "harm_category",
                "sampling",
                "successes",
                "trials",
                "expected_behaviour",
                "observed_behaviour",
                "impact",
                "created_at",
            )
        },
        "program": report.program.slug,
        "case_state": report.case.state,
        "reporter": report.reporter.public_name,
        "artifacts": list(report.artifacts.all()),
        "intake": report.intake,
        "held_out": report.held_out,
    }


@router.post("/reports", response={201: ReportOut}, summary="Submit a report in the report format")
@token_scope(TokenScope.SUBMIT)
def submit(
    request: HttpRequest,
    document: ReportDocument,
    idempotency_key: str = Header(
        "",
        alias="Idempotency-Key",
        max_length=200,
        description="Retrying with the same key and body returns the first report, never a second one.",
    ),
) -> Status[dict[str, Any]]:
    report = report_submit(
        actor=api_user(request), document=document, idempotency_key=idempotency_key
    )
    return Status(201, report_out(report_get_visible(actor=api_user(request), report_id=report.pk)))


@router.post(
    "/reports/abstract",
    response={201: ReportOut},
    summary="Abstract-first intake: submit the abstract (no payload)",
)
@token_scope(TokenScope.SUBMIT)
def submit_abstract(request: HttpRequest, document: AbstractDocument) -> Status[dict[str, Any]]:
    report = report_submit_abstract(actor=api_user(request), document=document)
    return Status(201, report_out(report_get_visible(actor=api_user(request), report_id=report.pk)))


@router.post(
    "/reports/{report_id}/scope",
    response=ReportOut,
    summary="Abstract-first intake: a triager confirms or refuses scope",
)
@token_scope(TokenScope.TRIAGE, TokenScope.READ)
def scope(request: HttpRequest, report_id: int, body: ScopeDecisionIn) -> dict[str, Any]:
    user = api_user(request)
    report_scope_decide(report_id=report_id, actor=user, in_scope=body.in_scope, reason=body.reason)
    return report_out(report_get_visible(actor=user, report_id=report_id), user)


@router.post(
    "/reports/{report_id}/payload",
    response=ReportOut,
    summary="Abstract-first intake: upload the payload (sealed) once in scope",
)
@token_scope(TokenScope.SUBMIT, TokenScope.READ)
def payload_upload(request: HttpRequest, report_id: int, body: PayloadIn) -> dict[str, Any]:
    user = api_user(request)
    report_payload_add(report_id=report_id, actor=user, reproduction=body.reproduction)
    return report_out(report_get_visible(actor=user, report_id=report_id), user)


@router.get("/reports", response=list[ReportOut], summary="My reports")
@token_scope(TokenScope.READ)
def mine(request: HttpRequest) -> list[dict[str, Any]]:
    reports = report_list_mine(actor=api_user(request)).prefetch_related("artifacts")
    return [report_out(r, api_user(request)) for r in reports.select_related("reporter")]


@router.get("/reports/{report_id}", response=ReportOut, summary="One report (payload stays sealed)")
@token_scope(TokenScope.READ)
def detail(request: HttpRequest, report_id: int) -> dict[str, Any]:
    return report_out(
        report_get_visible(actor=api_user(request), report_id=report_id), api_user(request)
    )


@router.post(
    "/reports/{report_id}/unseal", response=PayloadOut, summary="Read the sealed payload (audited)"
)
@token_scope(TokenScope.READ)
def unseal(request: HttpRequest, report_id: int, body: UnsealIn) -> dict[str, Any]:
    report = report_get_visible(actor=api_user(request), report_id=report_id)
    return report_payload_open(report=report, actor=api_user(request), reason=body.reason)


@router.get(
    "/reports/{report_id}/attachments",
    response=list[AttachmentOut],
    summary="Attachments of a report",
)
@token_scope(TokenScope.READ)
def attachments(request: HttpRequest, report_id: int) -> list[Attachment]:
    report = report_get_visible(actor=api_user(request), report_id=report_id)
    if report_withheld(actor=api_user(request), report=report):
        return []  # a held-out item's files may quote it; not even their names are shown
    return list(report.attachments.all())


@router.post(
    "/reports/{report_id}/attachments",
    response={201: AttachmentOut},
    summary="Attach a file (sealed)",
)
@token_scope(one_of=(TokenScope.SUBMIT, TokenScope.TRIAGE))
def attach(request: HttpRequest, report_id: int, file: File[UploadedFile]) -> Status[Attachment]:
    report = report_get_visible(actor=api_user(request), report_id=report_id)
    limit = settings.MAX_ATTACHMENT_BYTES
    # Read one byte past the limit: enough to refuse, never the whole of a huge upload.
    content = file.read(limit + 1)
    created = attachment_add(
        report=report, actor=api_user(request), filename=file.name or "", content=content
    )
    return Status(201, created)


@router.post(
    "/reports/{report_id}/attachments/{attachment_id}/download",
    summary="Download an attachment (audited; always as a file, never rendered)",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file, as application/octet-stream with Content-Disposition: attachment.",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        }
    },
)
@token_scope(TokenScope.READ)
def download(
    request: HttpRequest, report_id: int, attachment_id: int, body: UnsealIn
) -> HttpResponse:
    report = report_get_visible(actor=api_user(request), report_id=report_id)
    opened = attachment_open(
        report=report, attachment_id=attachment_id, actor=api_user(request), reason=body.reason
    )
    return attachment_response(opened.filename, opened.content)
