"""Writes on advisories: create, edit, move through draft -> review -> published (-> withdrawn).

Each write is one transaction with its audit event. Only the case's coordinators write; the
case's vendors read the draft (selectors). An edit after publication needs a changelog and adds
an immutable revision; so does the withdrawal.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from pydantic import ValidationError

from modelcvd.accounts.models import User
from modelcvd.advisories import tasks
from modelcvd.advisories.affected import (
    ListedVersion,
    advisory_credits,
    imported_records,
    listed_versions,
)
from modelcvd.advisories.dump import dump_record_from_view
from modelcvd.advisories.models import (
    Advisory,
    AdvisoryRevision,
    AdvisorySequence,
    ImportedRecord,
)
from modelcvd.advisories.render import render_public
from modelcvd.advisories.schemas import AdvisoryContent
from modelcvd.advisories.selectors import advisory_get_for
from modelcvd.artifacts.digest import PURL_NAME
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case
from modelcvd.cases.selectors import case_get_for
from modelcvd.cases.services import embargo_guard
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import (
    ApprovalRequired,
    FieldError,
    Forbidden,
    IllegalTransition,
    InvalidInput,
)
from modelcvd.core.sealing import seal
from modelcvd.core.services import sealed_open
from modelcvd.interop.advisory import SuccessRate, exact_interval
from modelcvd.interop.source import SourceRecord
from modelcvd.policy.commitment import commitment_create
from modelcvd.policy.disclosure import Level, redact
from modelcvd.reports.models import Report
from modelcvd.scoring.cvss4 import cvss4_score
from modelcvd.taxonomy import HARM_CATEGORIES, OWASP_LLM_2025, atlas_technique_name
from modelcvd.transparency import tasks as transparency_tasks
from modelcvd.transparency.merkle import canonical_bytes
from modelcvd.transparency.selectors import tree_size
from modelcvd.transparency.services import log_append
from modelcvd.verification.models import VerificationRun
from modelcvd.vocabulary import LogEntryKind

SALT_PURPOSE = "advisory.commitment_salt"
State = Advisory.State
TRANSITIONS: dict[str, tuple[str, ...]] = {
    State.DRAFT: (State.REVIEW,),
    State.REVIEW: (State.DRAFT, State.PUBLISHED),
    State.PUBLISHED: (State.WITHDRAWN,),
    State.WITHDRAWN: (),
}
HUGGING_FACE = "https://huggingface.co"
HUGGING_FACE_PURL = "pkg:huggingface/"
# What a Hugging Face organisation or model name may be made of (artifacts/digest.py).
HUB_NAME = PURL_NAME
# Placeholders importers write when a source does not say who publishes a model.
UNKNOWN_PROVIDERS = frozenset({"", "unknown", "unparsed"})


def content_validate(data: dict[str, Any]) -> dict[str, Any]:
    """The content as stored, or InvalidInput naming each bad field."""
    try:
        content = AdvisoryContent.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(
            [
                FieldError(
                    ".".join(str(p) for p in item["loc"]) or "body",
                    str(item["msg"]).removeprefix("Value error, "),
                )
                for item in error.errors(include_input=False, include_url=False)
            ]
        ) from None
    return content.model_dump(mode="json")


def advisory_id_allocate(*, year: int) -> str:
    """The next `MCVD-YYYY-NNNN`. The UPDATE takes the year's row lock (PostgreSQL) or the
    database's write lock (SQLite, IMMEDIATE transactions) until the caller commits, so two
    writers never read the same number; the insert-if-missing cannot race either."""
    with transaction.atomic():
        AdvisorySequence.objects.bulk_create(
            [AdvisorySequence(year=year, last=0)], ignore_conflicts=True
        )
        AdvisorySequence.objects.filter(year=year).update(last=F("last") + 1)
        number = AdvisorySequence.objects.values_list("last", flat=True).get(year=year)
    return f"MCVD-{year}-{number:04d}"


def _staff_advisory(*, actor: User, advisory_id: str) -> Advisory:
    """The advisory, locked, for its case's coordinators: 403 for another party who can see
    it, 404 for everyone else."""
    return advisory_get_for(
        actor=actor,
        advisory_id=advisory_id,
        action="coordinate",
        lock=True,
        forbidden="only the case's coordinators may change this advisory",
    )


def _repository_url(artifact: Artifact, *, imported_on_hub: bool | None = None) -> str:
    """The model's git repository. Open weights live in a Hugging Face repository named
    provider/name (the convention the report format states: the provider is the Hugging
    Face organisation), and so does a model whose purl says it is on Hugging Face; a hosted
    model, or one whose provider is not known, has no repository to point at.

    The convention is the report format's, not another database's: an artifact that only
    imported records name (`imported_on_hub` not None) is in a Hugging Face repository only
    when one of those records says so (SourceProduct.on_hugging_face). Otherwise every CVE
    about a Python package ("abetlen/llama-cpp-python") and every AVID record about a hosted
    system ("OpenAI/ChatGPT") would be exported as a model at huggingface.co."""
    if artifact.purl.startswith(HUGGING_FACE_PURL):
        return f"{HUGGING_FACE}/{artifact.provider}/{artifact.name}"
    repo_id = (artifact.provider, artifact.name)
    if (
        imported_on_hub is not False
        and artifact.access == Artifact.Access.OPEN_WEIGHTS
        and artifact.provider.lower() not in UNKNOWN_PROVIDERS
        and all(HUB_NAME.match(part) for part in repo_id)
    ):
        return f"{HUGGING_FACE}/{artifact.provider}/{artifact.name}"
    return ""


# How each source names itself where a measurement says who reported its counts.
SOURCE_LABEL = {
    "cve": "a CVE record",
    "avid": "AVID",
    "garak": "garak",
    "jailbreakbench": "JailbreakBench",
}
CONFIDENCE = 0.95


def _measurement(
    artifact: Artifact, successes: int, trials: int, provenance: dict[str, Any]
) -> dict[str, Any]:
    low, high = exact_interval(successes, trials, CONFIDENCE)
    # Validated as the exporters will read it; `text` is what pages and mail print.
    rate = SuccessRate.model_validate(
        {
            "revision": artifact.revision,
            "successes": successes,
            "trials": trials,
            "confidence": CONFIDENCE,
            "provenance": provenance,
        }
    )
    return {
        "artifact": f"{artifact.provider}/{artifact.name}",
        "revision": artifact.revision,
        "successes": successes,
        "trials": trials,
        "interval_low": round(low, 4),
        "interval_high": round(high, 4),
        "confidence": CONFIDENCE,
        "interval_method": "clopper-pearson",
        "provenance": rate.provenance.model_dump(mode="json"),
        "text": rate.describe(),
    }


def _identity(data: Any) -> dict[str, str]:
    data = data if isinstance(data, dict) else {}
    return {
        "name": str(data.get("name") or "unidentified")[:300],
        "revision": str(data.get("revision") or "")[:200],
        "weights_digest": str(data.get("weights_digest") or "")[:71],
    }


def _replayed(case: Case, listed: dict[int, Artifact]) -> list[dict[str, Any]]:
    """The latest finished verification run of the case on each listed artifact: counts this
    instance produced, with the run, the target as it identified itself, and the judge.
    Held-out benchmark items give no per-artifact counts (a count per item would single one
    out to the vendor reading the draft): they are reported per harm category."""
    runs = (
        VerificationRun.objects.filter(
            case=case,
            artifact_id__in=list(listed),
            state=VerificationRun.State.FINISHED,
            report__held_out=False,
        )
        .exclude(summary=None)
        .order_by("artifact_id", "-finished_at", "-id")
    )
    measured: dict[int, dict[str, Any]] = {}
    for run in runs:
        summary = run.summary or {}
        trials, successes = summary.get("trials"), summary.get("successes")
        if run.artifact_id in measured or not isinstance(trials, int) or trials < 1:
            continue
        if not isinstance(successes, int) or not 0 <= successes <= trials:
            continue
        measured[run.artifact_id] = _measurement(
            listed[run.artifact_id],
            successes,
            trials,
            {
                "origin": "replayed",
                "run_id": run.pk,
                "target": _identity(summary.get("target")),
                "judge": _identity(summary.get("judge")),
            },
        )
    return list(measured.values())


def _counted_on(
    record: SourceRecord, artifact_name: str, report_artifacts: list[Artifact]
) -> Artifact | None:
    """The report's artifact a source's counts were counted on: the one its product maps to,
    or the report's only artifact when the counts name none."""
    if not artifact_name:
        return report_artifacts[0] if len(report_artifacts) == 1 else None
    product = next((p for p in record.products if p.source_name == artifact_name), None)
    return next(
        (
            a
            for a in report_artifacts
            if product is not None and (a.provider, a.name) == (product.provider, product.name)
        ),
        None,
    )


