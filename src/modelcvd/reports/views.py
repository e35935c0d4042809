"""Report pages: submitting (in full, or abstract first), the reporter's list, one report with
its sealed payload and attachments, and the scope decision and payload of abstract-first
intake. Each view parses a form, calls the service, and renders or redirects."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from modelcvd.cases.selectors import case_access
from modelcvd.core.errors import InvalidInput
from modelcvd.core.validation import parse_model
from modelcvd.policy.models import Program
from modelcvd.policy.selectors import program_list
from modelcvd.reports.document import Reproduction, report_json_schema
from modelcvd.reports.forms import (
    OTHER_MODEL_NEXT,
    AbstractForm,
    AttachmentForm,
    PayloadForm,
    ReportFileForm,
    ReportForm,
    ScopeForm,
    UnsealForm,
)
from modelcvd.reports.holdout import report_withheld
from modelcvd.reports.models import Report
from modelcvd.reports.report_file import (
    MAX_REPORT_FILE_BYTES,
    report_file_problems,
    report_file_read,
    report_form_initial,
)
from modelcvd.reports.schemas import AbstractDocument
from modelcvd.reports.selectors import (
    artifacts_outside_scope,
    report_get_visible,
    report_list_mine,
)
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


@dataclass
class ReportFormRound:
    """The report form for one request. `submitted` is true only for a submission; a round
    trip (a turn added or removed, a report file loaded) comes back unbound, with what was
    typed as initial values and `notes` on what the file held."""

    program: Program
    form: ReportForm
    file_form: ReportFileForm
    submitted: bool = False
    notes: list[str] = field(default_factory=list)

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "form": self.form,
            "file_form": self.file_form,
            "notes": self.notes,
            "program": self.program,
            "other_model_next": OTHER_MODEL_NEXT,
            **extra,
        }


_TURN_INPUT = re.compile(r"^turn_([0-9]{1,4})_content$")


def _turns_posted(post: QueryDict) -> int:
    """How many turns the posted form had: its count, or the last turn sent if beyond it.
    At most four digits are read: the form caps the count at the format's 200 anyway."""
    counted = post.get("turns", "")
    highest = max(
        (int(m.group(1)) for k in post if (m := _TURN_INPUT.match(k))),
        default=1,
    )
    return max(int(counted) if re.fullmatch(r"[0-9]{1,4}", counted) else 1, highest)


def report_form_round(
    request: HttpRequest, program: Program, *, others: QuerySet[Program] | None = None
) -> ReportFormRound:
    """Read the report form's request: a submission, or a round trip that needs no script.
    `others` are the programs a loaded file may switch to (the signed-in form's choice)."""
    if request.method != "POST":
        return ReportFormRound(program, ReportForm(program=program), ReportFileForm())
    post = request.POST
    action = post.get("form_action", "submit")
    turns = _turns_posted(post)
    if action in ("add_turn", "remove_turn"):
        turns += 1 if action == "add_turn" else -1
        initial = {k: post.getlist(k) if k == "artifacts" else post.get(k) for k in post}
        form = ReportForm(program=program, turns=turns, initial=initial)
        return ReportFormRound(program, form, ReportFileForm())
    if action == "load_file":
        return _load_report_file(request, program, others)
    form = ReportForm(post, request.FILES, program=program, turns=turns)
    return ReportFormRound(program, form, ReportFileForm(), submitted=True)


def _load_report_file(
    request: HttpRequest, program: Program, others: QuerySet[Program] | None
) -> ReportFormRound:
    file_form = ReportFileForm(request.POST, request.FILES)
    if not file_form.is_valid():
        return ReportFormRound(program, ReportForm(program=program), file_form)
    upload = file_form.cleaned_data["report_file"]
    try:
        data = report_file_read(upload.name, upload.read(MAX_REPORT_FILE_BYTES + 1))
    except InvalidInput as exc:
        file_form.add_error("report_file", errors_text(exc.errors))
        return ReportFormRound(program, ReportForm(program=program), file_form)
    notes: list[str] = []
    named = str(data.get("program", ""))
    if named and named != program.slug:
        switched = others.filter(slug=named).first() if others is not None else None
        if switched is not None:
            program = switched
            notes.append(f"The file reports to {program.name}: the form is now for it.")
        else:
            notes.append(
                f"The file names the program '{named}', which this form cannot report to; "
                f"the report goes to {program.name}."
            )
    probe = ReportForm(program=program)
    initial, turns, carried = report_form_initial(data, probe.scope)
    notes.extend(carried)
    data = {**data, "program": program.slug}
    problems = report_file_problems(data)
    if problems:
        notes.append("The file is loaded; the report format finds these to fix below:")
        notes.extend(f"{p.field}: {p.reason}" for p in problems)
    else:
        notes.append("The file is loaded and valid. Check it, add files if any, and submit.")
    form = ReportForm(program=program, turns=turns, initial=initial)
    return ReportFormRound(program, form, ReportFileForm(), notes=notes)


def _full_report_programs() -> QuerySet[Program]:
    return program_list().filter(accepts_reports=True, abstract_first=False)


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("program") or request.GET.get("program", "")
    if program_list().filter(slug=wanted, accepts_reports=True, abstract_first=True).exists():
        # That program takes the abstract first: its own form, never another program's.
        return redirect(f"{reverse('reports:abstract')}?{urlencode({'program': wanted})}")
    programs = _full_report_programs()
    program = programs.filter(slug=wanted).first()
    taking = program_list().filter(accepts_reports=True).order_by("name")
    if program is None and len(taking) == 1:
        program = programs.first()
    if program is None:
        # The program comes first: its scope decides which models the form lists.
        return render(request, "reports/pick_program.html", {"programs": taking})
    round_ = report_form_round(request, program, others=programs)
    form = round_.form
    if round_.submitted and form.is_valid() and form.document is not None:
        try:
            report = report_submit(
                actor=request_user(request),
                document=form.document,
                attachments=form.files_chosen,
            )
        except InvalidInput as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _received(report, form))
            return redirect("reports:detail", report_id=report.pk)
    status = 422 if round_.submitted else 200
    context = round_.context(other_programs=len(taking) > 1)
    return render(request, "reports/new.html", context, status=status)


def _received(report: Report, form: ReportForm) -> str:
    text = f"Report #{report.pk} received. Case #{report.case_id} is open."
    if form.files_chosen:
        text += f" {len(form.files_chosen)} file(s) attached and sealed."
    if artifacts_outside_scope(report.program, list(report.artifacts.all())):
        text += " " + OTHER_MODEL_NEXT
    return text


@require_http_methods(["GET", "HEAD"])
def report_schema(request: HttpRequest) -> JsonResponse:
    """The open report format's JSON Schema, at the path of its $id, for the form's file and
    any tool that writes reports."""
    return JsonResponse(report_json_schema(), json_dumps_params={"indent": 2})


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
