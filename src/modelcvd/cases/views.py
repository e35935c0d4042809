"""Case pages: the triage queue, one case, and the forms on the case page (move, comment,
score, wait on the reporter, extensions, embargo; merging is reports.dedup_views). Each form view parses the form, calls
the service and goes back to the case; invalid input re-renders the page with 422 and each
field's reason, and a service's refusal comes back as a message (web.errors)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.access import is_administrator
from modelcvd.cases.forms import (
    CommentForm,
    EmbargoForm,
    ExtensionDecisionForm,
    ExtensionForm,
    InboxFilterForm,
    TransitionForm,
    VendorNotifyForm,
    VendorStatusForm,
    WaitingForm,
)
from modelcvd.cases.models import Case
from modelcvd.cases.page import case_artifact_choices, case_page_context
from modelcvd.cases.selectors import (
    InboxFilter,
    case_inbox,
    case_list_visible,
    triage_queue,
)
from modelcvd.cases.services import (
    FixedVersion,
    case_seen_mark,
    case_transition,
    case_vendor_notify,
    case_vendor_status_set,
    case_waiting_set,
    comment_add,
    embargo_apply,
    extension_decide,
    extension_request,
    open_deadlines,
)
from modelcvd.core.errors import InvalidInput
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import form_errors, request_user

# A case form's refusals are told on the case page.
on_case_page = domain_errors_as_pages(back="cases:detail", back_kwargs=("case_id",))


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "cases/queue.html", {"cases": triage_queue(actor=request_user(request))})


# States after which no deadline runs for the inbox: the case is out, or over.
FINISHED_STATES = ("disclosed", "closed", "withheld")


def _next_due(case: Case) -> tuple[str, Any] | None:
    """The earliest deadline still running (cases.services.open_deadlines), as (what, when)."""
    if case.state in FINISHED_STATES:
        return None
    running = open_deadlines(case)
    if not running:
        return None
    kind, due = min(running, key=lambda pair: pair[1])
    return str(kind.value), due


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Every case the reader may see, with filters, deadlines, embargo ends and unread marks."""
    user = request_user(request)
    visible = case_list_visible(actor=user)
    programs = sorted(
        {(c.program.slug, c.program.name) for c in visible.select_related("program")},
        key=lambda pair: pair[1],
    )
    form = InboxFilterForm(request.GET or None, programs=programs)
    filters = InboxFilter()
    if form.is_bound and form.is_valid():
        filters = InboxFilter(**form.cleaned_data)
    page = Paginator(case_inbox(actor=user, filters=filters), 50).get_page(request.GET.get("page"))
    rows = []
    for c in page:
        annotated: Any = c  # case_inbox's annotations: seen_at, last_activity, embargo_until
        seen, last = annotated.seen_at, annotated.last_activity
        unread = seen is None or (last is not None and last > seen)
        rows.append({"case": c, "unread": unread, "next_due": _next_due(c)})
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cases/inbox.html",
        {
            "form": form,
            "rows": rows,
            "page": page,
            "query": query.urlencode(),
            "now": timezone.now(),
        },
    )


@login_required
@domain_errors_as_pages
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    context = case_page_context(request, case_id)
    case_seen_mark(actor=request_user(request), case=context["case"])
    return render(request, "cases/detail.html", context)


@login_required
@require_http_methods(["POST"])
@on_case_page
def case_transition_view(request: HttpRequest, case_id: int) -> HttpResponse:
    context = case_page_context(request, case_id)
    user = request_user(request)
    form = TransitionForm(
        request.POST,
        targets=context["targets"],
        artifacts=case_artifact_choices(context["case"]),
        can_override=is_administrator(user),
    )
    if not form.is_valid():
        return render(
            request, "cases/detail.html", {**context, "transition_form": form}, status=422
        )
    fixed = form.fixed_version()
    case_transition(
        case_id=case_id,
        actor=request_user(request),
        to=form.cleaned_data["to"],
        reason=form.cleaned_data["reason"],
        fixed_version=FixedVersion(**fixed) if fixed is not None else None,
        override_reason=form.cleaned_data.get("override_reason") or "",
    )
    messages.success(request, f"Case moved to “{form.cleaned_data['to'].replace('_', ' ')}”.")
    return redirect("cases:detail", case_id=case_id)


