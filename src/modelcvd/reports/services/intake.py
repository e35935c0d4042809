"""Intake: a report document becomes a Report with a sealed payload and an open Case (also
from a person without an account: anonymous intake with a one-time follow-up link, below).

Queues duplicate detection through the tasks module, which imports services.dedup (what the task
runs): imported as a module and read at call time, so either may be imported first and the
import graph has no cycle (intake -> tasks -> dedup)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from modelcvd.accounts.models import Organisation, User
from modelcvd.accounts.services import anonymous_reporter_create
from modelcvd.artifacts.models import Artifact
from modelcvd.artifacts.services import artifacts_resolve
from modelcvd.cases.models import Case, Comment, TimelineEvent
from modelcvd.cases.services import case_open, comment_add
from modelcvd.core.announcements import REPORT_PAYLOAD, announce
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, Forbidden, InvalidInput, NotFound
from modelcvd.core.projections import case_projections_refresh
from modelcvd.core.sealing import seal
from modelcvd.core.services import sealed_open
from modelcvd.policy.models import Program
from modelcvd.reports import tasks
from modelcvd.reports.document import ReportDocument, Reproduction
from modelcvd.reports.holdout import report_withheld
from modelcvd.reports.models import Report, SubmissionKey
from modelcvd.reports.schemas import AbstractDocument
from modelcvd.reports.selectors import artifacts_outside_scope, report_allows, report_get_for
from modelcvd.reports.services.attachments import attachment_add

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


def report_submit(
    *,
    actor: User,
    document: ReportDocument,
    idempotency_key: str = "",
    attachments: Sequence[tuple[str, bytes]] = (),
) -> Report:
    """Store a validated report: payload sealed, artifacts pinned, a case opened, files sealed
    and attached, all or nothing.

    With an idempotency key, a retry of the same document returns the first report."""
    if len(idempotency_key) > 200:
        raise InvalidInput([FieldError("Idempotency-Key", "at most 200 characters")])
    mac = _document_mac(document) if idempotency_key else ""
    if idempotency_key and (earlier := _replayed(actor, idempotency_key, mac)) is not None:
        return earlier
    try:
        return _report_create(
            actor=actor,
            document=document,
            idempotency_key=idempotency_key,
            mac=mac,
            attachments=attachments,
        )
    except IntegrityError:
        # A concurrent retry with the same key won the race: hand back its report.
        earlier = _replayed(actor, idempotency_key, mac) if idempotency_key else None
        if earlier is None:
            raise
        return earlier


def _report_create(
    *,
    actor: User,
    document: ReportDocument,
    idempotency_key: str,
    mac: str,
    attachments: Sequence[tuple[str, bytes]],
) -> Report:
    program = Program.objects.select_related("organisation").filter(slug=document.program).first()
    if program is None:
        raise InvalidInput([FieldError("program", "no program with this slug")])
    if not program.accepts_reports:
        raise InvalidInput([FieldError("program", "this program does not accept reports")])
    if program.abstract_first:
        raise InvalidInput(
            [
                FieldError(
                    "reproduction",
                    "this program takes the abstract first: submit it without the payload "
                    "(POST /api/v1/reports/abstract) and upload the payload once a triager "
                    "confirms scope",
                )
            ]
        )
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
            held_out=program.benchmark_holdout,
        )
        # Sealed once the row exists: the payload is bound to this report's primary key.
        _payload_seal(report, payload)
        report.artifacts.set(artifacts)
        _outside_scope_note(program=program, case=case, artifacts=artifacts, actor=actor)
        for filename, content in attachments:
            try:
                attachment_add(report=report, actor=actor, filename=filename, content=content)
            except InvalidInput as exc:
                # One bad file refuses the whole report: nothing is half-stored.
                raise InvalidInput(
                    [FieldError("attachments", f"{filename}: {e.reason}") for e in exc.errors]
                ) from None
        if idempotency_key:
            SubmissionKey.objects.create(
                user=actor, key=idempotency_key, document_mac=mac, report=report
            )
        audit_record(actor=actor, action="report.submit", obj=report, data={"case": case.pk})
        # Duplicate detection runs in the worker once the report is committed.
        transaction.on_commit(lambda: tasks.index_report_payload.delay(report.pk))
        announce(REPORT_PAYLOAD, report.pk)  # reproduce before triage (verification)
    return report


def _outside_scope_note(
    *, program: Program, case: Case, artifacts: list[Artifact], actor: User
) -> None:
    """A report may name a model the program does not list: it is taken all the same, and the
    case's timeline says so, for the coordinators to decide at triage (in or out of scope)."""
    outside = artifacts_outside_scope(program, artifacts)
    if not outside:
        return
    TimelineEvent.objects.create(
        case=case,
        at=timezone.now(),
        actor=actor,
        kind=TimelineEvent.Kind.SCOPE,
        reason="names a model outside the program's listed scope, to be decided at triage: "
        + ", ".join(str(a) for a in outside),
    )


