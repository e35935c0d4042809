"""Attachments: size limit, a type allowlist decided by content (not by the declared type),
sealed at rest, opened only with a reason. Pure checks first, then the services."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse

from modelcvd.accounts.models import User
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput, NotFound
from modelcvd.core.jsonbounds import json_too_deep
from modelcvd.core.sealing import create_sealed
from modelcvd.core.services import sealed_open
from modelcvd.reports.holdout import report_withheld
from modelcvd.reports.models import Attachment, Report
from modelcvd.reports.selectors import report_allows

PURPOSE = "report.attachment"
_TEXT = {".txt", ".log", ".md", ".csv", ".jsonl"}
_MAGIC = {
    ".png": b"\x89PNG\r\n\x1a\n",
    ".jpg": b"\xff\xd8\xff",
    ".jpeg": b"\xff\xd8\xff",
    ".pdf": b"%PDF-",
}
ALLOWED = sorted(_TEXT | set(_MAGIC) | {".json"})
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str) -> str:
    """A name safe in a Content-Disposition header and on any file system."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip(" .") or "attachment"
    return cleaned[-120:]


def attachment_kind(filename: str, content: bytes) -> str:
    """The allowed kind of this file, judged by its content; InvalidInput otherwise."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in ALLOWED:
        raise InvalidInput(
            [FieldError("file", f"file type not allowed; allowed: {', '.join(ALLOWED)}")]
        )
    if suffix in _MAGIC:
        if not content.startswith(_MAGIC[suffix]):
            raise InvalidInput([FieldError("file", f"content is not a {suffix[1:]} file")])
        return suffix[1:]
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput([FieldError("file", "text files must be UTF-8")]) from None
    if suffix == ".json":
        limit = settings.MAX_JSON_DEPTH
        if json_too_deep(content, limit):
            raise InvalidInput([FieldError("file", f"JSON nested deeper than {limit} levels")])
        try:
            json.loads(text)
        except ValueError:
            raise InvalidInput([FieldError("file", "not valid JSON")]) from None
    return suffix[1:]


@dataclass(frozen=True)
class OpenedAttachment:
    filename: str
    content: bytes


def attachment_add(*, report: Report, actor: User, filename: str, content: bytes) -> Attachment:
    """Attach a file. The reporter and the case's coordinators may; others see nothing."""
    if not report_allows(actor=actor, report=report, action="attach"):
        raise NotFound()
    limit = settings.MAX_ATTACHMENT_BYTES
    if len(content) > limit:
        raise InvalidInput(
            [FieldError("file", f"{len(content)} bytes exceeds the limit of {limit}")]
        )
    if not content:
        raise InvalidInput([FieldError("file", "the file is empty")])
    name = safe_filename(filename)
    kind = attachment_kind(name, content)
    with transaction.atomic():
        attachment = create_sealed(
            Attachment,
            values={
                "report": report,
                "uploaded_by": actor,
                "filename": name,
                "kind": kind,
                "size": len(content),
            },
            field="sealed",
            plaintext=content,
            purpose=PURPOSE,
        )
        audit_record(
            actor=actor, action="attachment.add", obj=attachment, data={"report": report.pk}
        )
    return attachment


def attachment_open(
    *, report: Report, attachment_id: int, actor: User, reason: str
) -> OpenedAttachment:
    """The file, for the reporter, the coordinators or a notified vendor, with an audited reason."""
    if not report_allows(actor=actor, report=report, action="view"):
        raise NotFound()
    if report_withheld(actor=actor, report=report):
        raise NotFound()  # attachments of a held-out item may quote it
    attachment = report.attachments.select_related("sealed").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound()
    content = sealed_open(blob=attachment.sealed, actor=actor, reason=reason, subject=attachment)
    return OpenedAttachment(filename=attachment.filename, content=content)


def attachment_response(filename: str, content: bytes) -> HttpResponse:
    """A download that no browser will render: octet-stream, attachment, nosniff, sandboxed."""
    response = HttpResponse(content, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "no-store"
    return response