def _reported(
    reports: list[Report], listed: dict[int, Artifact], records: dict[int, SourceRecord]
) -> list[dict[str, Any]]:
    """Counts as reporters and sources gave them: a report's own counts ("reported by the
    reporter"), or for an imported report each count of its source record, with the source,
    its id, the importer and what the counts count. A report without counts (0 trials: an
    imported record that gave none) adds nothing."""
    measurements = []
    for report in reports:
        if report.held_out:
            continue
        named = [a for a in report.artifacts.all() if a.pk in listed]
        record = records.get(report.pk)
        if record is None:
            if report.trials:
                provenance = {"origin": "reported", "source": "the reporter"}
                measurements += [
                    _measurement(a, report.successes, report.trials, provenance) for a in named
                ]
            continue
        for counts in record.counts:
            artifact = _counted_on(record, counts.artifact, named)
            if artifact is None:
                continue
            provenance = {
                "origin": "reported",
                "source": SOURCE_LABEL.get(record.source, record.source),
                "source_id": record.source_id[:300],
                "importer": record.importer[:100],
                "basis": counts.basis[:1_000],
            }
            measurements.append(_measurement(artifact, counts.successes, counts.trials, provenance))
    return measurements


def _sources(records: list[SourceRecord]) -> list[dict[str, Any]]:
    """The public copy of each imported record behind the advisory: ids, assigner, dates,
    credits, CWE, CVSS vectors (as given, with the `cvss` library's score beside the stated
    one), products and versions, references, taxonomy, developers and deployers. Counts and
    per-model scores stay out: counts are measurements (defender level, with provenance)."""
    sources = []
    for record in records:
        data = record.model_dump(mode="json", exclude={"counts", "scores", "description"})
        for given, parsed in zip(data["cvss"], record.cvss, strict=True):
            rescored = parsed.rescored()
            given["rescored"] = (
                {"base_score": rescored[0], "base_severity": rescored[1]} if rescored else None
            )
        sources.append(data)
    return sources