def _payload_seal(report: Report, payload: dict[str, Any]) -> None:
    report.payload = seal(
        json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        purpose=PAYLOAD_PURPOSE,
        owner=report,
        field="payload",
    )
    report.save(update_fields=["payload"])


def report_payload_open(*, report: Report, actor: User, reason: str) -> dict[str, Any]:
    """The sealed reproduction, for the reporter, the coordinators, or a notified vendor.
    Every call is on the audit chain with its reason."""
    if not report_allows(actor=actor, report=report, action="view"):
        raise NotFound()
    if report_withheld(actor=actor, report=report):
        raise NotFound()  # a held-out benchmark item: the vendor never reads it
    if report.payload is None:
        raise InvalidInput([FieldError("payload", "not uploaded yet (abstract-first intake)")])
    raw = sealed_open(blob=report.payload, actor=actor, reason=reason, subject=report)
    payload: dict[str, Any] = json.loads(raw)
    return payload


def _program_for_abstract(slug: str) -> Program:
    program = Program.objects.select_related("organisation").filter(slug=slug).first()
    if program is None:
        raise InvalidInput([FieldError("program", "no program with this slug")])
    if not program.accepts_reports:
        raise InvalidInput([FieldError("program", "this program does not accept reports")])
    if not program.abstract_first:
        raise InvalidInput(
            [FieldError("program", "this program takes complete reports (POST /api/v1/reports)")]
        )
    return program


def report_submit_abstract(*, actor: User, document: AbstractDocument) -> Report:
    """Abstract-first intake, step 1: the abstract and metadata, no payload. Opens the case."""
    program = _program_for_abstract(document.program)
    vendor = program.organisation if program.organisation.kind == Organisation.Kind.VENDOR else None
    with transaction.atomic():
        artifacts = artifacts_resolve(refs=document.artifacts, default_vendor=vendor)
        case = case_open(program=program, title=document.title, artifacts=artifacts, actor=actor)
        report = Report.objects.create(
            reporter=actor,
            program=program,
            case=case,
            format_version="1.0",
            title=document.title,
            abstract=document.abstract,
            owasp=document.technique.owasp,
            atlas=document.technique.atlas,
            harm_category=document.harm_category,
            successes=0,
            trials=0,
            expected_behaviour=document.expected_behaviour,
            observed_behaviour=document.observed_behaviour,
            impact=document.impact,
            payload=None,
            intake=Report.Intake.AWAITING_SCOPE,
            held_out=program.benchmark_holdout,
        )
        report.artifacts.set(artifacts)
        audit_record(
            actor=actor, action="report.submit_abstract", obj=report, data={"case": case.pk}
        )
    return report


