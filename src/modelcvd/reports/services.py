"""Intake: a report document becomes a Report with a sealed payload and an open Case."""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.crypto import constant_time_compare, salted_hmac

from modelcvd.accounts.models import Organisation, User
from modelcvd.artifacts.services import artifacts_resolve
from modelcvd.cases.selectors import case_access
from modelcvd.cases.services import case_open
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput, NotFound
from modelcvd.core.sealing import seal
from modelcvd.core.services import sealed_open
from modelcvd.policy.models import Program
from modelcvd.reports.document import ReportDocument
from modelcvd.reports.models import Report, SubmissionKey
from modelcvd.reports.tasks import index_report_payload

PAYLOAD_PURPOSE = "report.payload"


def _document_mac(document: ReportDocument) -> str:
    return salted_hmac(
        "modelcvd.submission-key", document.model_dump_json(), algorithm="sha256"
    ).hexdigest()


def _replayed(actor: User, key: str, mac: str) -> Report | None:
    existing = SubmissionKey.objects.select_related("report").filter(user=actor, key=key).first()
    if existing is None:
        return None
    if not constant_time_compare(existing.document_mac, mac):
        raise InvalidInput([FieldError("Idempotency-Key", "already used for a different report")])
    return existing.report


def report_submit(*, actor: User, document: ReportDocument, idempotency_key: str = "") -> Report:
    """Store a validated report: payload sealed, artifacts pinned, a case opened, all or nothing.

    With an idempotency key, a retry of the same document returns the first report."""
    if len(idempotency_key) > 200:
        raise InvalidInput([FieldError("Idempotency-Key", "at most 200 characters")])
    mac = _document_mac(document) if idempotency_key else ""
    if idempotency_key and (earlier := _replayed(actor, idempotency_key, mac)) is not None:
        return earlier
    try:
        return _report_create(
            actor=actor, document=document, idempotency_key=idempotency_key, mac=mac
        )
    except IntegrityError:
        # A concurrent retry with the same key won the race: hand back its report.
        earlier = _replayed(actor, idempotency_key, mac) if idempotency_key else None
        if earlier is None:
            raise
        return earlier


def _report_create(
    *, actor: User, document: ReportDocument, idempotency_key: str, mac: str
) -> Report:
    program = Program.objects.select_related("organisation").filter(slug=document.program).first()
    if program is None:
        raise InvalidInput([FieldError("program", "no program with this slug")])
    if not program.accepts_reports:
        raise InvalidInput([FieldError("program", "this program does not accept reports")])
    repro = document.reproduction
    payload = {"system_prompt": repro.system_prompt, "turns": [t.model_dump() for t in repro.turns]}
    vendor = program.organisation if program.organisation.kind == Organisation.Kind.VENDOR else None
    with transaction.atomic():
        artifacts = artifacts_resolve(refs=document.artifacts, default_vendor=vendor)
        case = case_open(program=program, title=document.title, artifacts=artifacts, actor=actor)
        report = Report.objects.create(
            reporter=actor,
            program=program,
            case=case,
            format_version=document.format_version,
            title=document.title,
            abstract=document.abstract,
            owasp=document.technique.owasp,
            atlas=document.technique.atlas,
            harm_category=document.harm_category,
            sampling=repro.sampling.model_dump(),
            successes=repro.successes,
            trials=repro.trials,
            expected_behaviour=document.expected_behaviour,
            observed_behaviour=document.observed_behaviour,
            impact=document.impact,
            payload=seal(
                json.dumps(payload, ensure_ascii=False).encode("utf-8"), purpose=PAYLOAD_PURPOSE
            ),
        )
        report.artifacts.set(artifacts)
        if idempotency_key:
            SubmissionKey.objects.create(
                user=actor, key=idempotency_key, document_mac=mac, report=report
            )
        audit_record(actor=actor, action="report.submit", obj=report, data={"case": case.pk})
        # Duplicate detection runs in the worker once the report is committed.
        transaction.on_commit(lambda: index_report_payload.delay(report.pk))
    return report


def report_payload_open(*, report: Report, actor: User, reason: str) -> dict[str, Any]:
    """The sealed reproduction, for the reporter, the coordinators, or a notified vendor.
    Every call is on the audit chain with its reason."""
    access = case_access(actor=actor, case=report.case)
    if not (report.reporter_id == actor.pk or access.staff or access.vendor):
        raise NotFound()
    raw = sealed_open(blob=report.payload, actor=actor, reason=reason, subject=report)
    payload: dict[str, Any] = json.loads(raw)
    return payload
