"""Registry pages: the list with search and filters, one advisory at the reader's level, the
Atom feed and the JSON Lines mirror. Feed and mirror are public level by construction."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.feedgenerator import Atom1Feed
from django.utils.xmlutils import SimplerXMLGenerator
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.access import is_administrator
from modelcvd.accounts.models import User
from modelcvd.advisories.caching import advisory_cached, registry_wide_cached
from modelcvd.advisories.dump import all_zip, dump_record, dump_records, modified_id_csv
from modelcvd.advisories.forms import AdvisoryEditForm, AdvisoryForm
from modelcvd.advisories.mail import advisory_text
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.render import (
    advisory_render,
    advisory_url,
    render_public,
    version_rows,
)
from modelcvd.advisories.schemas import SEVERITIES
from modelcvd.advisories.selectors import (
    PUBLIC_STATES,
    advisory_attested_runs,
    advisory_get_visible,
    registry_page,
    registry_query_parse,
)
from modelcvd.advisories.services import TRANSITIONS
from modelcvd.cases.selectors import case_access
from modelcvd.core.errors import FieldError, InvalidInput, NotFound
from modelcvd.interop.jsonio import line_bytes
from modelcvd.interop.osv import ID_PREFIX
from modelcvd.policy.disclosure import Channel
from modelcvd.taxonomy import HARM_CATEGORIES
from modelcvd.transparency.models import LogEntry
from modelcvd.transparency.selectors import entry_for_ref, tree_head_latest
from modelcvd.verification.services import attestation_export
from modelcvd.verification.views import attestation_response
from modelcvd.vocabulary import LogEntryKind
from modelcvd.web.errors import domain_errors_as_pages

FILTERS = (
    "q",
    "artifact",
    "vendor",
    "technique",
    "harm_category",
    "severity",
    "published_from",
    "published_to",
    "sort",
)


@registry_wide_cached("page:list", query=True)
def registry(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        "params": {name: request.GET.get(name, "") for name in FILTERS},
        "harm_categories": sorted(HARM_CATEGORIES.items()),
        "severities": SEVERITIES,
        "errors": [],
        "results": [],
        "count": 0,
    }
    try:
        query = registry_query_parse(request.GET, actor=request.user)
    except InvalidInput as error:
        context["errors"] = error.errors
        return render(request, "advisories/list.html", context, status=422)
    found = registry_page(query)
    kept = {k: v for k, v in context["params"].items() if v}
    pages = max(1, -(-found.count // query.page_size))
    more = query.page < pages or (
        not found.count_exact and len(found.advisories) == query.page_size
    )
    context.update(
        results=[render_public(a) for a in found.advisories],
        count=found.count,
        count_exact=found.count_exact,
        page=query.page,
        pages=pages,
        previous=urlencode({**kept, "page": query.page - 1}) if query.page > 1 else "",
        next=urlencode({**kept, "page": query.page + 1}) if more else "",
    )
    return render(request, "advisories/list.html", context)


def authoring_context(
    request: HttpRequest, advisory: Advisory, edit_form: AdvisoryEditForm | None = None
) -> dict[str, Any]:
    """What the advisory page adds for the case's coordinators: the edit form and the moves
    the advisory's state allows. Empty for everyone else."""
    if not case_access(actor=request.user, case=advisory.case).staff:
        return {}
    editable = advisory.state != Advisory.State.WITHDRAWN
    in_review = advisory.state == Advisory.State.REVIEW
    return {
        "can_author": True,
        # The way back to the case (its embargo, vendors, runs): only its coordinators see it.
        "case_id": advisory.case_id,
        "edit_form": (
            edit_form or AdvisoryEditForm(initial=AdvisoryForm.initial_from(advisory.content))
        )
        if editable
        else None,
        "moves": TRANSITIONS[advisory.state],
        # Four eyes (advisories.services.advisory_approve): who asked, who approved, and
        # whether this reader may approve (anyone staff but the requester).
        "approval": {
            "required": advisory.case.program.publication_approval,
            "requested_by": advisory.review_requested_by,
            "approved_by": advisory.approved_by,
            "approved_at": advisory.approved_at,
            "can_approve": in_review
            and advisory.approved_by_id is None
            and advisory.review_requested_by_id != request.user.pk,
        }
        if in_review
        else None,
        "can_override": Advisory.State.PUBLISHED in TRANSITIONS[advisory.state]
        and is_administrator(request.user),
    }