def _model_purl(artifact: Artifact, repository_url: str) -> str:
    """The model's package URL without a version (what OSV names a package by)."""
    if artifact.purl:
        return artifact.purl.split("@", 1)[0]
    if repository_url.startswith(f"{HUGGING_FACE}/"):
        return f"{HUGGING_FACE_PURL}{artifact.provider}/{artifact.name}"
    return ""


def _imported_only(
    reports: list[Report], rows: list[ImportedRecord], records: list[SourceRecord]
) -> dict[int, bool]:
    """{artifact pk: whether an imported record places it on Hugging Face} for the artifacts
    that only imported records name: no report filed on this platform names them."""
    imported = {row.report_id for row in rows if row.report_id}
    native = {a.pk for r in reports if r.pk not in imported for a in r.artifacts.all()}
    on_hub = {
        (p.provider, p.name) for record in records for p in record.products if p.on_hugging_face()
    }
    return {
        a.pk: (a.provider, a.name) in on_hub
        for r in reports
        if r.pk in imported
        for a in r.artifacts.all()
        if a.pk not in native
    }


def _listed(entry: ListedVersion, *, imported_on_hub: bool | None = None) -> dict[str, Any]:
    """One version as the advisory document lists it, with its status."""
    a = entry.artifact
    repository_url = _repository_url(a, imported_on_hub=imported_on_hub)
    fix = entry.fixed_by
    return {
        "provider": a.provider,
        "name": a.name,
        "vendor": a.vendor.slug if a.vendor else None,
        "version_label": a.version_label,
        "revision": a.revision,
        "repository_url": repository_url,
        "purl": _model_purl(a, repository_url),
        "weights_digest": a.weights_digest,
        "access": a.access,
        "status": entry.status.value,
        "status_reason": entry.reason,
        "fixed_in": {"revision": fix.revision, "version_label": fix.version_label}
        if fix is not None
        else None,
        "justification": entry.justification.value if entry.justification else None,
    }