@login_required
@require_http_methods(["POST"])
@on_case_page
def case_comment_view(request: HttpRequest, case_id: int) -> HttpResponse:
    context = case_page_context(request, case_id)
    form = CommentForm(
        request.POST,
        visibilities=context["visibilities"],
        channels=[(r.pk, f"report #{r.pk}") for r in context["reports"]],
    )
    if not form.is_valid():
        return render(request, "cases/detail.html", {**context, "comment_form": form}, status=422)
    comment_add(
        case_id=case_id,
        actor=request_user(request),
        body=form.cleaned_data["body"],
        visibility=form.cleaned_data["visibility"],
        report_id=form.cleaned_data.get("report"),
    )
    return redirect("cases:detail", case_id=case_id)


def case_action(
    request: HttpRequest,
    case_id: int,
    form_class: type[forms.Form],
    act: Callable[[forms.Form], str],
) -> HttpResponse:
    """Act on a valid form and go back to the case; re-render the case page with 422 and each
    field's reason when the form or the service finds the input invalid."""
    form = form_class(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(form_errors(form))
        messages.success(request, act(form))
        return redirect("cases:detail", case_id=case_id)
    except InvalidInput as exc:
        errors = [f"{e.field}: {e.reason}" for e in exc.errors]
    context = case_page_context(request, case_id)
    return render(request, "cases/detail.html", {**context, "action_errors": errors}, status=422)


@login_required
@require_http_methods(["POST"])
@on_case_page
def case_waiting_view(request: HttpRequest, case_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        case_waiting_set(
            case_id=case_id, actor=request_user(request), waiting=d["waiting"], reason=d["reason"]
        )
        return "Waiting on the reporter." if d["waiting"] else "Deadline clocks running again."

    return case_action(request, case_id, WaitingForm, act)


@login_required
@require_http_methods(["POST"])
@on_case_page
def case_extension_view(request: HttpRequest, case_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        extension_request(
            case_id=case_id,
            actor=request_user(request),
            deadline=d["deadline"],
            days=d["days"],
            reason=d["reason"],
        )
        return "Extension requested."

    return case_action(request, case_id, ExtensionForm, act)


@login_required
@require_http_methods(["POST"])
@on_case_page
def case_extension_decision_view(
    request: HttpRequest, case_id: int, extension_id: int
) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        ext = extension_decide(
            case_id=case_id,
            extension_id=extension_id,
            actor=request_user(request),
            approve=d["approve"],
            reason=d["reason"],
        )
        return f"Extension {ext.state}."

    return case_action(request, case_id, ExtensionDecisionForm, act)


EMBARGO_DONE = {
    "propose": "Embargo proposed; the vendors are asked to agree.",
    "agree": "Your organisation agreed to the embargo date.",
    "revise": "Embargo date revised.",
    "exit": "Embargo lifted.",
}


@login_required
@require_http_methods(["POST"])
@on_case_page
def case_embargo_view(request: HttpRequest, case_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        date = d.get("public_date")
        if date is not None and timezone.is_naive(date):
            date = timezone.make_aware(date, UTC)
        embargo_apply(
            case_id=case_id,
            actor=request_user(request),
            action=d["action"],
            public_date=date,
            reason=d.get("reason") or "",
        )
        return EMBARGO_DONE.get(d["action"], "Embargo updated.")

    return case_action(request, case_id, EmbargoForm, act)


@login_required
@require_http_methods(["POST"])
@on_case_page
def case_vendor_notify_view(request: HttpRequest, case_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        case_vendor_notify(
            case_id=case_id,
            actor=request_user(request),
            organisation=d["organisation"],
            reason=d["reason"],
        )
        return f"Vendor {d['organisation']} notified."

    return case_action(request, case_id, VendorNotifyForm, act)


@login_required
@require_http_methods(["POST"])
@on_case_page
def case_vendor_status_view(request: HttpRequest, case_id: int, organisation: str) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        party = case_vendor_status_set(
            case_id=case_id,
            organisation=organisation,
            status=d["status"],
            actor=request_user(request),
            reason=d["reason"],
        )
        return f"Status of {party.organisation.name}: {party.get_status_display()}."

    return case_action(request, case_id, VendorStatusForm, act)