@advisory_cached("page:detail")
@domain_errors_as_pages
def advisory_page(
    request: HttpRequest,
    advisory_id: str,
    *,
    edit_form: AdvisoryEditForm | None = None,
    errors: Sequence[FieldError] = (),
    reason: str = "",
) -> HttpResponse:
    """One advisory at the reader's level; for the case's coordinators also the edit form and
    the state moves (authoring_context), re-shown with `errors` after a bad edit. The sealed
    reproduction is opened only when the reader gives a `reason` (advisory_read_reproduction)."""
    advisory = advisory_get_visible(actor=request.user, advisory_id=advisory_id)
    view = advisory_render(
        advisory=advisory, actor=request.user, channel=Channel.PAGE, reason=reason
    )
    revisions = advisory.revisions.order_by("number") if advisory.is_public else []
    logged = _logged(view) if advisory.is_public else None
    return render(
        request,
        "advisories/detail.html",
        {
            "a": view,
            "versions": version_rows(view),
            "revisions": revisions,
            # A CVE record only for a CVE id this instance's CNA assigned (render.export_view).
            "formats": ("cve5", "osv", "csaf", "avid")
            if view.get("cve_id")
            else ("osv", "csaf", "avid"),
            "errors": errors,
            # Defender level and above: the signed attestations of the case's runs.
            "attestations": advisory_attested_runs(actor=request.user, advisory=advisory),
            "logged": logged,
            "log_proof_url": _log_proof_url(logged) if logged else "",
            **authoring_context(request, advisory, edit_form),
        },
        status=422 if errors else 200,
    )


@require_http_methods(["POST"])
@domain_errors_as_pages(back="advisories:detail", back_kwargs=("advisory_id",))
def advisory_read_reproduction(request: HttpRequest, advisory_id: str) -> HttpResponse:
    """The advisory page with its sealed reproduction opened, for the reason the reader gave
    (on the audit chain with every unseal). Nobody reads a payload here without one."""
    reason = (request.POST.get("reason") or "").strip()
    if not reason or len(reason) > 500:
        raise InvalidInput(
            [FieldError("reason", "say why you read the reproduction (1-500 characters)")]
        )
    return advisory_page(request, advisory_id, reason=reason)


@domain_errors_as_pages
def advisory_attestation(request: HttpRequest, advisory_id: str, run_id: int) -> HttpResponse:
    """A run's signed attestation as published with the advisory: defender level and above;
    below it, or for a run that is not the advisory's, answered like a missing page."""
    advisory = advisory_get_visible(actor=request.user, advisory_id=advisory_id)
    run = advisory_attested_runs(actor=request.user, advisory=advisory).filter(pk=run_id).first()
    if run is None:
        raise NotFound()  # the same answer as any missing page
    actor = request.user if isinstance(request.user, User) else None
    return attestation_response(attestation_export(actor=actor, run=run), run.pk)


# The namespace of the signed tree head in the Atom feed (docs/transparency.md).
LOG_NAMESPACE = "urn:modelcvd:transparency-log:1"


class AtomWithTreeHead(Atom1Feed):
    """Atom, plus the transparency log's latest signed tree head as JSON in a
    `<log:treeHead>` element, so every feed reader that keeps the feed is a witness."""

    def root_attributes(self) -> dict[str, str]:
        return {**super().root_attributes(), "xmlns:log": LOG_NAMESPACE}

    def add_root_elements(self, handler: SimplerXMLGenerator) -> None:
        super().add_root_elements(handler)
        head = self.feed.get("tree_head")
        if head:
            handler.addQuickElement(
                "log:treeHead", json.dumps(head, sort_keys=True), {"type": "application/json"}
            )