def _document(advisory: Advisory, listed: list[ListedVersion], revision: int) -> dict[str, Any]:
    """The full advisory, every level but the sealed reproduction (added at render)."""
    content = advisory.content
    artifacts = [entry.artifact for entry in listed]
    reports = list(advisory.case.reports.prefetch_related("artifacts").order_by("pk"))
    rows = imported_records(advisory.case, advisory)
    records = [SourceRecord.model_validate(row.data) for row in rows]
    by_report = {
        row.report_id: record for row, record in zip(rows, records, strict=True) if row.report_id
    }
    by_pk = {artifact.pk: artifact for artifact in artifacts}
    measurements = _replayed(advisory.case, by_pk) + _reported(reports, by_pk, by_report)
    imported_only = _imported_only(reports, rows, records)
    severity = None
    if content.get("cvss_vector"):
        scored = cvss4_score(content["cvss_vector"])
        severity = {
            "cvss_vector": scored.vector,
            "score": scored.base_score,
            "rating": scored.severity.lower(),
        }
    published = advisory.published_at.isoformat() if advisory.published_at else None
    return {
        "id": advisory.advisory_id,
        "state": advisory.state,
        "revision": revision,
        "title": content["title"],
        "summary": content["summary"],
        "cve_id": content.get("cve_id") or None,
        "aliases": content["aliases"],
        "technique": {
            "owasp": content["owasp"],
            "owasp_name": OWASP_LLM_2025[content["owasp"]],
            "atlas": content["atlas"],
            "atlas_name": atlas_technique_name(content["atlas"]) or "",
        },
        "harm_category": {
            "id": content["harm_category"],
            "name": HARM_CATEGORIES[content["harm_category"]],
        },
        # Every version the advisory lists, whatever its status (the key is historical).
        "affected": [
            _listed(entry, imported_on_hub=imported_only.get(entry.artifact.pk)) for entry in listed
        ],
        "severity": severity,
        "mitigations": content["mitigations"],
        "credits": advisory_credits(advisory.case, rows),
        "references": content["references"],
        "commitment": advisory.commitment,
        "published": published,
        "modified": advisory.modified_at.isoformat(),
        "withdrawn_reason": advisory.document.get("withdrawn_reason", ""),
        "measurements": measurements,
        "sources": _sources(records),
        "detection_indicators": content["detection_indicators"],
        "mitigation_details": content["mitigation_details"],
    }


def _search_text(document: dict[str, Any]) -> str:
    """Public words only: what the registry may match on."""
    parts = [
        document["id"],
        document["title"],
        document["summary"],
        " ".join(document["aliases"]),
        document.get("cve_id") or "",
        document["technique"]["owasp"],
        document["technique"]["owasp_name"],
        document["technique"]["atlas"],
        document["technique"]["atlas_name"],
        document["harm_category"]["name"],
        document["mitigations"],
        *(f"{a['provider']} {a['name']} {a['version_label']}" for a in document["affected"]),
    ]
    return "\n".join(p for p in parts if p)