def report_scope_decide(*, report_id: int, actor: User, in_scope: bool, reason: str) -> Report:
    """Abstract-first intake, step 2: a coordinator confirms (or refuses) scope."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput([FieldError("reason", "a reason is required")])
    with transaction.atomic():
        report = report_get_for(actor=actor, report_id=report_id, lock=True)
        if not report_allows(actor=actor, report=report, action="coordinate"):
            raise Forbidden("only the program's coordinators confirm scope")
        if report.intake != Report.Intake.AWAITING_SCOPE:
            raise InvalidInput(
                [FieldError("in_scope", f"no scope check pending (intake: {report.intake})")]
            )
        report.intake = Report.Intake.AWAITING_PAYLOAD if in_scope else Report.Intake.OUT_OF_SCOPE
        report.save(update_fields=["intake"])
        TimelineEvent.objects.create(
            case=report.case,
            at=timezone.now(),
            actor=actor,
            kind=TimelineEvent.Kind.SCOPE,
            reason=("in scope, payload requested: " if in_scope else "out of scope: ") + reason,
        )
        audit_record(
            actor=actor,
            action="report.scope",
            obj=report,
            reason=reason,
            data={"in_scope": in_scope},
        )
        case_projections_refresh(case_ids=[report.case_id])
    return report


def report_payload_add(*, report_id: int, actor: User, reproduction: Reproduction) -> Report:
    """Abstract-first intake, step 3: the reporter uploads the payload, sealed at once."""
    with transaction.atomic():
        report = report_get_for(actor=actor, report_id=report_id, lock=True)
        if not report_allows(actor=actor, report=report, action="reporter"):
            raise Forbidden("only the reporter uploads the payload")
        if report.intake != Report.Intake.AWAITING_PAYLOAD:
            why = {
                Report.Intake.AWAITING_SCOPE: "wait until a triager confirms scope",
                Report.Intake.OUT_OF_SCOPE: "the report was found out of scope",
                Report.Intake.COMPLETE: "the payload was already received",
            }[Report.Intake(report.intake)]
            raise InvalidInput([FieldError("reproduction", why)])
        payload = {
            "system_prompt": reproduction.system_prompt,
            "turns": [t.model_dump() for t in reproduction.turns],
        }
        report.payload = seal(
            json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            purpose=PAYLOAD_PURPOSE,
            owner=report,
            field="payload",
        )
        report.sampling = reproduction.sampling.model_dump()
        report.successes, report.trials = reproduction.successes, reproduction.trials
        report.intake = Report.Intake.COMPLETE
        report.save(update_fields=["payload", "sampling", "successes", "trials", "intake"])
        TimelineEvent.objects.create(
            case=report.case,
            at=timezone.now(),
            actor=actor,
            kind=TimelineEvent.Kind.PAYLOAD,
            reason=f"sealed payload received for report #{report.pk}",
        )
        audit_record(actor=actor, action="report.payload", obj=report)
        case_projections_refresh(case_ids=[report.case_id])
        # Only now is there a payload to fingerprint for duplicate detection.
        transaction.on_commit(lambda: tasks.index_report_payload.delay(report.pk))
        announce(REPORT_PAYLOAD, report.pk)  # reproduce before triage (verification)
    return report


# Anonymous intake (after CERT/CC VINCE's anonymous form): a person without an account sends a
# report; it is filed under an internal pseudonymous reporter made for it, and the person is
# given a one-time follow-up link (its secret shown once, stored only as a keyed hash) that
# shows this report's status and reporter-channel comments and lets them reply.


def report_submit_anonymous(
    *, document: ReportDocument, ip: str, attachments: Sequence[tuple[str, bytes]] = ()
) -> tuple[Report, str]:
    """File the report under a fresh anonymous reporter; returns it and the follow-up secret.
    Capped per client address and in all (accounts.services.anonymous_reporter_create)."""
    with transaction.atomic():
        reporter, secret = anonymous_reporter_create(ip=ip)
        report = report_submit(actor=reporter, document=document, attachments=attachments)
    return report, secret


def follow_up_reply(*, report: Report, body: str) -> Comment:
    """The anonymous reporter's reply on their own channel, as any reporter's comment."""
    return comment_add(
        case_id=report.case_id,
        actor=report.reporter,
        body=body,
        visibility=Comment.Visibility.REPORTER.value,
        report_id=report.pk,
    )