def _tree_head() -> dict[str, Any] | None:
    head = tree_head_latest()
    return head.as_dict() if head else None


def _logged(view: dict[str, Any]) -> LogEntry | None:
    """The transparency-log entry of the revision shown."""
    return entry_for_ref(LogEntryKind.ADVISORY_REVISION, f"{view['id']}@{view['revision']}")


def _log_proof_url(entry: LogEntry) -> str:
    query = urlencode({"kind": entry.kind, "ref": entry.ref})
    return f"/api/v1/log/entry?{query}"


class AdvisoryFeed(Feed):
    """Atom feed of the newest published advisories, public level, with the latest signed
    tree head of the transparency log."""

    feed_type = AtomWithTreeHead

    def feed_extra_kwargs(self, obj: Any) -> dict[str, Any]:
        return {"tree_head": _tree_head()}

    title = "modelcvd advisories"
    link = "/advisories/"
    subtitle = "Published advisories about AI model vulnerabilities (public level)."

    def items(self) -> list[dict[str, Any]]:
        rows = Advisory.objects.filter(state__in=PUBLIC_STATES).order_by("-published_at", "-id")
        return [render_public(a) for a in rows[:50]]

    def item_title(self, item: dict[str, Any]) -> str:
        prefix = "[withdrawn] " if item["state"] == Advisory.State.WITHDRAWN else ""
        return f"{prefix}{item['id']}: {item['title']}"

    def item_description(self, item: dict[str, Any]) -> str:
        return advisory_text(item)

    def item_link(self, item: dict[str, Any]) -> str:
        return advisory_url(item["id"])

    def item_guid(self, item: dict[str, Any]) -> str:
        return advisory_url(item["id"])

    def item_pubdate(self, item: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(item["published"])

    def item_updateddate(self, item: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(item["modified"])

    def item_categories(self, item: dict[str, Any]) -> list[str]:
        return [item["technique"]["atlas"], item["harm_category"]["id"]]


advisory_feed = registry_wide_cached("feed")(AdvisoryFeed())


def _jsonl() -> Iterator[bytes]:
    rows = (
        Advisory.objects.filter(state__in=PUBLIC_STATES)
        .order_by("published_at", "id")
        .only("advisory_id", "document", "reproduction_level")
    )
    for advisory in rows.iterator(chunk_size=1000):
        yield line_bytes(render_public(advisory))
    # Last, after every document: the log's latest signed tree head, so a saved mirror keeps
    # the head its documents can be checked against (docs/transparency.md).
    head = _tree_head()
    if head:
        yield line_bytes({"tree_head": head})


@registry_wide_cached("jsonl")
def registry_export(request: HttpRequest) -> StreamingHttpResponse:
    """Every public advisory, one JSON document a line, oldest first: for mirroring. The last
    line is `{"tree_head": ...}`, the transparency log's latest signed head, once there is one."""
    response = StreamingHttpResponse(_jsonl(), content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="modelcvd-advisories.jsonl"'
    return response


# -- the OSV-style dump (dump.py) -------------------------------------------------------------


@registry_wide_cached("osv:all.zip")
def osv_all_zip(request: HttpRequest) -> HttpResponse:
    """Every public advisory as an OSV document, one `<ID>.json` each (OSV's all.zip)."""
    response = HttpResponse(all_zip(list(dump_records())), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="all.zip"'
    return response


@registry_wide_cached("osv:modified_id.csv")
def osv_modified_ids(request: HttpRequest) -> HttpResponse:
    """`<modified>,<ID>` per public advisory, newest first (OSV's modified_id.csv)."""
    return HttpResponse(
        modified_id_csv(list(dump_records())), content_type="text/csv; charset=utf-8"
    )


@advisory_cached("osv:record", id_prefix=ID_PREFIX)
@domain_errors_as_pages
def osv_record(request: HttpRequest, advisory_id: str) -> HttpResponse:
    """One record of the dump, the same bytes as its member of all.zip."""
    record = dump_record(osv_id=advisory_id)
    return HttpResponse(record.content, content_type="application/json")