def _refresh(advisory: Advisory, *, revision: int) -> None:
    """Rebuild `document` and its column copies from `content` and the case; save."""
    listed = listed_versions(advisory.case)
    document = _document(advisory, listed, revision)
    advisory.document = document
    advisory.title = document["title"]
    advisory.owasp = document["technique"]["owasp"]
    advisory.atlas = document["technique"]["atlas"]
    advisory.harm_category = document["harm_category"]["id"]
    advisory.severity = document["severity"]["rating"] if document["severity"] else ""
    # A held-out benchmark item is never rendered, whatever the content says (issue #6).
    held_out = advisory.case.reports.filter(held_out=True).exists()
    advisory.reproduction_level = "never" if held_out else advisory.content["reproduction_level"]
    advisory.search_text = _search_text(document)
    advisory.save()
    advisory.artifacts.set([entry.artifact for entry in listed])


def _committed_payload(
    advisory: Advisory, report_ids: list[int], *, actor: User, reason: str
) -> dict[str, Any]:
    """What the commitment covers: the advisory id and each report's sealed reproduction."""
    reports = {r.pk: r for r in Report.objects.select_related("payload").filter(pk__in=report_ids)}
    payload: dict[str, Any] = {"advisory": advisory.advisory_id, "reports": []}
    for pk in report_ids:
        blob = reports[pk].payload
        assert blob is not None  # the caller passes only reports that have their payload
        raw = sealed_open(blob=blob, actor=actor, reason=reason, subject=reports[pk])
        payload["reports"].append(json.loads(raw))
    return payload


def _commit_payload(advisory: Advisory, *, actor: User) -> None:
    """Commit to the case's reproductions (salted SHA-256): the advisory publishes the digest,
    the salt is sealed, and `modelcvd commitment verify` checks a later reveal against it."""
    # Reports still waiting for their payload (abstract-first intake) have nothing to commit to.
    report_ids = list(
        advisory.case.reports.exclude(payload=None).order_by("pk").values_list("pk", flat=True)
    )
    payload = _committed_payload(
        advisory,
        report_ids,
        actor=actor,
        reason=f"commitment for advisory {advisory.advisory_id}",
    )
    commitment, opening = commitment_create(payload)
    advisory.commitment = str(commitment)
    advisory.committed_reports = report_ids
    advisory.commitment_salt = seal(
        opening.salt, purpose=SALT_PURPOSE, owner=advisory, field="commitment_salt"
    )


def commitment_reveal(
    *, actor: User, advisory_id: str, reason: str
) -> tuple[dict[str, Any], bytes]:
    """The committed payload and its salt, for the case's coordinators: what a reporter needs
    to prove what they found. Every unseal is on the audit chain with the reason."""
    if not reason.strip():
        raise InvalidInput([FieldError("reason", "a reason is required to reveal")])
    with transaction.atomic():
        visible = advisory_get_for(
            actor=actor,
            advisory_id=advisory_id,
            action="coordinate",
            forbidden="only the case's coordinators may reveal a commitment",
        )
        advisory = Advisory.objects.select_related("commitment_salt").get(pk=visible.pk)
        if advisory.commitment_salt is None:
            raise InvalidInput([FieldError("advisory", "this advisory has no commitment")])
        payload = _committed_payload(
            advisory, advisory.committed_reports, actor=actor, reason=reason
        )
        salt = sealed_open(
            blob=advisory.commitment_salt, actor=actor, reason=reason, subject=advisory
        )
        audit_record(
            actor=actor,
            action="advisory.commitment_reveal",
            obj=advisory,
            reason=reason,
            data={"advisory": advisory.advisory_id},
        )
    return payload, salt


def _next_revision(advisory: Advisory) -> int:
    return advisory.revisions.count() + 1


def _revision_add(advisory: Advisory, *, actor: User, changelog: str) -> AdvisoryRevision:
    revision = AdvisoryRevision.objects.create(
        advisory=advisory,
        number=advisory.document["revision"],
        document=advisory.document,
        changelog=changelog,
        created_by=actor,
        created_at=advisory.modified_at,
    )
    _revision_log(advisory)
    return revision


