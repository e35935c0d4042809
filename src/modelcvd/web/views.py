"""Server-rendered pages. Each view parses, calls a selector or service, renders: no logic here."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from modelcvd.accounts.models import User
from modelcvd.advisories.selectors import case_advisories
from modelcvd.cases.models import Comment
from modelcvd.cases.selectors import (
    case_access,
    case_get_visible,
    comments_visible,
    triage_queue,
)
from modelcvd.cases.services import case_transition, comment_add
from modelcvd.cases.workflow import CaseState, targets_for
from modelcvd.core.errors import DomainError, IllegalTransition, InvalidInput, NotFound
from modelcvd.policy.holdout import report_withheld, timeline_visible, withheld_report_ids
from modelcvd.policy.selectors import program_get, program_list
from modelcvd.reports.dedup_views import duplicate_rows
from modelcvd.reports.selectors import report_get_visible, report_list_mine
from modelcvd.reports.services import report_payload_open, report_submit
from modelcvd.reports.services.attachments import (
    attachment_add,
    attachment_open,
    attachment_response,
)
from modelcvd.verification.selectors import run_progress, runs_for_case, version_matrix
from modelcvd.verification.views import reverify_context
from modelcvd.web.forms import AttachmentForm, CommentForm, ReportForm, TransitionForm, UnsealForm
from modelcvd.web.policy_forms import PayloadForm, ScopeForm
from modelcvd.web.policy_views import case_policy_context


def web_user(request: HttpRequest) -> User:
    """The signed-in user of a @login_required view."""
    assert isinstance(request.user, User)
    return request.user


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {"programs": program_list()})


def program_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        program = program_get(slug=slug)
    except NotFound:
        raise Http404 from None
    return render(request, "web/program.html", {"program": program})


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    choices = [
        (p.slug, p.name) for p in program_list().filter(accepts_reports=True, abstract_first=False)
    ]
    form = ReportForm(
        request.POST or None, programs=choices, initial={"program": request.GET.get("program", "")}
    )
    if request.method == "POST" and form.is_valid() and form.document is not None:
        try:
            report = report_submit(actor=web_user(request), document=form.document)
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
            return redirect("web:report", report_id=report.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "web/report_new.html", {"form": form}, status=status)


@login_required
def reports_mine(request: HttpRequest) -> HttpResponse:
    return render(
        request, "web/reports_mine.html", {"reports": report_list_mine(actor=web_user(request))}
    )


@login_required
@require_http_methods(["GET", "POST"])
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    try:
        report = report_get_visible(actor=web_user(request), report_id=report_id)
    except NotFound:
        raise Http404 from None
    form = UnsealForm(request.POST or None)
    payload: dict[str, Any] | None = None
    if request.method == "POST" and form.is_valid():
        try:
            payload = report_payload_open(
                report=report, actor=web_user(request), reason=form.cleaned_data["reason"]
            )
        except NotFound:
            raise Http404 from None
        except InvalidInput as exc:
            messages.error(request, "; ".join(f"{e.field}: {e.reason}" for e in exc.errors))
    staff = case_access(actor=web_user(request), case=report.case).staff
    can_attach = report.reporter_id == request.user.pk or staff
    withheld = report_withheld(actor=web_user(request), report=report)
    context = {
        "withheld": withheld,
        "scope_form": ScopeForm() if staff and report.intake == "awaiting_scope" else None,
        "payload_form": PayloadForm()
        if report.reporter_id == request.user.pk and report.intake == "awaiting_payload"
        else None,
        "report": report,
        "unseal_form": form,
        "payload": payload,
        "attachment_form": AttachmentForm(),
        "attachments": [] if withheld else report.attachments.all(),
        "can_attach": can_attach,
    }
    return render(request, "web/report.html", context)


@login_required
@require_http_methods(["POST"])
def report_attach(request: HttpRequest, report_id: int) -> HttpResponse:
    try:
        report = report_get_visible(actor=web_user(request), report_id=report_id)
        form = AttachmentForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            attachment_add(
                report=report,
                actor=web_user(request),
                filename=upload.name,
                content=upload.read(settings.MAX_ATTACHMENT_BYTES + 1),
            )
            messages.success(request, "File attached and sealed.")
        else:
            messages.error(request, "Choose a file to attach.")
    except NotFound:
        raise Http404 from None
    except InvalidInput as exc:
        messages.error(request, "; ".join(f"{e.field}: {e.reason}" for e in exc.errors))
    return redirect("web:report", report_id=report_id)


@login_required
@require_http_methods(["POST"])
def report_attachment_download(
    request: HttpRequest, report_id: int, attachment_id: int
) -> HttpResponse:
    form = UnsealForm(request.POST)
    try:
        report = report_get_visible(actor=web_user(request), report_id=report_id)
        if not form.is_valid():
            messages.error(request, "Give a reason to download the file.")
            return redirect("web:report", report_id=report_id)
        opened = attachment_open(
            report=report,
            attachment_id=attachment_id,
            actor=web_user(request),
            reason=form.cleaned_data["reason"],
        )
    except NotFound:
        raise Http404 from None
    return attachment_response(opened.filename, opened.content)


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "web/queue.html", {"cases": triage_queue(actor=web_user(request))})


def _case_context(request: HttpRequest, case_id: int, **forms: Any) -> dict[str, Any]:
    case = case_get_visible(actor=web_user(request), case_id=case_id)
    access = case_access(actor=web_user(request), case=case)
    targets = targets_for(CaseState(case.state), staff=access.staff, vendor=access.vendor)
    if access.staff:
        visibilities = [v.value for v in Comment.Visibility]
    else:
        visibilities = [
            Comment.Visibility.REPORTER.value
            if access.reporter
            else Comment.Visibility.VENDOR.value
        ]
    reports = (
        case.reports.all()
        if access.staff or access.vendor
        else case.reports.filter(reporter_id=request.user.pk)
    )
    withheld = withheld_report_ids(actor=web_user(request), case=case)
    return {
        "case": case,
        "access": access,
        "reports": reports,
        "timeline": timeline_visible(actor=web_user(request), case=case),
        "comments": comments_visible(case=case, actor=web_user(request), access=access),
        "transition_form": forms.get("transition_form")
        or (TransitionForm(targets=targets) if targets else None),
        "comment_form": forms.get("comment_form") or CommentForm(visibilities=visibilities),
        "runs": [
            (run, run_progress(run))
            for run in runs_for_case(case=case).exclude(report_id__in=withheld)
        ],
        "versions": version_matrix(case=case, actor=web_user(request)),
        "reverify": reverify_context(case=case, access=access),
        "targets": targets,
        "visibilities": visibilities,
        **case_policy_context(request, case, access),
        "duplicates": duplicate_rows(actor=web_user(request), case=case) if access.staff else [],
        "advisories": case_advisories(case=case, access=access),
    }


@login_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        return render(request, "web/case.html", _case_context(request, case_id))
    except NotFound:
        raise Http404 from None


@login_required
@require_http_methods(["POST"])
def case_transition_view(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        context = _case_context(request, case_id)
        form = TransitionForm(request.POST, targets=context["targets"])
        if form.is_valid():
            case_transition(
                case_id=case_id,
                actor=web_user(request),
                to=form.cleaned_data["to"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, f"Case moved to {form.cleaned_data['to'].replace('_', ' ')}.")
            return redirect("web:case", case_id=case_id)
        return render(request, "web/case.html", {**context, "transition_form": form}, status=422)
    except NotFound:
        raise Http404 from None
    except IllegalTransition as exc:
        messages.error(request, f"{exc.message}; allowed: {', '.join(exc.allowed) or 'none'}")
        return redirect("web:case", case_id=case_id)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:case", case_id=case_id)


@login_required
@require_http_methods(["POST"])
def case_comment_view(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        context = _case_context(request, case_id)
        form = CommentForm(request.POST, visibilities=context["visibilities"])
        if form.is_valid():
            comment_add(
                case_id=case_id,
                actor=web_user(request),
                body=form.cleaned_data["body"],
                visibility=form.cleaned_data["visibility"],
            )
            return redirect("web:case", case_id=case_id)
        return render(request, "web/case.html", {**context, "comment_form": form}, status=422)
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:case", case_id=case_id)
