"""Report pages: submitting (in full, or abstract first), the reporter's list, one report with
its sealed payload and attachments, and the scope decision and payload of abstract-first
intake. Each view parses a form, calls the service, and renders or redirects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from modelcvd.cases.selectors import case_access
from modelcvd.core.errors import InvalidInput
from modelcvd.core.validation import parse_model
from modelcvd.policy.selectors import program_list
from modelcvd.reports.document import Reproduction
from modelcvd.reports.forms import (
    AbstractForm,
    AttachmentForm,
    PayloadForm,
    ReportForm,
    ScopeForm,
    UnsealForm,
)
from modelcvd.reports.holdout import report_withheld
from modelcvd.reports.schemas import AbstractDocument
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
from modelcvd.web.errors import domain_errors_as_pages
from modelcvd.web.helpers import errors_text, form_errors, request_user

# A report form's refusals are told on the report page.
on_report_page = domain_errors_as_pages(back="reports:detail", back_kwargs=("report_id",))


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    wanted = request.GET.get("program", "")
    if program_list().filter(slug=wanted, accepts_reports=True, abstract_first=True).exists():
        # That program takes the abstract first: its own form, never another program's.
        return redirect(f"{reverse('reports:abstract')}?{urlencode({'program': wanted})}")
    choices = [
        (p.slug, p.name) for p in program_list().filter(accepts_reports=True, abstract_first=False)
    ]
    form = ReportForm(request.POST or None, programs=choices, initial={"program": wanted})
    if request.method == "POST" and form.is_valid() and form.document is not None:
        try:
            report = report_submit(actor=request_user(request), document=form.document)
        except InvalidInput as exc:
            for error in exc.errors:
                target = ReportForm.FIELD_MAP.get(error.field, error.field)
                form.add_error(
                    target if target in form.fields else None, f"{error.field}: {error.reason}"
                )
        else:
            messages.success(
                request, f"Report #{report.pk} received. Case #{report.case_id} is open."
            )
            return redirect("reports:detail", report_id=report.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "reports/new.html", {"form": form}, status=status)


@login_required
def reports_mine(request: HttpRequest) -> HttpResponse:
    return render(
        request, "reports/mine.html", {"reports": report_list_mine(actor=request_user(request))}
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_as_pages
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    user = request_user(request)
    report = report_get_visible(actor=user, report_id=report_id)
    form = UnsealForm(request.POST or None)
    payload: dict[str, Any] | None = None
    own = report.reporter_id == user.pk
    if own and report.payload_id is not None and not report_withheld(actor=user, report=report):
        # The reporter reads what she wrote without being asked why; the read is still on
        # the audit chain, like every unseal.
        payload = report_payload_open(
            report=report, actor=user, reason="the reporter reads their own report"
        )
    elif request.method == "POST" and form.is_valid():
        try:
            payload = report_payload_open(
                report=report, actor=user, reason=form.cleaned_data["reason"]
            )
        except InvalidInput as exc:
            messages.error(request, errors_text(exc.errors))
    staff = case_access(actor=user, case=report.case).staff
    can_attach = report.reporter_id == user.pk or staff
    withheld = report_withheld(actor=user, report=report)
    context = {
        "withheld": withheld,
        "scope_form": ScopeForm() if staff and report.intake == "awaiting_scope" else None,
        "payload_form": PayloadForm()
        if report.reporter_id == user.pk and report.intake == "awaiting_payload"
        else None,
        "report": report,
        "unseal_form": form,
        "payload": payload,
        "attachment_form": AttachmentForm(),
        "attachments": [] if withheld else report.attachments.all(),
        "can_attach": can_attach,
    }
    return render(request, "reports/detail.html", context)


@login_required
@require_http_methods(["POST"])
@on_report_page
def report_attach(request: HttpRequest, report_id: int) -> HttpResponse:
    report = report_get_visible(actor=request_user(request), report_id=report_id)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        attachment_add(
            report=report,
            actor=request_user(request),
            filename=upload.name,
            content=upload.read(settings.MAX_ATTACHMENT_BYTES + 1),
        )
        messages.success(request, "File attached and sealed.")
    else:
        messages.error(request, "Choose a file to attach.")
    return redirect("reports:detail", report_id=report_id)


@login_required
@require_http_methods(["POST"])
@on_report_page
def report_attachment_download(
    request: HttpRequest, report_id: int, attachment_id: int
) -> HttpResponse:
    form = UnsealForm(request.POST)
    report = report_get_visible(actor=request_user(request), report_id=report_id)
    if not form.is_valid():
        messages.error(request, "Give a reason to download the file.")
        return redirect("reports:detail", report_id=report_id)
    opened = attachment_open(
        report=report,
        attachment_id=attachment_id,
        actor=request_user(request),
        reason=form.cleaned_data["reason"],
    )
    return attachment_response(opened.filename, opened.content)


@login_required
@require_http_methods(["GET", "POST"])
def report_abstract_new(request: HttpRequest) -> HttpResponse:
    wanted = request.GET.get("program", "")
    if program_list().filter(slug=wanted, accepts_reports=True, abstract_first=False).exists():
        return redirect(f"{reverse('reports:new')}?{urlencode({'program': wanted})}")
    choices = [
        (p.slug, p.name) for p in program_list().filter(accepts_reports=True, abstract_first=True)
    ]
    form = AbstractForm(
        request.POST or None,
        programs=choices,
        initial={"program": wanted},
    )
    if request.method == "POST" and form.is_valid():
        try:
            document = parse_model(AbstractDocument, form.document())
            report = report_submit_abstract(actor=request_user(request), document=document)
        except InvalidInput as exc:
            for error in exc.errors:
                name = error.field.split(".")[0]
                form.add_error(
                    name if name in form.fields else None, f"{error.field}: {error.reason}"
                )
        else:
            messages.success(
                request,
                f"Abstract received as report #{report.pk}. Send the payload once a triager "
                "confirms scope.",
            )
            return redirect("reports:detail", report_id=report.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "reports/abstract.html", {"form": form}, status=status)


def _report_action(
    request: HttpRequest, report_id: int, form_class: type[forms.Form], act: Callable[..., str]
) -> HttpResponse:
    """Check the report is visible, then act on a valid form; a message either way."""
    report = report_get_visible(actor=request_user(request), report_id=report_id)
    form = form_class(request.POST)
    if form.is_valid():
        messages.success(request, act(form))
    else:
        messages.error(request, errors_text(form_errors(form)))
    return redirect("reports:detail", report_id=report.pk)


@login_required
@require_http_methods(["POST"])
@on_report_page
def report_scope_view(request: HttpRequest, report_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        d = form.cleaned_data
        report_scope_decide(
            report_id=report_id,
            actor=request_user(request),
            in_scope=d["in_scope"],
            reason=d["reason"],
        )
        return "Scope decision recorded."

    return _report_action(request, report_id, ScopeForm, act)


@login_required
@require_http_methods(["POST"])
@on_report_page
def report_payload_view(request: HttpRequest, report_id: int) -> HttpResponse:
    def act(form: forms.Form) -> str:
        assert isinstance(form, PayloadForm)
        reproduction = parse_model(Reproduction, form.reproduction())
        report_payload_add(
            report_id=report_id, actor=request_user(request), reproduction=reproduction
        )
        return "Payload received and sealed."

    return _report_action(request, report_id, PayloadForm, act)