def public_document_digest(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an advisory as the public registry serves it: what the
    transparency log commits to, recomputable by anyone holding the public document."""
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def _revision_log(advisory: Advisory) -> None:
    """Append the published revision to the transparency log, in the publishing transaction,
    and have a tree head signed once it commits. Only the public level is committed to: a
    digest of the defender level would let anyone confirm a guess of its contents."""
    _revision_append(
        advisory_id=advisory.advisory_id,
        number=advisory.document["revision"],
        state=advisory.state,
        modified=advisory.modified_at.isoformat(),
        public=render_public(advisory),
    )
    transaction.on_commit(transparency_tasks.tree_head_sign_later.delay, robust=True)


def _osv_sha256(public: dict[str, Any]) -> str | None:
    """The digest of the exact bytes of the OSV dump record of this public view
    (advisories/dump.py), so a mirror can check what it downloaded (`modelcvd mirror`); None
    when OSV cannot express it."""
    record = dump_record_from_view(public)
    return hashlib.sha256(record.content).hexdigest() if record is not None else None


def _revision_append(
    *,
    advisory_id: str,
    number: int,
    state: str,
    modified: str,
    public: dict[str, Any],
) -> None:
    log_append(
        kind=LogEntryKind.ADVISORY_REVISION,
        ref=f"{advisory_id}@{number}",
        body={
            "advisory": advisory_id,
            "revision": number,
            "state": state,
            "modified": modified,
            "document_sha256": public_document_digest(public),
            "osv_sha256": _osv_sha256(public),
        },
    )


def _commitment_append(advisory: Advisory) -> None:
    log_append(
        kind=LogEntryKind.PAYLOAD_COMMITMENT,
        ref=advisory.advisory_id,
        body={"advisory": advisory.advisory_id, "commitment": advisory.commitment},
    )


def advisory_log_backfill() -> int:
    """Append every public advisory's commitment and revisions that the transparency log
    lacks (an instance upgraded from before it), oldest first; entries already there are
    left as they are (log_append is idempotent). Returns how many were appended."""
    with transaction.atomic():
        before = tree_size()
        public = Advisory.objects.filter(state__in=[State.PUBLISHED, State.WITHDRAWN])
        for advisory in public.order_by("published_at", "id"):
            if advisory.commitment:
                _commitment_append(advisory)
            level = Level.parse(advisory.reproduction_level)
            for revision in advisory.revisions.order_by("number"):
                _revision_append(
                    advisory_id=advisory.advisory_id,
                    number=revision.number,
                    state=revision.document.get("state", advisory.state),
                    modified=revision.created_at.isoformat(),
                    public=redact(revision.document, Level.PUBLIC, reproduction_level=level),
                )
        appended = tree_size() - before
        audit_record(actor=None, action="transparency.backfill", data={"appended": appended})
    if appended:
        transaction.on_commit(transparency_tasks.tree_head_sign_later.delay, robust=True)
    return appended


def content_from_case(case: Case) -> dict[str, Any]:
    """A first draft of the content from the case's earliest report: title, abstract as the
    summary, technique and harm category. The coordinators edit it before review."""
    report = case.reports.order_by("created_at", "pk").first()
    if report is None:
        raise InvalidInput([FieldError("case", "the case has no report to draft from")])
    title = case.title if len(case.title) >= 3 else report.title
    content = {
        "title": title[:200],
        "summary": report.abstract[:5_000] or title,
        "owasp": report.owasp,
        "atlas": report.atlas,
        # The case's scoring, when there is one, is the advisory's: a draft never drops it.
        "harm_category": (case.rubric or {}).get("inputs", {}).get("harm_category")
        or report.harm_category,
    }
    if case.cvss_vector:
        content["cvss_vector"] = case.cvss_vector
    return content


def advisory_create(*, actor: User, case_id: int, content: dict[str, Any]) -> Advisory:
    """A draft advisory for a case, with its id allocated and its payload committed to."""
    data = content_validate(content)
    with transaction.atomic():
        case = case_get_for(
            actor=actor,
            case_id=case_id,
            action="coordinate",
            forbidden="only the case's coordinators may write its advisory",
        )
        now = timezone.now()
        advisory = Advisory(
            advisory_id=advisory_id_allocate(year=now.year),
            case=case,
            content=data,
            created_by=actor,
            modified_at=now,
        )
        advisory.save()  # the commitment's salt is sealed for this row: it needs its key first
        _commit_payload(advisory, actor=actor)
        _refresh(advisory, revision=0)
        audit_record(
            actor=actor,
            action="advisory.create",
            obj=advisory,
            data={"advisory": advisory.advisory_id, "case": case.pk},
        )
    return advisory


def advisory_update(
    *,
    actor: User,
    advisory_id: str,
    changes: dict[str, Any],
    changelog: str = "",
    sources_changed: bool = False,
) -> Advisory:
    """Replace the given fields. After publication: a changelog is required and a new
    revision is made; a withdrawn advisory is final. `sources_changed`: an imported record
    behind the advisory changed, so the document is rebuilt even if no field is replaced."""
    changelog = changelog.strip()
    with transaction.atomic():
        advisory = _staff_advisory(actor=actor, advisory_id=advisory_id)
        if advisory.state == State.WITHDRAWN:
            raise InvalidInput([FieldError("state", "a withdrawn advisory cannot be edited")])
        published = advisory.state == State.PUBLISHED
        if published and not changelog:
            raise InvalidInput(
                [FieldError("changelog", "required when editing a published advisory")]
            )
        given = {k: v for k, v in changes.items() if v is not None}
        data = content_validate({**advisory.content, **given})
        changed = sorted(k for k in data if data[k] != advisory.content.get(k))
        if not changed and not sources_changed:
            raise InvalidInput([FieldError("body", "nothing to change")])
        advisory.content = data
        advisory.modified_at = timezone.now()
        if advisory.state == State.REVIEW:
            # The approval was of the text as it stood: a changed text needs a new one.
            advisory.approved_by, advisory.approved_at = None, None
        revision = advisory.document["revision"] + 1 if published else 0
        _refresh(advisory, revision=revision)
        if published:
            _revision_add(advisory, actor=actor, changelog=changelog)
        audit_record(
            actor=actor,
            action="advisory.update",
            obj=advisory,
            reason=changelog,
            data={"advisory": advisory.advisory_id, "fields": changed, "revision": revision},
        )
    return advisory


def advisory_approve(*, actor: User, advisory_id: str, reason: str = "") -> Advisory:
    """Four eyes: a coordinator other than the one who sent the advisory to review approves
    the text as it stands. An edit afterwards clears the approval (advisory_update)."""
    with transaction.atomic():
        advisory = _staff_advisory(actor=actor, advisory_id=advisory_id)
        if advisory.state != State.REVIEW:
            raise IllegalTransition(
                current=advisory.state, target="approved", allowed=list(TRANSITIONS[advisory.state])
            )
        if advisory.review_requested_by_id == actor.pk:
            raise Forbidden(
                "you sent this advisory to review: another coordinator approves it (four eyes)"
            )
        advisory.approved_by = actor
        advisory.approved_at = timezone.now()
        advisory.save(update_fields=["approved_by", "approved_at"])
        audit_record(
            actor=actor,
            action="advisory.approve",
            obj=advisory,
            reason=reason.strip(),
            data={
                "advisory": advisory.advisory_id,
                "requested_by": advisory.review_requested_by_id,
            },
        )
    return advisory


def _approval_check(advisory: Advisory) -> None:
    if not advisory.case.program.publication_approval or advisory.approved_by_id is not None:
        return
    raise ApprovalRequired(
        "this program publishes only after a second coordinator approves the advisory in "
        "review (four eyes): someone other than the coordinator who sent it to review approves "
        "it, then it can be published"
    )


def advisory_transition(
    *, actor: User, advisory_id: str, to: str, reason: str = "", override_reason: str = ""
) -> Advisory:
    """draft <-> review -> published -> withdrawn. Publishing makes revision 1 and mails the
    parties; withdrawing needs a reason and makes a revision saying so. Publishing needs the
    program's four-eyes approval (advisory_approve) and waits for a live embargo's public date
    unless an administrator overrides it with `override_reason` (cases.services.embargo_guard)."""
    reason = reason.strip()
    if to not in TRANSITIONS:
        raise InvalidInput([FieldError("to", f"unknown state; one of {list(TRANSITIONS)}")])
    with transaction.atomic():
        advisory = _staff_advisory(actor=actor, advisory_id=advisory_id)
        current = advisory.state
        if to not in TRANSITIONS[current]:
            raise IllegalTransition(current=current, target=to, allowed=list(TRANSITIONS[current]))
        if to == State.WITHDRAWN and not reason:
            raise InvalidInput([FieldError("reason", "say why the advisory is withdrawn")])
        if to == State.PUBLISHED:
            # The date first: during an embargo nothing is published, approved or not, and
            # the coordinator learns that before asking a colleague to approve. (An override
            # that lifts the embargo is rolled back with the rest if the approval is missing.)
            embargo_guard(
                case=advisory.case, actor=actor, action="publish", override_reason=override_reason
            )
            _approval_check(advisory)
        now = timezone.now()
        advisory.state = to
        advisory.modified_at = now
        if to == State.REVIEW:
            advisory.review_requested_by = actor
        if to in (State.REVIEW, State.DRAFT):
            advisory.approved_by, advisory.approved_at = None, None
        changelog = ""
        if to == State.PUBLISHED:
            advisory.published_at = now
            # The commitment is fixed at publication, over the reports the case has then,
            # and goes into the transparency log with it (never earlier: a draft's id is not
            # public).
            _commit_payload(advisory, actor=actor)
            _commitment_append(advisory)
            changelog = reason or "Initial publication."
        elif to == State.WITHDRAWN:
            advisory.document = {**advisory.document, "withdrawn_reason": reason}
            changelog = f"Withdrawn: {reason}"
        revision = _next_revision(advisory) if changelog else 0
        _refresh(advisory, revision=revision)
        if changelog:
            _revision_add(advisory, actor=actor, changelog=changelog)
        audit_record(
            actor=actor,
            action="advisory.transition",
            obj=advisory,
            reason=reason,
            data={"advisory": advisory.advisory_id, "from": current, "to": to},
        )
        if to == State.PUBLISHED:
            pk = advisory.pk
            transaction.on_commit(lambda: tasks.notify_advisory_published.delay(pk))
    return advisory


def imported_record_store(
    *, actor: User, record: SourceRecord, report: Report | None = None
) -> tuple[ImportedRecord, SourceRecord | None]:
    """Keep an imported record, or refresh the one kept under the same (source, source_id);
    audited. Returns the row and the record as it was before (None when it is new), so the
    caller can tell what the source changed. A report is attached only to a row without one:
    a record becomes one report, one case, however often it is imported."""
    digest = record.digest()
    with transaction.atomic():
        row = (
            ImportedRecord.objects.select_for_update()
            .filter(source=record.source, source_id=record.source_id)
            .first()
        )
        previous = None
        if row is None:
            row = ImportedRecord.objects.create(
                source=record.source,
                source_id=record.source_id,
                data=record.model_dump(mode="json"),
                digest=digest,
                report=report,
                imported_by=actor,
            )
        else:
            previous = SourceRecord.model_validate(row.data)
            row.data = record.model_dump(mode="json")
            row.digest = digest
            if row.report_id is None and report is not None:
                row.report = report
            row.save()
        audit_record(
            actor=actor,
            action="import.record",
            obj=row,
            data={
                "source": record.source,
                "source_id": record.source_id,
                "created": previous is None,
                "changed": previous is not None and previous.digest() != digest,
            },
        )
    return row, previous


def imported_record_attach(*, actor: User, row: ImportedRecord, advisory: Advisory) -> None:
    """Note that `advisory` was drafted from an imported record (what a re-import updates);
    only the advisory's coordinators may."""
    with transaction.atomic():
        _staff_advisory(actor=actor, advisory_id=advisory.advisory_id)
        ImportedRecord.objects.filter(pk=row.pk).update(advisory=advisory)
        row.advisory = advisory
        audit_record(
            actor=actor,
            action="import.attach",
            obj=row,
            data={"source_id": row.source_id, "advisory": advisory.advisory_id},
        )
